/**
 * `mkdir -p` that always settles. On Node 20.20 `fs.promises.mkdir(path, { recursive: true })`
 * never settles for a missing directory under /proc (e.g. /proc/nope: mkdir answers ENOENT
 * although the parent exists, and the recursive walk retries it for ever, ~85% CPU), so a
 * download into such a directory hung there and its stop waited for ever. This walks up to
 * the nearest existing ancestor with stat, then creates each missing level once.
 */
import { promises as fsp } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Deepest path we create levels for (PATH_MAX / 2 bytes of one-letter names). */
const MAX_LEVELS = 2048;

function codeOf(err: unknown): unknown {
  return (err as { code?: unknown } | undefined)?.code;
}

/** Create `path` and its missing parents; a no-op if it is a directory already. */
export async function makeDirectory(path: string): Promise<void> {
  const missing: string[] = [];
  let current = resolve(path);
  for (let level = 0; level < MAX_LEVELS; level++) {
    const stat = await fsp.stat(current).catch((err: unknown) => {
      if (codeOf(err) === 'ENOENT') return undefined;
      throw err;
    });
    if (stat) {
      if (!stat.isDirectory()) {
        throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${current}'`), {
          code: 'ENOTDIR',
          path: current
        });
      }
      break;
    }
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const dir of missing.reverse()) {
    await fsp.mkdir(dir).catch((err: unknown) => {
      // Created meanwhile by someone else: fine if it is a directory.
      if (codeOf(err) !== 'EEXIST') throw err;
    });
  }
}
