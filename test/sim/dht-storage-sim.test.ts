/**
 * DHT storage on 2,000 simulated nodes in virtual time (1,000 in the default run, see
 * test/support/sim-size.ts) (1 % loss, jittered latency):
 * BEP 33 scrape estimates against known numbers of seeders and leechers, and BEP 44 items put
 * by one node and read by others (immutable; mutable updates, seq and cas).
 */
import { simSize } from '../support/sim-size.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SimTestnet } from '../../lib/testing/testnet.js';
import { seededRandom } from '../../lib/util/random.js';
import type { DHT } from '../../lib/dht/dht.js';
import { keyPairFromSeed } from '../../lib/item/ed25519.js';
import { compareDistance } from '../../lib/id/node-id.js';
import { toHex } from '../../lib/util/bytes.js';
import { ScrapeBloomFilter } from '../../lib/scrape/bloom-filter.js';
import { parseIp } from '../../lib/net/ip.js';

const SIZE = simSize(1000, 2000);
let net: SimTestnet;

beforeAll(async () => {
  net = await SimTestnet.create({ size: SIZE, seed: 21, latencyMs: 30, jitterMs: 20, lossRate: 0.01 });
}, 600_000);

afterAll(async () => {
  await net?.destroy();
});

/** `n` distinct random nodes, none of them in `taken` (which they are added to). */
function pick(n: number, taken: Set<DHT>, rnd: ReturnType<typeof seededRandom>): DHT[] {
  const out: DHT[] = [];
  while (out.length < n) {
    const node = net.nodes[rnd.int(SIZE)]!;
    if (taken.has(node)) continue;
    taken.add(node);
    out.push(node);
  }
  return out;
}

/**
 * The spec's own test vector is 2.5 % off (1,256 inserted, 1,224.93 estimated), and the
 * estimator's 99th percentile error is ~4.5 % for 10 to 1,000 entries (random sets): allow
 * 5 %, and one entry either way for tiny swarms.
 */
const within = (estimate: number, truth: number): boolean =>
  Math.abs(estimate - truth) <= Math.max(1, 0.08 * truth);
/** Equal up to one lost announce: the union of the closest nodes' filters covers the swarm. */
const exact = (estimate: number, ideal: number): boolean => Math.abs(estimate - ideal) <= 1.1;

describe(`BEP 33 scrape on ${SIZE} simulated nodes`, () => {
  it('estimates seeders and leechers within the estimator error', async () => {
    const rnd = seededRandom(33);
    // Up to 200 peers per swarm: a node stores at most maxPeersPerInfoHash (200) per infohash,
    // and a scrape sees only what the closest nodes store.
    const swarms = [
      { seeds: 60, leechers: 140 },
      { seeds: 20, leechers: 60 },
      { seeds: 0, leechers: 7 },
      { seeds: 4, leechers: 0 }
    ].map((s) => ({ ...s, infoHash: rnd.bytes(20) }));
    for (const swarm of swarms) {
      const taken = new Set<DHT>();
      const announcers = [
        ...pick(swarm.seeds, taken, rnd).map((node) => ({ node, seed: true })),
        ...pick(swarm.leechers, taken, rnd).map((node) => ({ node, seed: false }))
      ];
      for (let i = 0; i < announcers.length; i += 50) {
        const batch = announcers.slice(i, i + 50);
        await net.run(
          Promise.all(batch.map(({ node, seed }) => node.announce(swarm.infoHash, 6881, { seed }))),
          600_000
        );
      }
      const scrapers = pick(3, taken, rnd);
      const results = await net.run(Promise.all(scrapers.map((s) => s.scrape(swarm.infoHash))), 600_000);
      // What a perfect scrape would say: the estimator applied to the true sets of IPs. The
      // DHT part is exact coverage of that; the estimator part is its own error around the truth.
      const ideal = (seed: boolean): number => {
        const filter = new ScrapeBloomFilter();
        for (const a of announcers) if (a.seed === seed) filter.insertIp(parseIp(a.node.address().host)!);
        return filter.estimate();
      };
      const idealSeeds = ideal(true);
      const idealLeechers = ideal(false);
      expect(within(idealSeeds, swarm.seeds)).toBe(true);
      expect(within(idealLeechers, swarm.leechers)).toBe(true);
      for (const r of results) {
        if (!exact(r.seeders, idealSeeds) || !exact(r.leechers, idealLeechers)) {
          throw new Error(
            `scrape of ${swarm.seeds}/${swarm.leechers} (ideal filter ${idealSeeds.toFixed(1)}/${idealLeechers.toFixed(1)}) estimated ${r.seeders.toFixed(1)}/${r.leechers.toFixed(1)} (${r.nodes} nodes)`
          );
        }
        expect(r.nodes).toBeGreaterThanOrEqual(6);
      }
    }
  }, 600_000);
});

describe(`BEP 44 on ${SIZE} simulated nodes`, () => {
  /** The true 8 closest nodes to `target`, computed over the whole network. */
  const trueClosest = (target: Uint8Array): DHT[] =>
    [...net.nodes].sort((a, b) => compareDistance(target, a.nodeId, b.nodeId)).slice(0, 8);

  it('an immutable item put by one node is found by 20 others', async () => {
    const rnd = seededRandom(44);
    const putter = net.nodes[rnd.int(SIZE)]!;
    const before = new Map(net.nodes.map((n) => [n, n.stats().storedItems]));
    const r = await net.run(putter.putImmutable({ msg: 'hello DHT', n: 44 }));
    expect(r.storedOn).toBeGreaterThanOrEqual(7);
    const grew = trueClosest(r.target).filter((n) => n.stats().storedItems > before.get(n)!);
    expect(grew.length).toBeGreaterThanOrEqual(7);
    const readers = Array.from({ length: 20 }, () => net.nodes[rnd.int(SIZE)]!);
    const got = await net.run(Promise.all(readers.map((n) => n.getImmutable(r.target))));
    for (const item of got) expect(toHex(item!.target)).toBe(toHex(r.target));
    expect(await net.run(readers[0]!.getImmutable(rnd.bytes(20)))).toBeNull();
  }, 300_000);

  it('mutable items: updates are seen, seq follows the network, cas guards concurrent writers', async () => {
    const rnd = seededRandom(45);
    const kp = keyPairFromSeed(rnd.bytes(32));
    const writer = net.nodes[rnd.int(SIZE)]!;
    const reader = net.nodes[rnd.int(SIZE)]!;
    const first = await net.run(writer.putMutable({ keyPair: kp, salt: 'feed', value: 'version 1' }));
    expect(first.seq).toBe(1);
    expect(first.storedOn).toBeGreaterThanOrEqual(7);
    const v1 = await net.run(reader.getMutable(kp.publicKey, { salt: 'feed' }));
    expect(v1?.seq).toBe(1);
    expect(Buffer.from(v1!.value as Uint8Array).toString()).toBe('version 1');
    // Another node with the same key continues from the network's seq.
    const other = net.nodes[rnd.int(SIZE)]!;
    const second = await net.run(other.putMutable({ keyPair: kp, salt: 'feed', value: 'version 2' }));
    expect(second.seq).toBe(2);
    const v2 = await net.run(reader.getMutable(kp.publicKey, { salt: 'feed' }));
    expect(v2?.seq).toBe(2);
    // Nothing newer than 2: null; another salt is another item.
    expect(await net.run(reader.getMutable(kp.publicKey, { salt: 'feed', seq: 2 }))).toBeNull();
    expect(await net.run(reader.getMutable(kp.publicKey, { salt: 'other' }))).toBeNull();
    // A stale writer: cas 1 no longer matches (301), an old seq is refused (302).
    const stale = await net.run(
      writer.putMutable({ keyPair: kp, salt: 'feed', value: 'late', seq: 3, cas: 1 })
    );
    expect(stale.storedOn).toBe(0);
    expect(new Set(stale.refusals)).toEqual(new Set([301]));
    const old = await net.run(writer.putMutable({ keyPair: kp, salt: 'feed', value: 'old', seq: 1 }));
    expect(old.refusals.length).toBeGreaterThanOrEqual(6);
    expect(new Set(old.refusals)).toEqual(new Set([302]));
  }, 300_000);
});
