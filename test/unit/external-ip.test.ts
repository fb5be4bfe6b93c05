/**
 * BEP 42 in a running node: our external IP learned by voting on replies' `ip`, and the node
 * id derived from it when it does not match.
 */
import { describe, expect, it } from '@jest/globals';
import { ExternalIpVoter } from '../../lib/dht/external-ip.js';
import { SimNetwork } from '../../lib/testing/sim-network.js';
import { DHT } from '../../lib/dht/dht.js';
import { isBep42Compliant } from '../../lib/id/bep42.js';
import { seededRandom } from '../../lib/util/random.js';
import { toHex } from '../../lib/util/bytes.js';
import { decodeMessage, encodeQuery } from '../../lib/krpc/codec.js';
import type { Query } from '../../lib/krpc/types.js';

describe('ExternalIpVoter', () => {
  it('needs 4 voters from distinct subnets and a majority', () => {
    const v = new ExternalIpVoter();
    expect(v.vote('1.1.1.1', '203.0.113.7')).toBeNull();
    expect(v.vote('2.2.2.2', '203.0.113.7')).toBeNull();
    expect(v.vote('3.3.3.3', '203.0.113.7')).toBeNull();
    expect(v.address).toBeNull();
    expect(v.vote('4.4.4.4', '203.0.113.7')).toBe('203.0.113.7');
    expect(v.address).toBe('203.0.113.7');
    expect(v.vote('5.5.5.5', '203.0.113.7')).toBeNull(); // no change, no news
  });

  it('one subnet votes once: a hundred ports of one machine cannot decide our address', () => {
    const v = new ExternalIpVoter();
    for (let i = 0; i < 100; i++) expect(v.vote(`6.6.6.${i}`, '198.51.100.1')).toBeNull();
    expect(v.address).toBeNull();
  });

  it('follows a change of address once the newer votes are a majority; ignores non-IPs', () => {
    const v = new ExternalIpVoter({ maxVoters: 10 });
    for (let i = 1; i <= 6; i++) v.vote(`${i}.0.0.1`, '203.0.113.7');
    expect(v.address).toBe('203.0.113.7');
    expect(v.vote('9.0.0.1', 'not-an-ip')).toBeNull();
    const changes: string[] = [];
    for (let i = 10; i <= 20; i++) {
      const w = v.vote(`${i}.0.0.1`, '203.0.113.99');
      if (w) changes.push(w);
    }
    expect(changes).toEqual(['203.0.113.99']);
  });
});

describe('BEP 42 node ids in a running node', () => {
  async function network(hosts: string[]) {
    const net = new SimNetwork({ seed: 2, latencyMs: 5 });
    const nodes = hosts.map(
      (h, i) =>
        new DHT({
          transport: net.createTransport(h, 6881),
          clock: net.clock,
          random: seededRandom(i + 1),
          bootstrap: []
        })
    );
    await net.runWork(Promise.all(nodes.map((n) => n.ready)), 10_000);
    return { net, nodes };
  }

  it('a node on a public address learns it from replies and takes a compliant id', async () => {
    const { net, nodes } = await network(['1.0.0.1', '2.0.0.1', '3.0.0.1', '4.0.0.1', '5.0.0.1']);
    const me = new DHT({
      transport: net.createTransport('203.0.113.7', 6881),
      clock: net.clock,
      random: seededRandom(99),
      bootstrap: nodes.map((n) => n.address())
    });
    const ids: string[] = [];
    me.on('node-id', (id) => ids.push(toHex(id)));
    await net.runWork(me.ready, 30_000);
    await net.runFor(5_000);
    expect(me.externalAddress()).toBe('203.0.113.7');
    expect(isBep42Compliant(me.nodeId, '203.0.113.7')).toBe(true);
    expect(ids).toEqual([toHex(me.nodeId)]);
    // Its table was rebuilt around the new id and still holds the others.
    expect(me.nodes().length).toBe(5);
    // Every reply carries the new id, BEP 44's get included (it has handlers of its own).
    const asker = net.createTransport('9.0.0.1', 6881);
    const replyIds: string[] = [];
    asker.onMessage((data) => {
      const d = decodeMessage(data);
      if (d.ok && d.message.type === 'response') replyIds.push(toHex(d.message.body.id));
    });
    const askerId = new Uint8Array(20).fill(9);
    const queries: Query[] = [
      { method: 'ping', id: askerId },
      { method: 'get', id: askerId, target: new Uint8Array(20).fill(7) }
    ];
    queries.forEach((q, i) => asker.send(encodeQuery(Uint8Array.of(0xee, i), q), me.address()));
    await net.runFor(100);
    expect(replyIds).toEqual([toHex(me.nodeId), toHex(me.nodeId)]);
    // A node that chose its id keeps it.
    const fixed = new DHT({
      transport: net.createTransport('203.0.113.8', 6881),
      clock: net.clock,
      random: seededRandom(98),
      nodeId: 'ab'.repeat(20),
      bootstrap: nodes.map((n) => n.address())
    });
    await net.runWork(fixed.ready, 30_000);
    await net.runFor(5_000);
    expect(fixed.externalAddress()).toBe('203.0.113.8');
    expect(toHex(fixed.nodeId)).toBe('ab'.repeat(20));
    await Promise.all([...nodes, me, fixed].map((n) => n.destroy()));
  });

  it('a node on a local address keeps its id (local ranges are exempt)', async () => {
    const { net, nodes } = await network(['10.1.0.1', '10.2.0.1', '10.3.0.1', '10.4.0.1', '10.5.0.1']);
    const me = new DHT({
      transport: net.createTransport('10.9.0.1', 6881),
      clock: net.clock,
      random: seededRandom(99),
      bootstrap: nodes.map((n) => n.address())
    });
    const before = toHex(me.nodeId);
    await net.runWork(me.ready, 30_000);
    expect(me.externalAddress()).toBe('10.9.0.1');
    expect(toHex(me.nodeId)).toBe(before);
    await Promise.all([...nodes, me].map((n) => n.destroy()));
  });
});
