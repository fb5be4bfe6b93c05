/**
 * A swarm with no DHT and no tracker on 127.0.0.1, real TCP: a seeder and six downloaders,
 * each of which knows one other peer at start (the magnet's x.pe names the previous one, the
 * first names the seeder). PEX and the random-walk sampler do the rest, with every engine held
 * at three connections so the walk has to move connections; all complete with the right bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BitTorrentEngine } from '../../lib/engine/bittorrent-engine.js';
import { seed } from '../../lib/swarm/seed.js';
import { Swarm } from '../../lib/swarm/swarm.js';
import { sameTree, writeTree } from '../support/file-tree.js';
import { loopbackSwarmOptions } from '../support/loopback-swarm.js';

const KiB = 1024;
const DOWNLOADERS = 6;

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-walk-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('a swarm with no DHT, one known peer each', () => {
  it('PEX and the random walk connect everyone; all complete', async () => {
    const src = join(dir, 'src');
    await writeTree(src, { 'walk.bin': 1536 * KiB });
    const { listen, engineOptions: base } = loopbackSwarmOptions('127.0.0.1', []);
    const engineOptions = { ...base, maxConnections: 3, randomWalk: { intervalMs: 1000, minAgeMs: 2000 } };
    // The seeder's upload is capped so the swarm lives long enough for walk steps.
    const seeded = await seed(join(src, 'walk.bin'), {
      listen,
      engineOptions,
      noDht: true,
      uploadLimit: 256 * KiB
    });
    const swarms: Swarm[] = [seeded.swarm];
    try {
      for (let i = 0; i < DOWNLOADERS; i++) {
        const previous = swarms[swarms.length - 1]!;
        swarms.push(
          await Swarm.create({
            listen,
            engineOptions,
            magnet: seeded.swarm.magnetLink([{ host: '127.0.0.1', port: previous.port! }]),
            outDir: join(dir, `out${i}`),
            noDht: true,
            seed: true
          })
        );
      }
      await Promise.all(swarms.slice(1).map((s) => s.done()));
      for (let i = 0; i < DOWNLOADERS; i++) await sameTree(src, join(dir, `out${i}`), ['walk.bin']);
      const stats = swarms.map((s) => (s.engine as BitTorrentEngine).randomWalkStats);
      console.log(`[swarm random walk] ${JSON.stringify(stats)}`);
      // At three connections each, the walk moved connections (the old one closed once the new one was up).
      expect(stats.reduce((n, s) => n + s.moved, 0)).toBeGreaterThan(0);
    } finally {
      await Promise.all(swarms.map((s) => s.destroy()));
    }
  }, 90_000);
});
