/**
 * BEP 51 serving, checked against the spec with hand-made datagrams on the simulated network:
 * `samples` always present (even empty), `interval`, `num`, `nodes` near the target, replies
 * within 1024 bytes; plus the passive 'infohash' event for incoming get_peers/announce_peer.
 */
import { describe, expect, it } from '@jest/globals';
import { SimTestnet } from '../../lib/testing/testnet.js';
import { DHT } from '../../lib/dht/dht.js';
import { MAX_SAMPLES_PER_REPLY } from '../../lib/dht/server.js';
import { decodeMessage, encodeQuery, encodeResponse } from '../../lib/krpc/codec.js';
import type { Message, Query, ResponseMessage } from '../../lib/krpc/types.js';
import type { Transport } from '../../lib/net/transport.js';
import { compareDistance } from '../../lib/id/node-id.js';
import { seededRandom } from '../../lib/util/random.js';
import type { DhtOptions } from '../../lib/dht/options.js';
import { simNode } from '../support/node-probe.js';
import { toHex } from '../../lib/util/bytes.js';

async function setup(extra: Partial<DhtOptions> = {}) {
  const { net, dht, rnd } = await simNode(extra, { net: 5, random: 17 });
  const client = net.createTransport();
  const inbox: Message[] = [];
  const raw: Uint8Array[] = [];
  client.onMessage((data) => {
    const d = decodeMessage(data);
    if (d.ok && d.message.type !== 'query') {
      inbox.push(d.message);
      raw.push(data);
    }
  });
  const clientId = rnd.bytes(20);
  const send = async (q: Query, from: Transport = client): Promise<void> => {
    from.send(encodeQuery(new Uint8Array([7, 7]), q, { readOnly: true }), dht.address());
    await net.runFor(50);
  };
  const last = (): ResponseMessage => {
    const m = inbox.at(-1);
    if (!m || m.type !== 'response') throw new Error(`expected a response, got ${JSON.stringify(m)}`);
    return m;
  };
  /** announce_peer `ih` from a fresh address (get_peers first for the token). */
  const announceFromNewPeer = async (ih: Uint8Array): Promise<void> => {
    const t = net.createTransport();
    const got: Uint8Array[] = [];
    t.onMessage((d) => got.push(d));
    await send({ method: 'get_peers', id: clientId, infoHash: ih }, t);
    const d = decodeMessage(got[0]!);
    if (!d.ok || d.message.type !== 'response' || !d.message.body.token) throw new Error('no token');
    await send(
      {
        method: 'announce_peer',
        id: clientId,
        infoHash: ih,
        port: 6881,
        token: d.message.body.token,
        impliedPort: false
      },
      t
    );
  };
  return { net, dht, send, last, raw, clientId, rnd, announceFromNewPeer };
}

describe('sample_infohashes (BEP 51) served by our node', () => {
  it('always carries samples, even empty, with interval and num', async () => {
    const { dht, send, last, raw, clientId, rnd } = await setup({ sampleIntervalSeconds: 300 });
    await send({ method: 'sample_infohashes', id: clientId, target: rnd.bytes(20) });
    const r = last();
    expect(r.body.samples).toEqual([]);
    expect(r.body.num).toBe(0);
    expect(r.body.interval).toBe(300);
    // On the wire: an explicit zero-length string, not an absent key (BEP 51 forward compat).
    expect(Buffer.from(raw.at(-1)!).toString('latin1')).toContain('7:samples0:');
    await dht.destroy();
  });

  it('returns a random subset of at most 20 distinct stored infohashes and the true num', async () => {
    const { dht, send, last, clientId, rnd, announceFromNewPeer } = await setup();
    const stored = new Set<string>();
    for (let i = 0; i < 35; i++) {
      const ih = rnd.bytes(20);
      stored.add(toHex(ih));
      await announceFromNewPeer(ih);
    }
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) {
      await send({ method: 'sample_infohashes', id: clientId, target: rnd.bytes(20) });
      const r = last();
      expect(r.body.num).toBe(35);
      expect(r.body.interval).toBe(21600); // the default: BEP 51's maximum
      const hexes = r.body.samples!.map(toHex);
      expect(hexes).toHaveLength(MAX_SAMPLES_PER_REPLY);
      expect(new Set(hexes).size).toBe(hexes.length);
      for (const h of hexes) {
        expect(stored.has(h)).toBe(true);
        seen.add(h);
      }
    }
    expect(seen.size).toBeGreaterThan(MAX_SAMPLES_PER_REPLY); // a fresh sample per request
    await dht.destroy();
  });

  it('num counts only live infohashes: expired ones are neither sampled nor counted', async () => {
    const { dht, send, last, net, clientId, rnd, announceFromNewPeer } = await setup({
      peerTtlMs: 60_000,
      maintenanceIntervalMs: 3_600_000
    });
    await announceFromNewPeer(rnd.bytes(20));
    await announceFromNewPeer(rnd.bytes(20));
    await send({ method: 'sample_infohashes', id: clientId, target: rnd.bytes(20) });
    expect(last().body.num).toBe(2);
    await net.runFor(61_000);
    await send({ method: 'sample_infohashes', id: clientId, target: rnd.bytes(20) });
    expect(last().body.samples).toEqual([]);
    expect(last().body.num).toBe(0);
    await dht.destroy();
  });

  it('answers with the k closest nodes to the target it knows', async () => {
    const net = await SimTestnet.create({ size: 40, seed: 8, latencyMs: 5, settleMs: 10_000 });
    try {
      const node = net.nodes[3]!;
      const client = net.network.createTransport();
      const got: Message[] = [];
      client.onMessage((d) => {
        const m = decodeMessage(d);
        if (m.ok && m.message.type === 'response') got.push(m.message);
      });
      const rnd = seededRandom(4);
      for (let i = 0; i < 5; i++) {
        const target = rnd.bytes(20);
        const expected = node
          .nodes()
          .sort((a, b) => compareDistance(target, a.id, b.id))
          .slice(0, 8)
          .map((n) => toHex(n.id));
        client.send(
          encodeQuery(
            new Uint8Array([1, i]),
            { method: 'sample_infohashes', id: rnd.bytes(20), target },
            { readOnly: true }
          ),
          node.address()
        );
        await net.network.runFor(50);
        const r = got.at(-1) as ResponseMessage;
        expect(r.body.nodes!.map((n) => toHex(n.id))).toEqual(expected);
      }
    } finally {
      await net.destroy();
    }
  });

  it('fits in 1024 bytes in the worst case: 20 samples, 8 IPv6 nodes, longest tid, ip, v', () => {
    const rnd = seededRandom(1);
    const nodes = Array.from({ length: 8 }, (_, i) => ({
      id: rnd.bytes(20),
      host: `2001:db8:ffff:ffff:ffff:ffff:ffff:${(0xff00 + i).toString(16)}`,
      port: 65535
    }));
    const data = encodeResponse(
      rnd.bytes(16),
      {
        id: rnd.bytes(20),
        interval: 21600,
        num: Number.MAX_SAFE_INTEGER,
        samples: Array.from({ length: MAX_SAMPLES_PER_REPLY }, () => rnd.bytes(20)),
        nodes
      },
      { ip: { host: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 65535 }, version: new Uint8Array(4) }
    );
    expect(data.length).toBeLessThanOrEqual(1024);
  });
});

describe("DHT 'infohash' event (passive indexing)", () => {
  it('reports infohashes of incoming get_peers and of accepted announce_peer only', async () => {
    const { dht, send, clientId, rnd, announceFromNewPeer } = await setup();
    const events: Array<[string, string, number]> = [];
    dht.on('infohash', (ih, kind, from) => events.push([toHex(ih), kind, from.port]));
    const a = rnd.bytes(20);
    const b = rnd.bytes(20);
    await send({ method: 'get_peers', id: clientId, infoHash: a });
    // A forged announce (bad token) is refused and not reported.
    await send({
      method: 'announce_peer',
      id: clientId,
      infoHash: b,
      port: 1,
      token: new Uint8Array([9]),
      impliedPort: false
    });
    expect(events.map(([h, k]) => [h, k])).toEqual([[toHex(a), 'get_peers']]);
    await announceFromNewPeer(b);
    expect(events.map(([h, k]) => [h, k])).toEqual([
      [toHex(a), 'get_peers'],
      [toHex(b), 'get_peers'],
      [toHex(b), 'announce_peer']
    ]);
    await dht.destroy();
  });
});

describe('DHT.sampleInfohashes (BEP 51 client side)', () => {
  it('tells a node without BEP 51 (find_node-style answer) from one with nothing stored', async () => {
    const { net, dht, rnd } = await setup();
    // A node that answers every query like find_node: id and nodes, no samples/num/interval.
    const legacy = net.createTransport();
    const legacyId = rnd.bytes(20);
    legacy.onMessage((data, from) => {
      const d = decodeMessage(data);
      if (d.ok && d.message.type === 'query')
        legacy.send(encodeResponse(d.message.tid, { id: legacyId, nodes: [] }), from);
    });
    const asked = dht.sampleInfohashes(legacy.address(), rnd.bytes(20));
    await net.runFor(100);
    const r = await asked;
    expect(r.supported).toBe(false);
    expect(r.samples).toEqual([]);
    // Our own node supports it, with nothing stored: supported, empty.
    const other = new DHT({ transport: net.createTransport(), clock: net.clock, random: rnd, bootstrap: [] });
    await net.runFor(1);
    await other.ready;
    const own = dht.sampleInfohashes(other.address(), rnd.bytes(20));
    await net.runFor(100);
    const r2 = await own;
    expect(r2.supported).toBe(true);
    expect(r2.samples).toEqual([]);
    await other.destroy();
    await dht.destroy();
  });
});
