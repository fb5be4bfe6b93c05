/**
 * The state file's lock (lib/dht/state-lock.ts): one writer per file, and a lock whose process
 * is gone is taken over, even when its process id has been reused by another process.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockStateFile } from '../../lib/dht/state-lock.js';

async function withDir(run: (statePath: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'trackerless-lock-'));
  try {
    await run(join(dir, 'dht.json'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Our start time as the lock records it (field 22 of /proc/self/stat). */
async function ownStartTime(): Promise<string> {
  const stat = await readFile(`/proc/${process.pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

describe('state file lock', () => {
  it('records process id, start time and a token; a second taker sees the holder', async () => {
    await withDir(async (statePath) => {
      const first = await lockStateFile(statePath);
      expect(first.held).toBe(true);
      const line = await readFile(`${statePath}.lock`, 'utf8');
      expect(line).toMatch(new RegExp(`^${process.pid} ${await ownStartTime()} [0-9a-f]{16}\n$`));
      expect(await lockStateFile(statePath)).toEqual({ held: false, holder: process.pid });
      if (first.held) await first.lock.release();
      expect(existsSync(`${statePath}.lock`)).toBe(false);
    });
  });

  it('takes over a lock whose process id is alive but belongs to a process started at another time', async () => {
    await withDir(async (statePath) => {
      // A crashed node's lock whose pid now names a live process (here: this one).
      const other = String(Number(await ownStartTime()) + 1);
      await writeFile(`${statePath}.lock`, `${process.pid} ${other} 0123456789abcdef\n`);
      const taken = await lockStateFile(statePath);
      expect(taken.held).toBe(true);
      expect(await readFile(`${statePath}.lock`, 'utf8')).not.toContain(other);
      if (taken.held) await taken.lock.release();
    });
  });

  it('a lock in the older format (process id only) is judged by the id alone', async () => {
    await withDir(async (statePath) => {
      await writeFile(`${statePath}.lock`, `${process.pid}\n`);
      expect(await lockStateFile(statePath)).toEqual({ held: false, holder: process.pid });
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
      await writeFile(`${statePath}.lock`, `${dead.stdout.toString()}\n`);
      const taken = await lockStateFile(statePath);
      expect(taken.held).toBe(true);
      if (taken.held) await taken.lock.release();
    });
  });

  it('releasing removes only our own lock, not one another node took over meanwhile', async () => {
    await withDir(async (statePath) => {
      const taken = await lockStateFile(statePath);
      if (!taken.held) throw new Error('lock not taken');
      const theirs = `${process.pid} ${await ownStartTime()} fedcba9876543210\n`;
      await writeFile(`${statePath}.lock`, theirs);
      await taken.lock.release();
      expect(await readFile(`${statePath}.lock`, 'utf8')).toBe(theirs);
    });
  });
});
