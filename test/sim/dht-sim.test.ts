/**
 * 2,000 DHT nodes on the in-memory network, in virtual time (1,000 in the default run, see
 * test/support/sim-size.ts): announce + lookup success and
 * find_node recall against the true closest nodes computed globally.
 */
import { simSize } from '../support/sim-size.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SimTestnet } from '../../lib/testing/testnet.js';
import { compareDistance } from '../../lib/id/node-id.js';
import { seededRandom } from '../../lib/util/random.js';
import { toHex } from '../../lib/util/bytes.js';

const SIZE = simSize(1000, 2000);
let net: SimTestnet;

beforeAll(async () => {
  net = await SimTestnet.create({ size: SIZE, seed: 11, latencyMs: 30, jitterMs: 20, lossRate: 0.01 });
}, 600_000);

afterAll(async () => {
  await net?.destroy();
});

describe(`simulated DHT of ${SIZE} nodes`, () => {
  it('announce then lookup finds the peer for >= 99% of random infohashes', async () => {
    const rnd = seededRandom(5);
    const trials = 100;
    let found = 0;
    const stored: number[] = [];
    for (let batch = 0; batch < trials; batch += 20) {
      const work = Array.from({ length: 20 }, async (_, i) => {
        const ih = rnd.bytes(20);
        const port = 10_000 + batch + i;
        const announcer = net.nodes[rnd.int(SIZE)]!;
        const seeker = net.nodes[rnd.int(SIZE)]!;
        const a = await announcer.announce(ih, port);
        stored.push(a.storedOn);
        const g = await seeker.getPeers(ih);
        if (g.peers.some((p) => p.port === port && p.host === announcer.address().host)) found++;
      });
      await net.run(Promise.all(work), 600_000);
    }
    expect(found / trials).toBeGreaterThanOrEqual(0.99);
    stored.sort((a, b) => a - b);
    expect(stored[Math.floor(stored.length / 2)]).toBe(8);
  }, 300_000);

  it('find_node returns the true 8 closest for >= 95% of targets', async () => {
    const rnd = seededRandom(6);
    const ids = net.nodes.map((n) => n.nodeId);
    const trials = 100;
    let exact = 0;
    let queries = 0;
    for (let batch = 0; batch < trials; batch += 20) {
      const work = Array.from({ length: 20 }, async () => {
        const target = rnd.bytes(20);
        const searcher = net.nodes[rnd.int(SIZE)]!;
        // The searcher never returns itself: the truth is the 8 closest other nodes.
        const truth = ids
          .filter((id) => id !== searcher.nodeId)
          .sort((a, b) => compareDistance(target, a, b))
          .slice(0, 8)
          .map(toHex);
        const r = await searcher.findNode(target);
        queries += r.queries;
        const got = r.closest.map((c) => toHex(c.node.id));
        if (got.join() === truth.join()) exact++;
      });
      await net.run(Promise.all(work), 600_000);
    }
    expect(exact / trials).toBeGreaterThanOrEqual(0.95);
    expect(queries / trials).toBeLessThan(40);
  }, 300_000);

  it('every node answered within bounds: no datagram above 1024 bytes was sent', () => {
    // The RPC layer refuses to send anything larger; confirm none was refused.
    expect(net.nodes.reduce((s, n) => s + n.stats().rejectedLocally, 0)).toBe(0);
  });
});
