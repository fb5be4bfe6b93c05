/**
 * One writer per state file. Two nodes started on the same file at once (a `seed` and a
 * `download` on the default state file) would take the same node id — each then ignores the
 * other in lookups — and overwrite each other's table. The first node takes `<file>.lock`
 * (created exclusively, holding its process id); a node that finds the lock held by a live
 * process reads the file only for its nodes, under an id of its own, and never writes it. A
 * lock left by a process that died (crash, SIGKILL) is taken over.
 */
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { makeDirectory } from '../util/make-directory.js';

/** The lock of one state file, held by this process until released. */
export interface StateLock {
  release(): Promise<void>;
}

/** What taking the lock gave: the lock, or the process id holding it. */
export type StateLockResult = { held: true; lock: StateLock } | { held: false; holder: number };

/** Take the lock of `statePath` (creating its directory); throws on file-system errors. */
export async function lockStateFile(statePath: string): Promise<StateLockResult> {
  await makeDirectory(dirname(statePath));
  const lockPath = `${statePath}.lock`;
  // Two tries: the second after removing a lock whose process is gone.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await fsp.open(lockPath, 'wx', 0o644);
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      return { held: true, lock: { release: () => fsp.rm(lockPath, { force: true }) } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await lockHolder(lockPath);
    if (holder !== null && processAlive(holder)) return { held: false, holder };
    await fsp.rm(lockPath, { force: true });
  }
  const holder = await lockHolder(lockPath);
  return { held: false, holder: holder ?? 0 };
}

/** The process id in a lock file; null if it cannot be read (gone, empty, garbage). */
async function lockHolder(lockPath: string): Promise<number | null> {
  const text = await fsp.readFile(lockPath, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.slice(0, 16), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Whether a process with this id exists (EPERM: it does, owned by someone else). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
