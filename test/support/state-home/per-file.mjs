/**
 * Each test file's own XDG_STATE_HOME, inside the run's temporary one (global-setup.mjs; a
 * file run outside it still gets a temporary directory, never the real home's).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.XDG_STATE_HOME = mkdtempSync(join(process.env.TRACKERLESS_TEST_STATE_ROOT || tmpdir(), 'file-'));
