/**
 * Joining the DHT without the routers, on 127.0.0.1 (the "routers" are a loopback port nobody
 * answers on): a fresh node whose only knowledge is a saved state file with one live node
 * joins and finds a peer; a downloader whose magnet has one x.pe peer downloads and gets into
 * the DHT through that peer's PORT message; a swarm given a .torrent's `nodes` joins through them. Real sockets on port 0, all closed at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DHT } from '../../lib/dht/dht.js';
import { saveState } from '../../lib/dht/state-file.js';
import { seed } from '../../lib/swarm/seed.js';
import { Swarm } from '../../lib/swarm/swarm.js';
import { DhtJoin, type JoinSource } from '../../lib/swarm/dht-join.js';
import { systemClock } from '../../lib/util/clock.js';
import { formatAddress, type Address } from '../../lib/net/address.js';
import { waitFor } from '../support/wait.js';
import { sameTree, writeTree } from '../support/file-tree.js';
import { loopbackSwarmOptions, startLoopbackDht, type LoopbackDht } from '../support/loopback-swarm.js';

/** Where the routers would be: nothing listens there. */
const DEAD_ROUTERS = ['127.0.0.1:9'];
const INFO_HASH = new Uint8Array(20).fill(0x5a);

let dir: string;
let network: LoopbackDht;

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-join-'));
  network = await startLoopbackDht('127.0.0.1');
});

afterAll(async () => {
  await network.destroy();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('joining the DHT without the routers', () => {
  it('a saved state file with one live node is enough to join and find a peer', async () => {
    const announcer = network.nodes[2]!;
    await announcer.announce(INFO_HASH, 51413);
    const known = network.nodes[1]!;
    const statePath = join(dir, 'state.json');
    await saveState(statePath, {
      id: new Uint8Array(20).fill(0x11),
      nodes: [{ id: known.nodeId, ...known.address() }]
    });
    const fresh = await DHT.create({
      host: '127.0.0.1',
      port: 0,
      bootstrap: [],
      statePath,
      queryTimeoutMs: 500
    });
    const joinDht = new DhtJoin(fresh, {
      clock: systemClock,
      routers: async () => DEAD_ROUTERS.map((r) => ({ host: '127.0.0.1', port: Number(r.split(':')[1]) })),
      waitForOthers: false
    });
    try {
      const joined = new Promise<[JoinSource, Address]>((resolve) =>
        joinDht.once('joined', (source, node) => resolve([source, node]))
      );
      joinDht.offer('state', fresh.nodes());
      joinDht.start();
      const [source, node] = await joined;
      expect(source).toBe('state');
      // The saved node, or one it led the DHT's own join to.
      expect(network.nodes.map((n) => formatAddress(n.address()))).toContain(formatAddress(node));
      const found = await waitFor(
        'the announced peer',
        async () => {
          const r = await fresh.getPeers(INFO_HASH);
          return r.peers.some((p) => p.port === 51413) ? r.peers : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 200 }
      );
      expect(found.map(formatAddress)).toContain('127.0.0.1:51413');
    } finally {
      joinDht.close();
      await fresh.destroy();
    }
  }, 30_000);

  it("a .torrent's `nodes` (BEP 5) are enough to join", async () => {
    const { bootstrap: _none, ...noBootstrap } = loopbackSwarmOptions('127.0.0.1', network.bootstrap);
    const magnet = `magnet:?xt=urn:btih:${'ab'.repeat(20)}`;
    const nodes = [{ host: '127.0.0.1', port: 9 }, network.nodes[3]!.address()]; // one dead, one live
    const swarm = await Swarm.create({
      ...noBootstrap,
      magnet,
      nodes,
      outDir: join(dir, 'torrent-nodes'),
      routers: DEAD_ROUTERS
    });
    try {
      const [source, node] = await new Promise<[JoinSource, Address]>((resolve) =>
        swarm.once('joined', (s, n) => resolve([s, n]))
      );
      expect(source).toBe('torrent');
      expect(formatAddress(node)).toBe(formatAddress(network.nodes[3]!.address()));
    } finally {
      await swarm.destroy();
    }
  }, 30_000);

  it('a magnet with one x.pe peer is enough to download and to join the DHT', async () => {
    const src = join(dir, 'xpe');
    await writeTree(src, { 'clip.bin': 900 * 1024 + 3 });
    const common = loopbackSwarmOptions('127.0.0.1', network.bootstrap);
    const seeder = await seed(join(src, 'clip.bin'), { ...common, create: { pieceLength: 64 * 1024 } });
    const { bootstrap: _none, ...noBootstrap } = common;
    const magnet = seeder.swarm.magnetLink([{ host: '127.0.0.1', port: seeder.swarm.port! }]);
    const out = join(dir, 'xpe-out');
    const down = await Swarm.create({ ...noBootstrap, magnet, outDir: out, routers: DEAD_ROUTERS });
    try {
      const joined = new Promise<[JoinSource, Address]>((resolve) =>
        down.once('joined', (source, node) => resolve([source, node]))
      );
      await down.done();
      await sameTree(src, out, ['clip.bin']);
      const [source, node] = await joined;
      expect(source).toBe('peers');
      expect(formatAddress(node)).toBe(formatAddress(seeder.swarm.dht!.address()));
      // In through the seeder, the node learns the rest of the network.
      await waitFor('more nodes than the seeder', () => down.dht!.stats().nodes > 1, {
        timeoutMs: 10_000,
        intervalMs: 100
      });
    } finally {
      await down.destroy();
      await seeder.swarm.destroy();
    }
  }, 60_000);
});
