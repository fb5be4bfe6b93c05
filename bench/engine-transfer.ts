/**
 * One seeder -> one downloader, both our engine, over loopback TCP.
 *
 *   npm run build && node dist/bench/engine-transfer.js [MiB=256] [reps=3] [memory|fs] [inproc|2proc]
 *
 * - `inproc` (default): both engines in this process, sharing one event loop (and the
 *   machine's 2 cores with the kernel's TCP work): a conservative figure for ours->ours.
 * - `2proc`: the seeder runs in a child process, like two clients (and like
 *   libtorrent->libtorrent in the side-by-side transfer benchmark).
 * - `memory` / `fs`: the downloader's storage (MemoryStorage, or FsStorage in a temp dir).
 *   The seeder always serves from memory.
 *
 * Content is an AES-CTR keystream: fast to generate, incompressible, identical in both
 * processes. Prints MiB/s per repetition, the median, and this process's CPU time per GiB.
 * Environment knobs for experiments: HASH_POOL=1 (hashInThreadPool), MIN_PIPELINE=n.
 */
import { fork } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BitTorrentEngine } from '../lib/engine/bittorrent-engine.js';
import { MemoryStorage } from '../lib/engine/storage/memory-storage.js';
import { createTorrentFromBuffer } from '../lib/torrent/create.js';
import { startMemorySeed } from './lib/memory-seed.js';
import type { TorrentInfo } from '../lib/torrent/metainfo.js';

const MiB = 1024 * 1024;

function content(size: number): { data: Uint8Array; info: TorrentInfo } {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const data = new Uint8Array(cipher.update(Buffer.alloc(size)));
  return { data, info: createTorrentFromBuffer('bench.bin', data) };
}

/** Seed on a fresh loopback port. */
const startSeed = (data: Uint8Array, info: TorrentInfo) => startMemorySeed(info, data);

/** 2proc: the child seeds and reports its port; it exits when the parent says so. */
async function childMain(size: number): Promise<void> {
  const { data, info } = content(size);
  const seed = await startSeed(data, info);
  process.send!({ port: seed.port });
  process.once('message', () => void seed.stop().then(() => process.exit(0)));
}

async function remoteSeed(size: number): Promise<{ port: number; stop(): Promise<void> }> {
  const child = fork(fileURLToPath(import.meta.url), ['--child', String(size)], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`seeder exited with ${code}`)));
  });
  return {
    port,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send('stop');
      await exited;
    }
  };
}

async function once(
  size: number,
  storage: 'memory' | 'fs',
  procs: 'inproc' | '2proc'
): Promise<{ mibps: number; cpuMsPerGiB: number }> {
  const { data, info } = content(size);
  const seed = procs === '2proc' ? await remoteSeed(size) : await startSeed(data, info);
  const dir = storage === 'fs' ? await fsp.mkdtemp(join(tmpdir(), 'tl-bench-')) : undefined;
  const down = new BitTorrentEngine({
    infoHash: info.infoHash,
    info,
    ...(dir ? { outDir: dir, resume: false } : { storage: (i: TorrentInfo) => new MemoryStorage(i) }),
    seed: true,
    hashInThreadPool: process.env.HASH_POOL === '1',
    ...(process.env.MIN_PIPELINE ? { minPipeline: Number(process.env.MIN_PIPELINE) } : {})
  });
  await down.start();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  down.addPeer({ host: '127.0.0.1', port: seed.port }, 'manual');
  await down.done();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await down.destroy();
  await seed.stop();
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
  return { mibps: size / MiB / seconds, cpuMsPerGiB: (cpu.user + cpu.system) / 1000 / (size / (1024 * MiB)) };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return childMain(Number(process.argv[3]));
  const size = Number(process.argv[2] ?? 256) * MiB;
  const reps = Number(process.argv[3] ?? 3);
  const storage = process.argv[4] === 'fs' ? 'fs' : 'memory';
  const procs = process.argv[5] === '2proc' ? '2proc' : 'inproc';
  const results: number[] = [];
  for (let i = 0; i < reps; i++) {
    const r = await once(size, storage, procs);
    results.push(r.mibps);
    console.log(
      `rep ${i + 1}: ${r.mibps.toFixed(1)} MiB/s, CPU ${r.cpuMsPerGiB.toFixed(0)} ms/GiB (${procs === 'inproc' ? 'both engines' : 'downloader'})`
    );
  }
  results.sort((a, b) => a - b);
  console.log(
    `ours->ours ${size / MiB} MiB, ${storage} storage, ${procs}: median of ${reps} ${results[Math.floor(reps / 2)]!.toFixed(1)} MiB/s`
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
