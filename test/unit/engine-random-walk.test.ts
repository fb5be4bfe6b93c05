/**
 * The random-walk sampler wired into the engine, in virtual time over in-memory pipes: a swarm
 * with no DHT and no tracker where each peer knows one other at start (a chain: peer i knows
 * peer i-1) and every engine is held at a small connection cap. Plain PEX tells each peer about
 * its neighbours' neighbours but, at the cap, leaves the chain as it is; the walk moves one
 * connection a step to a peer its far end named, so the peers meet others beyond the chain.
 * Moves close the old connection only once the new one is up, and a peer over its cap closes
 * only a connection it can spare, so the swarm stays in one piece. Every peer completes with the
 * right bytes either way.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { BitTorrentEngine } from '../../lib/engine/bittorrent-engine.js';
import type { BitTorrentEngineOptions } from '../../lib/engine/engine-options.js';
import type { PeerListener } from '../../lib/engine/engine.js';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import { formatAddress, type Address } from '../../lib/net/address.js';
import { createTorrentFromBuffer } from '../../lib/torrent/create.js';
import { RateLimiter } from '../../lib/util/rate-limiter.js';
import { seededRandom } from '../../lib/util/random.js';
import { PipeNet, storedBytes } from '../support/pipe-net.js';

const KiB = 1024;
const PEERS = 12;
const CAP = 3;

const nets: PipeNet[] = [];
afterEach(async () => {
  await Promise.all(nets.splice(0).map((n) => n.destroyAll()));
});

/** Announces the PipeNet port in the extension handshake, so incoming peers' listen addresses are known. */
const listener = (port: number): PeerListener => ({ port, register: () => () => {} });

/** Which pairs of peers were connected, sampled once a virtual second. */
async function runChain(randomWalk: BitTorrentEngineOptions['randomWalk']) {
  const net = new PipeNet();
  nets.push(net);
  const data = seededRandom(11).bytes(256 * KiB);
  const info = createTorrentFromBuffer('walk.bin', data, 16 * KiB);
  // Slow enough that nobody completes while the walk runs: 1 KiB/s for the whole swarm.
  const slow = new RateLimiter({ rate: 1 * KiB, minBurst: 16 * KiB, clock: net.time.clock });
  const common = (address: Address): Partial<BitTorrentEngineOptions> => ({
    maxConnections: CAP,
    randomWalk,
    random: seededRandom(address.host.charCodeAt(address.host.length - 1)),
    listener: listener(address.port),
    sharedLimits: { download: slow }
  });
  const seedAddress = net.address();
  const seed = await net.engine(seedAddress, {
    infoHash: info.infoHash,
    info,
    storage: MemoryStorage.fromData(info, data),
    existing: 'complete',
    seed: true,
    ...common(seedAddress)
  });
  const all: { engine: BitTorrentEngine; address: Address }[] = [{ engine: seed, address: seedAddress }];
  const leechers: { engine: BitTorrentEngine; holder: { storage?: MemoryStorage } }[] = [];
  for (let i = 1; i < PEERS; i++) {
    const address = net.address();
    const holder: { storage?: MemoryStorage } = {};
    const engine = await net.engine(address, {
      infoHash: info.infoHash,
      info,
      storage: (i) => (holder.storage = new MemoryStorage(i)),
      seed: true,
      ...common(address)
    });
    engine.addPeer(all[i - 1]!.address, 'manual'); // peer i knows peer i-1, nobody else
    all.push({ engine, address });
    leechers.push({ engine, holder });
  }
  const key = (a: Address): string => formatAddress(a);
  const hostOf = new Map(all.map((p) => [p.address.host, key(p.address)]));
  const pairs = new Set<string>();
  let splitSeconds = 0;
  for (let second = 0; second < 8 * 60; second++) {
    await net.time.run(1000, 200);
    const links = new Map<string, Set<string>>(all.map((p) => [key(p.address), new Set()]));
    for (const p of all)
      for (const s of p.engine.peerStatus()) {
        const other = hostOf.get(s.address.host);
        if (!other) continue;
        pairs.add([key(p.address), other].sort().join(' '));
        links.get(key(p.address))!.add(other);
        links.get(other)!.add(key(p.address));
      }
    if (reachable(links, key(seedAddress)) < PEERS) splitSeconds++;
  }
  const moved = all.reduce((n, p) => n + p.engine.randomWalkStats.moved, 0);
  const completeEarly = leechers.filter((l) => l.engine.complete).length;
  slow.setRate(0);
  await net.time.settle(Promise.all(leechers.map((l) => l.engine.done())), { maxMs: 600_000 });
  for (const l of leechers)
    expect((await storedBytes(l.holder.storage!, info)).equals(Buffer.from(data))).toBe(true);
  return { pairs: pairs.size, moved, completeEarly, splitSeconds };
}

/** How many peers the connections reach from `start` (the whole swarm: connected). */
function reachable(links: Map<string, Set<string>>, start: string): number {
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length > 0)
    for (const n of links.get(queue.shift()!) ?? []) {
      if (seen.has(n)) continue;
      seen.add(n);
      queue.push(n);
    }
  return seen.size;
}

describe('random walks over PEX in the engine', () => {
  it('at the connection cap the walk moves connections beyond the chain the peers started from; all complete', async () => {
    const withWalk = await runChain({ intervalMs: 30_000, minAgeMs: 60_000 });
    const without = await runChain(false);
    console.log(`[random walk] ${JSON.stringify({ withWalk, without })}`);
    expect(withWalk.completeEarly).toBe(0);
    // A move closes the old connection only once the new one is up: the swarm never splits.
    expect(withWalk.splitSeconds).toBe(0);
    expect(without.moved).toBe(0);
    expect(withWalk.moved).toBeGreaterThan(PEERS);
    // The chain has PEERS - 1 links; the walk makes peers meet many more of the swarm.
    expect(withWalk.pairs).toBeGreaterThan(without.pairs + PEERS);
  }, 120_000);
});
