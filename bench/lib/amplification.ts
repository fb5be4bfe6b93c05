/**
 * Bytes our node sends per byte it receives, for every kind of datagram, at their worst: the
 * smallest query a spoofer can send (1-byte transaction id, no optional keys) against a node
 * with a full neighbourhood in its table, 50+ peers stored for the infohash asked about, and
 * infohashes to sample, and a BEP 44 item of the largest value (1000 bytes) stored. Built through the public path only, on the simulated network: other
 * nodes join, announcers get tokens and announce. Shared by test/unit/amplification.test.ts
 * (which asserts the bounds) and bench/dht-flood.ts (which prints the table).
 */
import bencode from 'bencode';
import { SimNetwork } from '../../lib/testing/sim-network.js';
import { DHT } from '../../lib/dht/dht.js';
import { decodeMessage, encodeQuery } from '../../lib/krpc/codec.js';
import type { Query } from '../../lib/krpc/types.js';
import type { Transport } from '../../lib/net/transport.js';
import { seededRandom } from '../../lib/util/random.js';
import { immutableTarget } from '../../lib/item/item.js';

export interface AmplificationRow {
  datagram: string;
  queryBytes: number;
  /** Bytes of everything the node sent back (0: no answer). */
  replyBytes: number;
  ratio: number;
}

export async function measureAmplification(): Promise<AmplificationRow[]> {
  const net = new SimNetwork({ seed: 8, latencyMs: 2 });
  const rnd = seededRandom(21);
  const victim = new DHT({
    transport: net.createTransport(),
    clock: net.clock,
    random: seededRandom(1),
    bootstrap: [],
    inboundLimits: false
  });
  const helpers: DHT[] = [];
  try {
    await net.runWork(victim.ready, 5_000);
    for (let i = 0; i < 40; i++)
      helpers.push(
        new DHT({
          transport: net.createTransport(),
          clock: net.clock,
          random: seededRandom(100 + i),
          bootstrap: [victim.address()]
        })
      );
    await net.runWork(Promise.all(helpers.map((h) => h.ready)), 60_000);
    const ih = rnd.bytes(20);
    const ask = async (from: Transport, data: Uint8Array): Promise<Uint8Array[]> => {
      const got: Uint8Array[] = [];
      from.onMessage((d) => {
        const m = decodeMessage(d);
        if (!m.ok || m.message.type !== 'query') got.push(d); // not the node's verification pings
      });
      from.send(data, victim.address());
      await net.runFor(20);
      return got;
    };
    const tid = new Uint8Array([0x61]);
    const id = rnd.bytes(20);
    const query = (q: Query): Uint8Array => encodeQuery(tid, q);
    // 60 announcers for `ih` (values are capped at 50 per reply); one of them also announces
    // 40 more infohashes so sample_infohashes has a full sample to give.
    let token: Uint8Array = new Uint8Array(0);
    let announcer = net.createTransport();
    for (let a = 0; a < 60; a++) {
      const t = (announcer = net.createTransport());
      const reply = await ask(t, query({ method: 'get_peers', id, infoHash: ih }));
      const d = decodeMessage(reply[0]!);
      if (!d.ok || d.message.type !== 'response' || !d.message.body.token) throw new Error('no token');
      token = d.message.body.token;
      const extra = a === 0 ? 40 : 0;
      for (let j = 0; j <= extra; j++) {
        const infoHash = j === 0 ? ih : rnd.bytes(20);
        await ask(t, query({ method: 'announce_peer', id, infoHash, port: 6881, token, impliedPort: false }));
      }
    }
    // The largest immutable BEP 44 item (a 1000-byte value) stored through an ordinary put.
    const big = bencode.encode('x'.repeat(995)) as Uint8Array;
    const itemAt = immutableTarget(big);
    const putter = net.createTransport();
    const got = decodeMessage((await ask(putter, query({ method: 'get', id, target: itemAt })))[0]!);
    if (!got.ok || got.message.type !== 'response' || !got.message.body.token) throw new Error('no token');
    await ask(putter, query({ method: 'put', id, token: got.message.body.token, v: big }));
    const cases: Array<[string, Uint8Array]> = [
      ['ping', query({ method: 'ping', id })],
      ['find_node', query({ method: 'find_node', id, target: rnd.bytes(20) })],
      ['get_peers (50 peers stored)', query({ method: 'get_peers', id, infoHash: ih })],
      ['get_peers (none stored)', query({ method: 'get_peers', id, infoHash: rnd.bytes(20) })],
      ['get_peers with BEP 33 scrape', query({ method: 'get_peers', id, infoHash: ih, scrape: true })],
      [
        'announce_peer (bad token: error 203)',
        query({
          method: 'announce_peer',
          id,
          infoHash: ih,
          port: 1,
          token: new Uint8Array([1]),
          impliedPort: false
        })
      ],
      ['BEP 44 get (1000-byte item stored)', query({ method: 'get', id, target: itemAt })],
      ['BEP 44 get (nothing stored)', query({ method: 'get', id, target: rnd.bytes(20) })],
      [
        'BEP 44 put (bad token: error 203)',
        query({ method: 'put', id, token: new Uint8Array([1]), v: new Uint8Array([0x30, 0x3a]) })
      ],
      ['sample_infohashes', query({ method: 'sample_infohashes', id, target: rnd.bytes(20) })],
      ['unknown method with a target', query({ method: 'unknown', name: 'x', id, target: rnd.bytes(20) })],
      ['unknown method without target (204)', query({ method: 'unknown', name: 'x', id })],
      ['bad arguments (203)', bencode.encode({ t: 'a', y: 'q', q: 'get_peers', a: { id: Buffer.from(id) } })],
      ['garbage / truncated bencode', new Uint8Array([0x64, 0x31, 0x3a, 0x74])],
      ['reply with an unknown transaction', bencode.encode({ t: 'a', y: 'r', r: { id: Buffer.from(id) } })]
    ];
    const rows: AmplificationRow[] = [];
    const valid = query({ method: 'announce_peer', id, infoHash: ih, port: 6881, token, impliedPort: false });
    const validReply = await ask(announcer, valid);
    rows.push(row('announce_peer (valid token)', valid, validReply));
    for (const [datagram, data] of cases) {
      rows.push(row(datagram, data, await ask(net.createTransport(), data)));
    }
    return rows;
  } finally {
    await Promise.all([victim, ...helpers].map((d) => d.destroy()));
  }
}

function row(datagram: string, query: Uint8Array, replies: Uint8Array[]): AmplificationRow {
  const replyBytes = replies.reduce((sum, r) => sum + r.length, 0);
  return { datagram, queryBytes: query.length, replyBytes, ratio: replyBytes / query.length };
}
