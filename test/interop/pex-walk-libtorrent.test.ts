/**
 * PEX and the random walk with libtorrent 2.0 in the swarm, on 127.0.0.1 with no DHT on our
 * side: libtorrent seeds; four downloaders of ours each know one peer at start (the first knows
 * libtorrent, each next one the previous downloader) and keep at most three connections, so the
 * walk may move connections (the walk rides on PEX: no message libtorrent would not know).
 * libtorrent reads our ut_pex messages: it dials downloaders whose addresses only our PEX
 * could have told it. All complete with the right bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BitTorrentEngine } from '../../lib/engine/bittorrent-engine.js';
import { createTorrent, DHT, formatAddress, Swarm, toMagnet, toTorrentFile } from '../../lib/index.js';
import { libtorrentProblem } from '../support/lt-node.js';
import { LtSwarm } from '../support/lt-swarm.js';
import { sameTree, writeTree } from '../support/file-tree.js';

const HOST = '127.0.0.1';
const KiB = 1024;
const DOWNLOADERS = 4;

let dir: string;
let node: DHT;
const lts: LtSwarm[] = [];
const swarms: Swarm[] = [];

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-lt-walk-'));
  // libtorrent's helper needs a bootstrap node; ours use no DHT at all.
  node = await DHT.create({ host: HOST, port: 0, bootstrap: [] });
});

afterAll(async () => {
  await Promise.all(lts.map((lt) => lt.close()));
  await Promise.all(swarms.map((s) => s.destroy()));
  await node.destroy();
  await fsp.rm(dir, { recursive: true, force: true });
}, 30_000);

describe('PEX and random walks with libtorrent', () => {
  it('downloaders that know one peer each reach the libtorrent seeder through PEX; all complete', async () => {
    const problem = libtorrentProblem();
    if (problem)
      throw new Error(`python3-libtorrent is required (apt-get install python3-libtorrent): ${problem}`);
    const src = join(dir, 'src');
    await writeTree(src, { 'walk.bin': 1536 * KiB });
    const info = await createTorrent(join(src, 'walk.bin'), { pieceLength: 64 * KiB });
    const torrentFile = join(dir, 'walk.torrent');
    await fsp.writeFile(torrentFile, toTorrentFile(info));
    const lt = await LtSwarm.start({
      mode: 'seed',
      torrentFile,
      savePath: src,
      bootstrap: [formatAddress(node.address())]
    });
    lts.push(lt);
    await lt.next((e) => e.event === 'status' && e.state === 'seeding', 20_000, 'libtorrent to seed');

    const ltPort = lt.port;
    /** Downloaders libtorrent dialled (it can only have learnt their addresses by PEX). */
    const dialledByLt = new Set<number>();
    for (let i = 0; i < DOWNLOADERS; i++) {
      const previous = i === 0 ? ltPort : swarms[i - 1]!.port!;
      swarms.push(
        await Swarm.create({
          magnet: toMagnet({
            infoHash: info.infoHash,
            name: info.name,
            peers: [{ host: HOST, port: previous }]
          }),
          listen: { host: HOST, port: 0 },
          noDht: true,
          outDir: join(dir, `out${i}`),
          seed: true,
          // Slow enough that the swarm lives for several walk steps.
          downloadLimit: 192 * KiB,
          engineOptions: { maxConnections: 3, randomWalk: { intervalMs: 1000, minAgeMs: 2000 } }
        })
      );
    }
    const sampler = setInterval(() => {
      const conns = (lt.status?.connections ?? []) as { port: number; outgoing: boolean }[];
      swarms.forEach((s, i) => {
        if (conns.some((c) => c.outgoing && c.port === s.port)) dialledByLt.add(i);
      });
    }, 100);
    try {
      await Promise.all(swarms.map((s) => s.done()));
    } finally {
      clearInterval(sampler);
    }
    for (let i = 0; i < DOWNLOADERS; i++) await sameTree(src, join(dir, `out${i}`), ['walk.bin']);
    const stats = swarms.map((s) => (s.engine as BitTorrentEngine).randomWalkStats);
    console.log(
      `[lt walk] libtorrent dialled downloaders ${[...dialledByLt].join(',')}; walk: ${JSON.stringify(stats)}`
    );
    // libtorrent was told nothing but downloader 0's connection: our PEX named the others to it.
    expect([...dialledByLt].filter((i) => i > 0).length).toBeGreaterThan(0);
    expect(ltPort).toBeGreaterThan(0);
  }, 120_000);
});
