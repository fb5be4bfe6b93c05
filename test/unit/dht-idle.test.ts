/**
 * What an idle node makes before it is used: the per-node structures most nodes never need
 * are made on first use (the heap per node, docs/benchmarks.md). Checked through public
 * behaviour: the injected random source, and the node still serving what it made late.
 */
import { describe, expect, it } from '@jest/globals';
import { SimNetwork } from '../../lib/testing/sim-network.js';
import { DHT } from '../../lib/dht/dht.js';
import { NodeCore } from '../../lib/dht/node-core.js';
import { decodeMessage, encodeQuery, encodeResponse } from '../../lib/krpc/codec.js';
import type { Message, Query } from '../../lib/krpc/types.js';
import { seededRandom, type RandomSource } from '../../lib/util/random.js';

/** A random source that counts the byte strings drawn from it. */
function counting(seed: number): RandomSource & { draws: number } {
  const inner = seededRandom(seed);
  const r = {
    draws: 0,
    int: (n: number) => inner.int(n),
    bytes: (n: number) => {
      r.draws++;
      return inner.bytes(n);
    }
  };
  return r;
}

describe('an idle DHT node', () => {
  it('draws no token secrets until a get_peers asks for a token, then serves the announce', async () => {
    const net = new SimNetwork({ seed: 5, latencyMs: 5 });
    const random = counting(11);
    const dht = new DHT({
      transport: net.createTransport(),
      clock: net.clock,
      random,
      nodeId: new Uint8Array(20).fill(7),
      bootstrap: []
    });
    await net.runUntil(() => false, 1);
    await dht.ready;
    await net.runFor(1000);
    expect(random.draws).toBe(0);

    const client = net.createTransport();
    const inbox: Message[] = [];
    client.onMessage((data) => {
      const d = decodeMessage(data);
      if (d.ok && d.message.type !== 'query') inbox.push(d.message);
    });
    const send = async (q: Query): Promise<void> => {
      client.send(encodeQuery(new Uint8Array([1, 2]), q, { readOnly: true }), dht.address());
      await net.runFor(50);
    };
    const id = new Uint8Array(20).fill(9);
    const infoHash = new Uint8Array(20).fill(3);
    await send({ method: 'get_peers', id, infoHash });
    expect(random.draws).toBeGreaterThan(0);
    const reply = inbox.at(-1);
    if (reply?.type !== 'response' || !reply.body.token) throw new Error('expected a token');
    await send({
      method: 'announce_peer',
      id,
      infoHash,
      port: 6881,
      token: reply.body.token,
      impliedPort: false
    });
    expect(inbox.at(-1)?.type).toBe('response');
    expect(dht.stats().storedPeers).toBe(1);
    await dht.destroy();
  });
});

describe("a node's shared core (NodeCore)", () => {
  it('makes its stores, token secrets and vote table on first use, not before', async () => {
    const net = new SimNetwork({ seed: 6, latencyMs: 5 });
    const core = new NodeCore(
      { clock: net.clock, random: seededRandom(12), nodeId: new Uint8Array(20).fill(7), bootstrap: [] },
      { emit: () => {} }
    );
    const transport = net.createTransport();
    core.bind(transport);
    core.markReady([]);
    await net.runFor(1000);
    expect(core.made()).toEqual({
      tokens: false,
      peers: false,
      items: false,
      externalIpVotes: false,
      rpcCounters: false,
      rtt: false
    });

    // A client that queries the node and answers its verification pings, telling it its address.
    const client = net.createTransport();
    client.onMessage((data, from) => {
      const d = decodeMessage(data);
      if (d.ok && d.message.type === 'query')
        client.send(encodeResponse(d.message.tid, { id }, { ip: { host: '1.2.3.4', port: 6881 } }), from);
    });
    const id = new Uint8Array(20).fill(9);
    const send = async (q: Query): Promise<void> => {
      client.send(encodeQuery(new Uint8Array([1, 2]), q, { readOnly: false }), transport.address());
      await net.runFor(100);
    };
    await send({ method: 'ping', id });
    // The node counted the ping and measured the round trip of its verification ping to us.
    expect(core.made()).toEqual({
      tokens: false,
      peers: false,
      items: false,
      externalIpVotes: true,
      rpcCounters: true,
      rtt: true
    });
    await send({ method: 'get_peers', id, infoHash: new Uint8Array(20).fill(3) });
    expect(core.made()).toMatchObject({ tokens: true, peers: true, items: false });
    await send({ method: 'get', id, target: new Uint8Array(20).fill(4) });
    expect(core.made()).toMatchObject({ tokens: true, peers: true, items: true });
    core.close();
  });

  it('resolves its `bound` promise whether asked before or after the node is ready', async () => {
    const net = new SimNetwork({ seed: 8 });
    const settled = (p: Promise<void>): Promise<boolean> =>
      Promise.race([p.then(() => true), new Promise<boolean>((r) => setImmediate(() => r(false)))]);
    // Asked before the node is ready: resolves at markReady.
    const early = new NodeCore({ clock: net.clock, bootstrap: [] }, { emit: () => {} });
    const waiting = early.bound;
    early.bind(net.createTransport());
    expect(await settled(waiting)).toBe(false);
    early.markReady([]);
    expect(await settled(waiting)).toBe(true);
    early.close();
    // Asked after: already resolved.
    const late = new NodeCore({ clock: net.clock, bootstrap: [] }, { emit: () => {} });
    late.bind(net.createTransport());
    late.markReady([]);
    expect(await settled(late.bound)).toBe(true);
    late.close();
    // Closed before it was ever bound: resolves, and ready() throws.
    const closed = new NodeCore({ clock: net.clock, bootstrap: [] }, { emit: () => {} });
    const pending = closed.bound;
    closed.close();
    expect(await settled(pending)).toBe(true);
    await expect(closed.ready()).rejects.toThrow();
  });

  it('makes a store at once when its options are given, so a bad option throws at construction', () => {
    const net = new SimNetwork({ seed: 7 });
    const core = new NodeCore({ clock: net.clock, maxStoredInfoHashes: 10 }, { emit: () => {} });
    expect(core.made().peers).toBe(true);
    expect(() => new NodeCore({ clock: net.clock, maxStoredInfoHashes: -1 }, { emit: () => {} })).toThrow();
    expect(() => new NodeCore({ clock: net.clock, tokenRotateMs: -1 }, { emit: () => {} })).toThrow();
  });
});
