/**
 * The capped swarms of the engine benchmark (engine-bench --swarm) as a model in virtual time:
 * our engines on in-memory pipes (test/support/pipe-net.ts PipeNet, MemoryStorage), no
 * sockets, no disk, no CPU cost per byte. What is left is the engine's own policy (choking,
 * piece picking, request pipelining, HAVEs, rate limiting) under the upload caps, so the
 * distribution time here is what the engine would reach on an infinitely fast machine, and
 * every run with the same seed gives the same figure, whatever the load. Use it to tell a
 * policy change from noise; the loopback bench measures the real thing.
 *
 *   npm run bench:swarm-model -- [--n 8,16] [--cases a,b] [--size 8]
 *     [--piece 64] [--seeds 3] [--json FILE]
 *
 * One seed + N downloaders; the seed uploads at most u_s, each downloader u_i (caps of
 * engine-bench's cases (a) and (b)), downloads unlimited. The downloaders know the torrent;
 * downloader i dials the seed and every downloader j < i (a full mesh, as the bench connects
 * its peers). Time starts when the dials are made and ends when the last downloader has every
 * piece verified; D_p2p is the lower bound of bench/lib/bounds.ts. --seeds K runs seeds 1..K:
 * the content and every engine's random source (peer id, picker, choker) come from the seed.
 * --piece KiB sets the piece length (default 64: what createTorrent picks for the bench's
 * 64 MiB file). Every run is bounded: 4 x D_p2p + 60 s of virtual time, or it fails.
 * Each copy is compared with the source at the end.
 */
import { writeFileSync } from 'node:fs';
import { MemoryStorage } from '../lib/engine/storage/memory-storage.js';
import type { Address } from '../lib/net/address.js';
import { createTorrentFromBuffer } from '../lib/torrent/create.js';
import { seededRandom } from '../lib/util/random.js';
import { PipeNet, storedBytes } from '../test/support/pipe-net.js';
import { argvReader } from './lib/argv.js';
import { dP2P } from './lib/bounds.js';
import { fmt, median, round, table } from './lib/stats.js';
import { CASES, type CaseName } from './engine-bench/options.js';

const MiB = 1024 * 1024;

export interface ModelRun {
  caseName: CaseName;
  n: number;
  seed: number;
  /** Virtual seconds from the dials to the last downloader done. */
  seconds: number;
  bound: number;
  ratio: number;
  /** Times the seed sent the file. */
  seedSends: number;
}

/** One capped swarm in virtual time; throws unless every downloader ends with the source's bytes. */
export async function modelSwarm(
  caseName: CaseName,
  n: number,
  F: number,
  pieceLength: number,
  seed: number
): Promise<ModelRun> {
  const rates = CASES[caseName];
  const data = seededRandom(seed).bytes(F);
  const info = createTorrentFromBuffer('model.bin', data, pieceLength);
  const net = new PipeNet();
  try {
    const engineRandom = (i: number) => seededRandom(seed * 1000 + i);
    const seeder = await net.seeder(info, data, { uploadLimit: rates.uS, random: engineRandom(0) });
    const downs: { address: Address; storage: MemoryStorage; doneAt?: number }[] = [];
    const engines = [];
    for (let i = 1; i <= n; i++) {
      const address = net.address();
      const storage = new MemoryStorage(info);
      engines.push(
        await net.engine(address, {
          infoHash: info.infoHash,
          info,
          storage,
          seed: true,
          uploadLimit: rates.uI,
          random: engineRandom(i)
        })
      );
      downs.push({ address, storage });
    }
    const start = net.time.now();
    engines.forEach((e, k) => {
      void e.done().then(() => (downs[k]!.doneAt = net.time.now()));
      e.addPeer(seeder.address, 'manual');
      for (let j = 0; j < k; j++) e.addPeer(downs[j]!.address, 'manual');
    });
    const bound = dP2P(F, n, rates);
    await net.time.until('every downloader done', () => downs.every((d) => d.doneAt !== undefined), {
      maxMs: Math.round((4 * bound + 60) * 1000)
    });
    const source = Buffer.from(data);
    for (const [k, d] of downs.entries())
      if (!(await storedBytes(d.storage, info)).equals(source))
        throw new Error(
          `case ${caseName} N = ${n} seed ${seed}: downloader ${k + 1} differs from the source`
        );
    const seconds = (Math.max(...downs.map((d) => d.doneAt!)) - start) / 1000;
    return {
      caseName,
      n,
      seed,
      seconds,
      bound,
      ratio: seconds / bound,
      seedSends: seeder.engine.progress().uploaded / F
    };
  } finally {
    await net.destroyAll();
  }
}

async function main(): Promise<void> {
  const { value, num } = argvReader(process.argv.slice(2));
  const ns = (value('n') ?? '8,16').split(',').map(Number);
  const cases = (value('cases') ?? 'a,b').split(',').filter((c): c is CaseName => c === 'a' || c === 'b');
  const F = Math.round(num('size', 8) * MiB);
  const pieceLength = num('piece', 64) * 1024;
  const seeds = num('seeds', 3);
  const json = value('json');
  console.log(
    `Capped swarms in virtual time (PipeNet, MemoryStorage): F = ${fmt(F / MiB)} MiB, pieces of ${pieceLength / 1024} KiB, full mesh, seeds 1-${seeds}`
  );
  const runs: ModelRun[] = [];
  const rows: string[][] = [];
  for (const c of cases) {
    for (const n of ns) {
      const mine: ModelRun[] = [];
      for (let seed = 1; seed <= seeds; seed++) {
        const wall = performance.now();
        const r = await modelSwarm(c, n, F, pieceLength, seed);
        mine.push(r);
        console.log(
          `  ${CASES[c].label}, N = ${n}, seed ${seed}: ${r.seconds.toFixed(2)} s = ${r.ratio.toFixed(3)} x D_p2p; seed sent the file ${r.seedSends.toFixed(2)} times (${((performance.now() - wall) / 1000).toFixed(1)} s wall)`
        );
      }
      runs.push(...mine);
      rows.push([
        CASES[c].label,
        String(n),
        fmt(mine[0]!.bound),
        mine.map((r) => fmt(r.ratio, 3)).join(', '),
        fmt(median(mine.map((r) => r.ratio)), 3),
        fmt(median(mine.map((r) => r.seedSends)))
      ]);
    }
  }
  console.log(table(['caps', 'N', 'D_p2p s', 'D/D_p2p per seed', 'median', 'seed sends (median)'], rows));
  if (json)
    writeFileSync(
      json,
      `${JSON.stringify({ sizeBytes: F, pieceLength, runs: runs.map((r) => ({ ...r, seconds: round(r.seconds), ratio: round(r.ratio) })) }, null, 2)}\n`
    );
}

await main();
