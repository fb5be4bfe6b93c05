/**
 * How a node starts: from nodes the application hands it (`knownNodes`, taken as a state
 * file's are) and after a delay (`joinDelayMs`, answering queries meanwhile). Virtual time on
 * the simulated network.
 */
import { describe, expect, it } from '@jest/globals';
import { SimNetwork } from '../../lib/testing/sim-network.js';
import { DHT } from '../../lib/dht/dht.js';
import type { DhtOptions } from '../../lib/dht/options.js';
import { decodeMessage, encodeQuery } from '../../lib/krpc/codec.js';
import type { NodeInfo } from '../../lib/krpc/types.js';
import { seededRandom } from '../../lib/util/random.js';
import { InvalidArgumentError } from '../../lib/errors.js';

/** Three live nodes, ready, and the infos a new node may be given. */
async function network() {
  const net = new SimNetwork({ seed: 5, latencyMs: 10 });
  const live: DHT[] = [];
  for (let i = 0; i < 3; i++)
    live.push(
      new DHT({
        transport: net.createTransport(),
        clock: net.clock,
        random: seededRandom(i + 1),
        bootstrap: []
      })
    );
  await net.runUntil(() => false, 1);
  await Promise.all(live.map((d) => d.ready));
  const infos: NodeInfo[] = live.map((d) => ({ id: d.nodeId, ...d.address() }));
  /** Methods the new node sent, with their virtual send time. */
  const sent: Array<{ method: string; at: number }> = [];
  /** The node under test, started from the three live nodes. */
  const newNode = (extra: Partial<DhtOptions> = {}, transport = net.createTransport()) =>
    new DHT({
      transport,
      clock: net.clock,
      random: seededRandom(9),
      bootstrap: [],
      knownNodes: infos,
      ...extra
    });
  return { net, live, infos, sent, newNode };
}

describe('DHT start options', () => {
  it('starts from knownNodes: questionable until they answer its join, then good', async () => {
    const { net, live, newNode } = await network();
    const dht = newNode();
    await net.runUntil(() => dht.nodes().length > 0, 1);
    expect(dht.nodes().length).toBe(3);
    expect(dht.stats().goodNodes).toBe(0);
    await net.runWork(dht.ready, 10_000);
    expect(dht.stats().goodNodes).toBe(3); // the self lookup asked them all
    await Promise.all([dht, ...live].map((d) => d.destroy()));
  });

  it('joinDelayMs: answers queries at once, joins only after the delay', async () => {
    const { net, live, sent, newNode } = await network();
    const transport = net.createTransport();
    const own = transport.address();
    net.onSend = (from, _to, data) => {
      if (from.host !== own.host || from.port !== own.port) return;
      const d = decodeMessage(data);
      if (d.ok && d.message.type === 'query')
        sent.push({ method: d.message.query.method, at: net.clock.now() });
    };
    const dht = newNode({ joinDelayMs: 5_000 }, transport);
    let ready = false;
    void dht.ready.then(() => (ready = true));
    // A ping at 1 s is answered, though the node has not joined.
    const client = net.createTransport();
    let answered = false;
    client.onMessage((data) => {
      const d = decodeMessage(data);
      if (d.ok && d.message.type === 'response') answered = true;
    });
    await net.runFor(1_000);
    client.send(encodeQuery(new Uint8Array([1, 2]), { method: 'ping', id: new Uint8Array(20).fill(3) }), own);
    await net.runFor(100);
    expect(answered).toBe(true);
    expect(sent.filter((s) => s.method === 'find_node')).toEqual([]);
    expect(ready).toBe(false);
    await net.runUntil(() => ready, 10_000);
    expect(ready).toBe(true);
    const joins = sent.filter((s) => s.method === 'find_node');
    expect(joins.length).toBeGreaterThan(0);
    expect(Math.min(...joins.map((s) => s.at))).toBeGreaterThanOrEqual(5_000);
    await Promise.all([dht, ...live].map((d) => d.destroy()));
  });

  it('destroy during the join delay ends at once', async () => {
    const { net, live, newNode } = await network();
    const dht = newNode({ joinDelayMs: 60_000 });
    await net.runFor(10);
    await dht.destroy(); // no virtual time passes here: a wait on the timer would hang
    await expect(dht.ready).rejects.toThrow();
    expect(net.pendingEvents).toBeLessThan(50);
    await Promise.all(live.map((d) => d.destroy()));
  });

  it('rejects bad knownNodes and a negative joinDelayMs', () => {
    const net = new SimNetwork();
    const base = { transport: net.createTransport(), clock: net.clock, bootstrap: [] };
    expect(
      () => new DHT({ ...base, knownNodes: [{ id: new Uint8Array(19), host: '10.0.0.1', port: 1 }] })
    ).toThrow(InvalidArgumentError);
    expect(
      () => new DHT({ ...base, knownNodes: [{ id: new Uint8Array(20), host: '10.0.0.1', port: 0 }] })
    ).toThrow(InvalidArgumentError);
    expect(() => new DHT({ ...base, joinDelayMs: -1 })).toThrow(InvalidArgumentError);
  });
});
