/**
 * No test writes to the real home: the whole jest run (its workers and every process they
 * spawn) gets a temporary XDG_STATE_HOME, where a Client or a CLI keeps its DHT table by
 * default. global-teardown.mjs removes it; per-file.mjs gives each test file a directory of
 * its own inside it, so one file's saved table never seeds another's nodes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default async function stateHomeSetup() {
  const root = mkdtempSync(join(tmpdir(), 'trackerless-test-state-'));
  process.env.TRACKERLESS_TEST_STATE_ROOT = root;
  process.env.XDG_STATE_HOME = root;
}
