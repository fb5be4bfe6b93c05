/**
 * One writer per state file. Two nodes started on the same file at once (a `seed` and a
 * `download` on the default state file) would take the same node id — each then ignores the
 * other in lookups — and overwrite each other's table. The first node takes `<file>.lock`
 * (created exclusively); a node that finds the lock held by a live process reads the file only
 * for its nodes, under an id of its own, and never writes it. A lock left by a process that
 * died (crash, SIGKILL) is taken over.
 *
 * "Live" means the same process, not only the same process id: ids are reused, and after a
 * crash and a reboot (or a busy day) the id in a stale lock often belongs to some other
 * process, which left the state file read-only for good. The lock records the holder's id and
 * its start time (Linux: /proc/<pid>/stat, in clock ticks since boot); a holder whose id is
 * alive but started at another time is gone. Where the start time cannot be read (other
 * systems, a lock written by an older version) the id alone decides, as before. The lock also
 * carries a random token, so that releasing it removes only our own lock, never one another
 * node took over meanwhile.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { makeDirectory } from '../util/make-directory.js';

/** The lock of one state file, held by this process until released. */
export interface StateLock {
  release(): Promise<void>;
}

/** What taking the lock gave: the lock, or the process id holding it. */
export type StateLockResult = { held: true; lock: StateLock } | { held: false; holder: number };

/** Who holds a lock, as written in it: `<pid> <start time or -> <token>`. */
interface Holder {
  pid: number;
  /** null: not recorded (older lock) or not readable here. */
  startTime: string | null;
  token: string;
}

/** Take the lock of `statePath` (creating its directory); throws on file-system errors. */
export async function lockStateFile(statePath: string): Promise<StateLockResult> {
  await makeDirectory(dirname(statePath));
  const lockPath = `${statePath}.lock`;
  const token = randomBytes(8).toString('hex');
  const line = `${process.pid} ${(await processStartTime(process.pid)) ?? '-'} ${token}\n`;
  // Two tries: the second after removing a lock whose process is gone.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await fsp.open(lockPath, 'wx', 0o644);
      try {
        await fh.writeFile(line);
      } finally {
        await fh.close();
      }
      return { held: true, lock: { release: () => releaseIfOurs(lockPath, token) } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await lockHolder(lockPath);
    if (holder !== null && (await holderAlive(holder))) return { held: false, holder: holder.pid };
    await fsp.rm(lockPath, { force: true });
  }
  const holder = await lockHolder(lockPath);
  return { held: false, holder: holder?.pid ?? 0 };
}

/** Remove the lock if it is still the one we wrote. */
async function releaseIfOurs(lockPath: string, token: string): Promise<void> {
  const holder = await lockHolder(lockPath);
  if (holder?.token === token) await fsp.rm(lockPath, { force: true });
}

/** The holder written in a lock file; null if it cannot be read (gone, empty, garbage). */
async function lockHolder(lockPath: string): Promise<Holder | null> {
  const text = await fsp.readFile(lockPath, 'utf8').catch(() => '');
  const [pidText = '', start = '-', token = ''] = text.slice(0, 200).trim().split(/\s+/);
  const pid = Number.parseInt(pidText, 10);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return { pid, startTime: /^\d+$/.test(start) ? start : null, token };
}

/** Whether the holder's process still runs: its id exists and, when both are known, its start time matches. */
async function holderAlive(h: Holder): Promise<boolean> {
  if (!processExists(h.pid)) return false;
  if (h.startTime === null) return true;
  const now = await processStartTime(h.pid);
  return now === null || now === h.startTime;
}

/** Whether a process with this id exists (EPERM: it does, owned by someone else). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A process's start time (field 22 of /proc/<pid>/stat, clock ticks since boot) as text; null
 * where /proc is not there. The command name (field 2) may hold spaces and parentheses: the
 * fields are counted after its last ')'.
 */
async function processStartTime(pid: number): Promise<string | null> {
  const stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = fields[22 - 3];
  return start !== undefined && /^\d+$/.test(start) ? start : null;
}
