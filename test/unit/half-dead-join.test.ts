/**
 * A half-dead network must not slow the start: a node whose bootstrap list is mostly dead
 * finds a peer as soon as a live node answers, long before its join gives up on the dead
 * ones, and the join itself does not wait a full timeout for them (virtual time).
 */
import { describe, expect, it } from '@jest/globals';
import { SimNetwork } from '../../lib/testing/sim-network.js';
import { DHT } from '../../lib/dht/dht.js';
import { seededRandom } from '../../lib/util/random.js';

describe('joining through dead bootstrap nodes', () => {
  it('the first get_peers yields a peer before the join ends; the join ends well before the 2 s timeout', async () => {
    const net = new SimNetwork({ seed: 4, latencyMs: 15 });
    const holder = new DHT({
      transport: net.createTransport(),
      clock: net.clock,
      random: seededRandom(1),
      bootstrap: []
    });
    const announcer = new DHT({
      transport: net.createTransport(),
      clock: net.clock,
      random: seededRandom(2),
      bootstrap: []
    });
    await net.runWork(Promise.all([holder.ready, announcer.ready]), 5_000);
    await net.runWork(announcer.addNode(holder.address()), 5_000);
    const ih = new Uint8Array(20).fill(0x42);
    await net.runWork(announcer.announce(ih, 6881), 10_000);
    // Three dead addresses (nothing listens there) and the live holder.
    const dead = [1, 2, 3].map((i) => ({ host: `10.250.0.${i}`, port: 6881 }));
    const start = net.clock.now();
    const me = new DHT({
      transport: net.createTransport(),
      clock: net.clock,
      random: seededRandom(3),
      bootstrap: [...dead, holder.address()]
    });
    let readyAt = -1;
    void me.ready.then(() => (readyAt = net.clock.now() - start));
    let firstPeerAt = -1;
    const lookup = (async () => {
      for await (const peer of me.findPeers(ih)) {
        if (firstPeerAt < 0) firstPeerAt = net.clock.now() - start;
        expect(peer.port).toBe(6881);
      }
    })();
    await net.runWork(Promise.all([lookup, me.ready]), 10_000);
    expect(firstPeerAt).toBeGreaterThan(0);
    expect(firstPeerAt).toBeLessThan(100); // one round trip to the holder, not a wait on the dead
    expect(readyAt).toBeGreaterThan(firstPeerAt);
    expect(readyAt).toBeLessThan(1_500); // the dead bootstrap nodes released after slow-after, not 2 s
    await Promise.all([holder, announcer, me].map((d) => d.destroy()));
  });
});
