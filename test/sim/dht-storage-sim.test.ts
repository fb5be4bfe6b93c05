/**
 * DHT storage on 2,000 simulated nodes in virtual time (1 % loss, jittered latency):
 * BEP 33 scrape estimates against known numbers of seeders and leechers.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SimTestnet } from '../../lib/testing/testnet.js';
import { seededRandom } from '../../lib/util/random.js';
import type { DHT } from '../../lib/dht/dht.js';

const SIZE = 2000;
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
  Math.abs(estimate - truth) <= Math.max(1, 0.05 * truth);

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
      for (const r of results) {
        if (!within(r.seeders, swarm.seeds) || !within(r.leechers, swarm.leechers)) {
          throw new Error(
            `scrape of ${swarm.seeds}/${swarm.leechers} estimated ${r.seeders.toFixed(1)}/${r.leechers.toFixed(1)} (${r.nodes} nodes)`
          );
        }
        expect(r.nodes).toBeGreaterThanOrEqual(6);
      }
    }
  }, 600_000);
});
