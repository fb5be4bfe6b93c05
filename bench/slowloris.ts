/**
 * Slowloris benchmark (issue 8, failure 1), loopback only (run it in a private network
 * namespace: `unshare --net -- bash -c 'ip link set lo up; node dist/bench/slowloris.js'`):
 *
 *   node dist/bench/slowloris.js [--mib 32] [--reps 5] [--keepers 24] [--burst 2000] [--rate 300]
 *
 * A seeder (our engine, its own TCP listener on 127.0.0.1, default limits) and an honest
 * downloader in this process. Each rep runs a clean download and one under attack, interleaved:
 * four source addresses (127.0.0.2-5) keep --keepers idle connections each, reopened as soon
 * as they are closed (at most --rate connects/s), and --burst idle connections are opened once
 * from 500 other addresses (127.0.1-2.x), 1.5 s before the download starts. The attacker runs
 * in a child process (this script with --attack PORT), as it would on another host. Reported: median
 * time to done for each, their ratio (goal <= 1.5x), the listener's admission counters. Every
 * download is checked byte for byte; every loop is bounded (30 s per download).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BitTorrentEngine } from '../lib/engine/bittorrent-engine.js';
import { MemoryStorage } from '../lib/engine/storage/memory-storage.js';
import { createTorrentFromBuffer } from '../lib/torrent/create.js';
import type { TorrentInfo } from '../lib/torrent/metainfo.js';
import { seededRandom } from '../lib/util/random.js';
import { startMemorySeed } from './lib/memory-seed.js';
import { argvReader } from './lib/argv.js';
import { Slowloris } from './lib/slowloris.js';
import { fmt, median, sleep, table } from './lib/stats.js';

const { num, value } = argvReader(process.argv.slice(2));
const mib = num('mib', 32);
const reps = num('reps', 5);
const keepers = num('keepers', 24);
const burst = num('burst', 2000);
const rate = num('rate', 300);

async function download(
  info: TorrentInfo,
  data: Uint8Array,
  attacked: boolean
): Promise<{ ms: number; admission: string }> {
  const seed = await startMemorySeed(info, data);
  const listener = seed.listener;
  const attack = attacked ? await startAttacker(listener.port) : undefined;
  if (attack) await sleep(1_500);
  const holder: { storage?: MemoryStorage } = {};
  const down = new BitTorrentEngine({
    infoHash: info.infoHash,
    storage: (i) => (holder.storage = new MemoryStorage(i)),
    seed: true
  });
  try {
    await down.start();
    const started = performance.now();
    down.addPeer({ host: '127.0.0.1', port: listener.port }, 'manual');
    await down.done({ signal: AbortSignal.timeout(30_000) });
    const ms = performance.now() - started;
    for (let i = 0; i < info.pieceCount; i++) {
      const piece = await holder.storage!.readPiece(i);
      const at = i * info.pieceLength;
      if (!Buffer.from(piece).equals(Buffer.from(data.subarray(at, at + piece.length))))
        throw new Error(`piece ${i} differs`);
    }
    return { ms, admission: JSON.stringify(listener.admission) };
  } finally {
    await stopAttacker(attack);
    await down.destroy();
    await seed.stop();
  }
}

/** The attacker as a child process (this script with --attack PORT); resolves once it runs. */
async function startAttacker(port: number): Promise<ChildProcess> {
  const child = fork(fileURLToPath(import.meta.url), [
    '--attack',
    String(port),
    ...['--keepers', String(keepers), '--burst', String(burst), '--rate', String(rate)]
  ]);
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`attacker exited with ${code}`)));
  });
  return child;
}

async function stopAttacker(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send('stop');
  await Promise.race([exited, sleep(5_000).then(() => child.kill('SIGKILL'))]);
}

/** Child mode: run the slowloris against PORT until the parent says stop (at most 5 min). */
async function attackMode(port: number): Promise<void> {
  const attack = new Slowloris({
    host: '127.0.0.1',
    port,
    sources: ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'],
    keepersPerSource: keepers,
    burst,
    burstSources: Array.from({ length: 500 }, (_, i) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`),
    connectsPerSecond: rate
  });
  attack.start();
  process.send!('started');
  await Promise.race([new Promise((resolve) => process.once('message', resolve)), sleep(300_000)]);
  await attack.stop();
  process.disconnect();
}

async function main(): Promise<void> {
  const data = seededRandom(8).bytes(mib * 1024 * 1024);
  const info = createTorrentFromBuffer('slowloris.bin', data, 256 * 1024);
  const clean: number[] = [];
  const attacked: number[] = [];
  for (let r = 0; r < reps; r++) {
    const a = await download(info, data, false);
    const b = await download(info, data, true);
    clean.push(a.ms);
    attacked.push(b.ms);
    console.log(
      `rep ${r + 1}: clean ${fmt(a.ms, 0)} ms, attacked ${fmt(b.ms, 0)} ms; listener ${b.admission}`
    );
  }
  console.log(
    table(
      ['download', 'median ms', 'ratio'],
      [
        [`${mib} MiB clean`, fmt(median(clean), 0), '1.00'],
        [`${mib} MiB under slowloris`, fmt(median(attacked), 0), fmt(median(attacked) / median(clean))]
      ]
    )
  );
}

const attackPort = value('attack');
if (attackPort !== undefined) await attackMode(Number(attackPort));
else await main();
