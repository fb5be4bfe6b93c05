/** Removes the jest run's temporary XDG_STATE_HOME (global-setup.mjs), and nothing else. */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export default async function stateHomeTeardown() {
  const root = process.env.TRACKERLESS_TEST_STATE_ROOT;
  if (root && resolve(root).startsWith(join(tmpdir(), 'trackerless-test-state-')))
    rmSync(root, { recursive: true, force: true });
}
