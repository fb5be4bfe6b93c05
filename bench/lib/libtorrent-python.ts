/**
 * libtorrent through Debian's python3-libtorrent: the interpreter the helper processes run
 * under (benchmark peers and interop-test helpers alike), and whether the bindings import.
 */
import { spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

/** Null when libtorrent's python bindings import, else why not. */
export function libtorrentProblem(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import libtorrent; print(libtorrent.__version__)'], {
    encoding: 'utf8',
    timeout: 15_000
  });
  if (r.error) return `cannot run ${PYTHON}: ${r.error.message}`;
  if (r.status !== 0)
    return `${PYTHON} cannot import libtorrent (${r.stderr.trim().split('\n').pop() ?? ''})`;
  return null;
}
