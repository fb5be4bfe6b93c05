/**
 * Swarms end to end on 127.0.0.1, discovered through the DHT only: a few DHT nodes form the
 * network, the seeder announces, downloaders start from a magnet link with no peer hints
 * (one test instead runs without any DHT, from the magnet's x.pe hint).
 * Real TCP and UDP sockets on port 0; every swarm and node is closed at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineProgress } from '../../lib/engine/engine.js';
import { resumePath } from '../../lib/engine/storage/resume.js';
import { parseMagnet } from '../../lib/magnet/magnet.js';
import { seed } from '../../lib/swarm/seed.js';
import { Swarm, type SwarmOptions } from '../../lib/swarm/swarm.js';
import { waitFor } from '../support/wait.js';
import { sameTree, writeTree } from '../support/file-tree.js';
import {
  loopbackSwarmOptions,
  startLoopbackDht,
  waitForAnnounce,
  type LoopbackDht
} from '../support/loopback-swarm.js';

const KiB = 1024;
const MiB = 1024 * KiB;

let dir: string;
let network: LoopbackDht;

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-e2e-'));
  network = await startLoopbackDht('127.0.0.1');
});

afterAll(async () => {
  await network.destroy();
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Options every swarm of these tests shares: loopback only, fast re-queries. */
function common(): ReturnType<typeof loopbackSwarmOptions> {
  return loopbackSwarmOptions('127.0.0.1', network.bootstrap);
}

/** Start a seeder for `path` and wait until its DHT announce is stored. */
async function startSeeder(path: string, extra: Partial<SwarmOptions> = {}) {
  const result = await seed(path, { ...common(), ...extra, create: { pieceLength: 64 * KiB } });
  await waitForAnnounce(result.swarm);
  expect(parseMagnet(result.magnet).peers).toEqual([]); // DHT only: no x.pe hints
  return result;
}

describe('swarms over loopback, discovered through the DHT', () => {
  it('our seeder -> our downloader, single file', async () => {
    const src = join(dir, 'single');
    await writeTree(src, { 'movie.bin': 3 * MiB + 777 });
    const { swarm: seeder, magnet } = await startSeeder(join(src, 'movie.bin'));
    const out = join(dir, 'single-out');
    const down = await Swarm.create({ ...common(), magnet, outDir: out });
    try {
      await down.done();
      await sameTree(src, out, ['movie.bin']);
      expect(down.progress().verifiedBytes).toBe(3 * MiB + 777);
    } finally {
      await down.destroy();
      await seeder.destroy();
    }
  }, 60_000);

  it('our seeder -> our downloader, multi-file with nested folders and an empty file', async () => {
    const src = join(dir, 'multi');
    const files = {
      'album/a.bin': 700 * KiB,
      'album/b.bin': 1,
      'album/sub/c.bin': 1300 * KiB + 5,
      'album/sub/empty.txt': 0
    };
    await writeTree(src, files);
    const { swarm: seeder, magnet, info } = await startSeeder(join(src, 'album'));
    expect(info.files.length).toBe(4);
    const out = join(dir, 'multi-out');
    const down = await Swarm.create({ ...common(), magnet, outDir: out });
    try {
      await down.done();
      await sameTree(src, out, Object.keys(files));
    } finally {
      await down.destroy();
      await seeder.destroy();
    }
  }, 60_000);

  it('without a DHT: the downloader dials the x.pe hint of the magnet link', async () => {
    const src = join(dir, 'hint');
    await writeTree(src, { 'hinted.bin': 600 * KiB });
    const { listen, engineOptions } = common();
    const seeded = await seed(join(src, 'hinted.bin'), { listen, engineOptions, noDht: true });
    const magnet = seeded.swarm.magnetLink([{ host: '127.0.0.1', port: seeded.swarm.port! }]);
    expect(parseMagnet(magnet).peers).toEqual([{ host: '127.0.0.1', port: seeded.swarm.port }]);
    const down = await Swarm.create({
      listen,
      engineOptions,
      magnet,
      outDir: join(dir, 'hint-out'),
      noDht: true
    });
    try {
      expect(down.dht).toBeUndefined();
      await down.done();
      await sameTree(src, join(dir, 'hint-out'), ['hinted.bin']);
    } finally {
      await down.destroy();
      await seeded.swarm.destroy();
    }
  });

  it("BEP 53: the magnet's so= selects the files; selectFiles: 'all' overrides it", async () => {
    const src = join(dir, 'select');
    // 64 KiB pieces; files in path order: a [0, 128K), b [128K, 320K), c [320K, 420K): b's pieces (2-4) are its own.
    await writeTree(src, { 'set/a.bin': 128 * KiB, 'set/b.bin': 192 * KiB, 'set/c.bin': 100 * KiB });
    const { listen, engineOptions } = common();
    const seeded = await seed(join(src, 'set'), {
      listen,
      engineOptions,
      noDht: true,
      create: { pieceLength: 64 * KiB }
    });
    const hinted = seeded.swarm.magnetLink([{ host: '127.0.0.1', port: seeded.swarm.port! }]);
    const magnet = `${hinted}&so=1`;
    expect(parseMagnet(magnet).selectOnly).toEqual([1]);
    const some = join(dir, 'select-some');
    const all = join(dir, 'select-all');
    const downs: Swarm[] = [];
    try {
      downs.push(await Swarm.create({ listen, engineOptions, magnet, outDir: some, noDht: true }));
      downs.push(
        await Swarm.create({ listen, engineOptions, magnet, outDir: all, noDht: true, selectFiles: 'all' })
      );
      await Promise.all(downs.map((d) => d.done()));
      await sameTree(src, some, ['set/b.bin']);
      expect(existsSync(join(some, 'set/a.bin'))).toBe(false);
      expect(existsSync(join(some, 'set/c.bin'))).toBe(false);
      expect(downs[0]!.progress()).toMatchObject({
        verifiedPieces: 3,
        totalPieces: 3,
        totalBytes: 192 * KiB
      });
      await sameTree(src, all, ['set/a.bin', 'set/b.bin', 'set/c.bin']);
      // The links they hand out carry their selection (or none).
      expect(parseMagnet(downs[0]!.magnetLink()).selectOnly).toEqual([1]);
      expect(parseMagnet(downs[1]!.magnetLink()).selectOnly).toBeUndefined();
      expect(parseMagnet(seeded.swarm.magnetLink()).selectOnly).toBeUndefined();
    } finally {
      await Promise.all(downs.map((d) => d.destroy()));
      await seeded.swarm.destroy();
    }
  });

  it('a swarm of 1 seeder + 5 downloaders: downloaders also upload to each other', async () => {
    const src = join(dir, 'swarm');
    await writeTree(src, { 'data.bin': 4 * MiB });
    // A slow seed (1 MiB/s) makes the downloaders trade pieces among themselves.
    const { swarm: seeder, magnet } = await startSeeder(join(src, 'data.bin'), { uploadLimit: 1 * MiB });
    const downs: Swarm[] = [];
    try {
      // Created together: each brings up its own DHT node (bootstrap) first.
      const created = await Promise.allSettled(
        [0, 1, 2, 3, 4].map((i) =>
          Swarm.create({ ...common(), magnet, outDir: join(dir, `swarm-out-${i}`), seed: true })
        )
      );
      for (const c of created) if (c.status === 'fulfilled') downs.push(c.value);
      expect(downs).toHaveLength(5);
      await Promise.all(downs.map((d) => d.done()));
      for (let i = 0; i < 5; i++) await sameTree(src, join(dir, `swarm-out-${i}`), ['data.bin']);
      const uploaded = downs.map((d) => d.progress().uploaded);
      expect(Math.max(...uploaded)).toBeGreaterThan(0);
      // The seed's cap makes it impossible for it alone to have sent 5 copies.
      expect(uploaded.reduce((a, b) => a + b, 0)).toBeGreaterThan(4 * MiB);
    } finally {
      await Promise.all(downs.map((d) => d.destroy()));
      await seeder.destroy();
    }
  }, 90_000);

  it('resume: a stopped download restarts with only the missing pieces (resume file, then verification)', async () => {
    const src = join(dir, 'resume');
    const size = 4 * MiB;
    await writeTree(src, { 'big.bin': size });
    const { swarm: seeder, magnet, info } = await startSeeder(join(src, 'big.bin'));
    const out = join(dir, 'resume-out');
    const pieceLength = info.pieceLength;
    /** Run a download until `stopAt` of the bytes are verified (or done), then stop it. */
    const run = async (
      limit: number,
      stopAt: number
    ): Promise<{ first: EngineProgress; last: EngineProgress }> => {
      // With the torrent given, the storage is checked inside create(): `first` is the restored state.
      const swarm = await Swarm.create({
        ...common(),
        magnet,
        torrent: info,
        outDir: out,
        downloadLimit: limit
      });
      const first = swarm.progress();
      try {
        await waitFor(
          'progress',
          () => swarm.engine.complete || swarm.progress().verifiedBytes >= stopAt * size,
          { timeoutMs: 40_000, intervalMs: 50 }
        );
        await swarm.stop();
        return { first, last: swarm.progress() };
      } finally {
        await swarm.destroy();
      }
    };
    try {
      const r1 = await run(1 * MiB, 0.3);
      expect(r1.first.verifiedPieces).toBe(0);
      expect(existsSync(resumePath(out, info.infoHash))).toBe(true);
      const have1 = r1.last.verifiedBytes;
      expect(have1).toBeGreaterThan(0);
      expect(have1).toBeLessThan(size);

      // Run 2 trusts the resume file: it starts with run 1's pieces and fetches only others.
      const r2 = await run(1 * MiB, 0.6);
      expect(r2.first.verifiedBytes).toBe(have1);
      const have2 = r2.last.verifiedBytes;
      expect(have2).toBeGreaterThan(have1);
      expect(r2.last.downloaded).toBeLessThanOrEqual(have2 - have1 + 8 * pieceLength);

      // Run 3 without the resume file: the data on disk is verified instead, then completed.
      await fsp.rm(resumePath(out, info.infoHash));
      const r3 = await run(0, 1);
      expect(r3.first.verifiedBytes).toBe(have2);
      expect(r3.last.verifiedBytes).toBe(size);
      expect(r3.last.downloaded).toBeGreaterThanOrEqual(size - have2);
      expect(r3.last.downloaded).toBeLessThanOrEqual(size - have2 + 8 * pieceLength);
      await sameTree(src, out, ['big.bin']);
    } finally {
      await seeder.destroy();
    }
  }, 120_000);
});
