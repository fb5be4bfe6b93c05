/**
 * Seeded fuzzing of the KRPC codec and of a DHT node's inbound path: datagrams that are valid,
 * nearly valid (valid ones mutated: bit flips, cuts, duplications, length prefixes rewritten,
 * splices of two messages, deep nesting, huge integers) and random bencode with KRPC's keys.
 * Cheap enough for millions of cases (scripts/fuzz-dht.ts); the CI test runs a few thousand
 * (test/unit/fuzz-krpc.test.ts). Deterministic for a seed, so a failure replays.
 */
import bencode from 'bencode';
import { decodeMessage, encodeError, encodeQuery, encodeResponse } from '../../lib/krpc/codec.js';
import type { DecodeResult, Message, Query, ResponseBody } from '../../lib/krpc/types.js';
import { seededRandom, type RandomSource } from '../../lib/util/random.js';
import { SimNetwork } from '../../lib/testing/sim-network.js';
import { DHT } from '../../lib/dht/dht.js';
import type { DhtStats } from '../../lib/dht/types.js';
import type { Transport } from '../../lib/net/transport.js';

const KEYS = [
  't',
  'y',
  'q',
  'a',
  'r',
  'e',
  'id',
  'target',
  'info_hash',
  'nodes',
  'nodes6',
  'values',
  'token',
  'port',
  'implied_port',
  'want',
  'samples',
  'num',
  'interval',
  'ip',
  'ro',
  'v',
  'seed',
  'noseed',
  'scrape',
  'BFsd',
  'BFpe',
  'k',
  'sig',
  'seq',
  'salt',
  'cas',
  '__proto__'
];
const METHODS = [
  'ping',
  'find_node',
  'get_peers',
  'announce_peer',
  'sample_infohashes',
  'get',
  'put',
  'vote',
  'x'
];

/** Valid datagrams of every kind, to mutate. */
export function validDatagrams(rnd: RandomSource): Uint8Array[] {
  const id = rnd.bytes(20);
  const t = rnd.bytes(1 + rnd.int(4));
  const queries: Query[] = [
    { method: 'ping', id },
    { method: 'find_node', id, target: rnd.bytes(20), want: ['n4', 'n6'] },
    { method: 'get_peers', id, infoHash: rnd.bytes(20), noseed: true },
    {
      method: 'announce_peer',
      id,
      infoHash: rnd.bytes(20),
      port: 1 + rnd.int(65535),
      token: rnd.bytes(8),
      impliedPort: true,
      seed: true
    },
    { method: 'sample_infohashes', id, target: rnd.bytes(20) },
    { method: 'get_peers', id, infoHash: rnd.bytes(20), scrape: true },
    { method: 'get', id, target: rnd.bytes(20), seq: rnd.int(100) },
    { method: 'put', id, token: rnd.bytes(8), v: bencode.encode('hello') as Uint8Array },
    {
      method: 'put',
      id,
      token: rnd.bytes(8),
      v: bencode.encode({ a: 1 }) as Uint8Array,
      k: rnd.bytes(32),
      sig: rnd.bytes(64),
      seq: rnd.int(1000),
      salt: rnd.bytes(rnd.int(70)),
      cas: rnd.int(1000)
    },
    { method: 'unknown', name: 'vote', id, target: rnd.bytes(20) }
  ];
  const body: ResponseBody = {
    id,
    nodes: [{ id: rnd.bytes(20), host: '1.2.3.4', port: 6881 }],
    nodes6: [{ id: rnd.bytes(20), host: '2001:db8::1', port: 6881 }],
    values: [{ host: '5.6.7.8', port: 51413 }],
    token: rnd.bytes(8),
    samples: [rnd.bytes(20), rnd.bytes(20)],
    num: 2,
    interval: 60
  };
  return [
    ...queries.map((q) => encodeQuery(t, q, { readOnly: rnd.int(2) === 0, version: rnd.bytes(4) })),
    encodeResponse(t, body, { ip: { host: '9.9.9.9', port: 1 }, version: rnd.bytes(4) }),
    encodeResponse(t, { id }),
    encodeResponse(t, {
      id,
      token: rnd.bytes(8),
      v: bencode.encode('x'.repeat(rnd.int(1100))) as Uint8Array,
      k: rnd.bytes(32),
      sig: rnd.bytes(64),
      seq: rnd.int(1000)
    }),
    encodeResponse(t, { id, BFsd: rnd.bytes(256), BFpe: rnd.bytes(256) }),
    encodeError(t, 201, 'A Generic Error Ocurred')
  ];
}

/** One fuzzed datagram: a valid one, a mutated one, a splice of two, or random KRPC-shaped bencode. */
export function fuzzDatagram(rnd: RandomSource, seeds: Uint8Array[]): Uint8Array {
  const pick = rnd.int(10);
  if (pick < 1) return seeds[rnd.int(seeds.length)]!; // some valid traffic keeps every layer busy
  if (pick < 6) return mutate(rnd, seeds[rnd.int(seeds.length)]!, 1 + rnd.int(4));
  if (pick < 7) {
    const a = seeds[rnd.int(seeds.length)]!;
    const b = seeds[rnd.int(seeds.length)]!;
    return concat(a.subarray(0, rnd.int(a.length + 1)), b.subarray(rnd.int(b.length + 1)));
  }
  if (pick < 9) return bencode.encode(randomValue(rnd, 0, true));
  return rnd.bytes(rnd.int(64));
}

function mutate(rnd: RandomSource, input: Uint8Array, times: number): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input);
  for (let n = 0; n < times; n++) {
    const i = rnd.int(b.length + 1);
    switch (rnd.int(8)) {
      case 0:
        if (i < b.length) b[i] = b[i]! ^ (1 << rnd.int(8));
        break;
      case 1:
        if (i < b.length) b[i] = rnd.int(256);
        break;
      case 2:
        b = b.subarray(0, i); // truncation
        break;
      case 3:
        b = concat(b.subarray(0, i), b.subarray(i + 1 + rnd.int(8)));
        break;
      case 4:
        b = concat(b.subarray(0, i), b.subarray(Math.max(0, i - rnd.int(16)), i), b.subarray(i));
        break;
      case 5: {
        // Rewrite the length prefix of a string: too long, too short, huge, negative, leading zero.
        const colon = b.indexOf(0x3a, i);
        if (colon < 0) break;
        let start = colon;
        while (start > 0 && b[start - 1]! >= 0x30 && b[start - 1]! <= 0x39) start--;
        const lens = ['0', '1', '99999999999', '-1', '020', String(rnd.int(300))];
        b = concat(b.subarray(0, start), ascii(lens[rnd.int(lens.length)]!), b.subarray(colon));
        break;
      }
      case 6: {
        const depth = 1 + rnd.int(40);
        b = concat(b.subarray(0, i), ascii('l'.repeat(depth)), b.subarray(i));
        break;
      }
      default: {
        const ints = ['i-0e', 'i00e', 'i99999999999999999999999e', 'i-9223372036854775809e', 'ie', 'i1'];
        b = concat(b.subarray(0, i), ascii(ints[rnd.int(ints.length)]!), b.subarray(i));
      }
    }
  }
  return b;
}

type Value = number | Uint8Array | Value[] | { [k: string]: Value };

function randomValue(rnd: RandomSource, depth: number, top = false): Value {
  const kind = top ? 3 : rnd.int(depth > 4 ? 2 : 4);
  if (kind === 0) return [0, 1, -1, 65535, 65536, 2 ** 53, -(2 ** 31)][rnd.int(7)]!;
  if (kind === 1) {
    const lens = [0, 1, 2, 4, 6, 18, 20, 26, 38, 52, 300];
    const len = lens[rnd.int(lens.length)]!;
    return rnd.int(3) === 0 ? ascii(METHODS[rnd.int(METHODS.length)]!) : rnd.bytes(len);
  }
  if (kind === 2) return Array.from({ length: rnd.int(5) }, () => randomValue(rnd, depth + 1));
  const d: { [k: string]: Value } = {};
  const n = top ? 3 + rnd.int(4) : rnd.int(5);
  for (let i = 0; i < n; i++) d[KEYS[rnd.int(KEYS.length)]!] = randomValue(rnd, depth + 1);
  if (top && rnd.int(2) === 0) d.y = ascii(['q', 'r', 'e'][rnd.int(3)]!);
  if (top && rnd.int(2) === 0) d.q = ascii(METHODS[rnd.int(METHODS.length)]!);
  return d;
}

/**
 * The codec's contract on one datagram: decoding returns a well-formed result (never throws),
 * and a message it accepts encodes again to bytes that decode to the same message. Returns an
 * error description, or null when the contract holds.
 */
export function checkCodec(data: Uint8Array): string | null {
  let result: DecodeResult;
  try {
    result = decodeMessage(data);
  } catch (err) {
    return `decodeMessage threw: ${String(err)}`;
  }
  if (typeof result !== 'object' || result === null || typeof result.ok !== 'boolean')
    return 'malformed result';
  if (!result.ok) return typeof result.reason === 'string' ? null : 'no reason';
  let again: DecodeResult;
  try {
    again = decodeMessage(encode(result.message));
  } catch (err) {
    return `re-encoding an accepted message threw: ${String(err)}`;
  }
  if (!again.ok) return `re-encoded message rejected: ${again.reason}`;
  return sameMessage(result.message, again.message) ? null : 'round trip changed the message';
}

function encode(m: Message): Uint8Array {
  if (m.type === 'query')
    return encodeQuery(m.tid, m.query, {
      readOnly: m.readOnly,
      ...(m.version ? { version: m.version } : {})
    });
  if (m.type === 'response') return encodeResponse(m.tid, m.body, { ip: m.ip, version: m.version });
  return encodeError(m.tid, m.code, m.message);
}

function sameMessage(a: Message, b: Message): boolean {
  return JSON.stringify(a, replacer) === JSON.stringify(b, replacer);
}

/** Bytes as hex, whether a Uint8Array or a Buffer (whose toJSON runs before a replacer sees it). */
function replacer(this: Record<string, unknown>, key: string, v: unknown): unknown {
  const raw = this[key];
  return raw instanceof Uint8Array ? Buffer.from(raw).toString('hex') : v;
}

function ascii(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface NodeFuzzOptions {
  seed: number;
  /** Datagrams to deliver. */
  cases: number;
  /** Distinct source addresses (more than the limiter tracks exercises its bound). */
  sources: number;
  /** Per-IP limits on (their table is exercised) or exempt (every datagram reaches the decoder). */
  limits: 'on' | 'exempt';
  /** Called every `every` cases with the count so far (memory sampling). */
  progress?: (done: number) => void;
  every?: number;
}

export interface NodeFuzzResult {
  delivered: number;
  largestSent: number;
  stats: DhtStats;
  /** The node still answered a valid ping afterwards. */
  aliveAfter: boolean;
}

/**
 * A DHT node on the simulated network receives `cases` fuzzed datagrams from `sources`
 * addresses (1,000 per virtual second, under the global cap). The caller checks the result:
 * nothing escaped (this resolves), every datagram it sent fit in 1024 bytes, its tables stayed
 * bounded, and it still answers.
 */
export async function fuzzNode(o: NodeFuzzOptions): Promise<NodeFuzzResult> {
  const rnd = seededRandom(o.seed);
  const net = new SimNetwork({ seed: o.seed, latencyMs: 1 });
  const node = new DHT({
    transport: net.createTransport('203.0.113.1', 6881),
    clock: net.clock,
    random: seededRandom(o.seed + 1),
    bootstrap: [],
    inboundLimits: { exempt: o.limits === 'on' ? 'loopback' : 'local' },
    maxBytesPerSecond: 0
  });
  let largestSent = 0;
  net.onSend = (from, _to, data) => {
    if (from.host === '203.0.113.1') largestSent = Math.max(largestSent, data.length);
  };
  try {
    await net.runWork(node.ready, 5_000);
    const seeds = validDatagrams(rnd);
    // Every source exists before the first datagram (so the caller's memory samples see the
    // node, not the rig, grow). Half of them answer the node's verification pings, so its
    // routing table fills as it would.
    const sources: Transport[] = [];
    for (let i = 0; i < o.sources; i++) {
      // Public-looking addresses (the limiter's table applies) or 10/8 (exempt with 'local').
      const host =
        o.limits === 'on' ? `100.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${(i & 0xff) + 1}` : undefined;
      const t = host ? net.createTransport(host, 6881) : net.createTransport();
      const id = rnd.bytes(20);
      const answers = i % 2 === 0;
      t.onMessage((d, from) => {
        const m = decodeMessage(d);
        if (answers && m.ok && m.message.type === 'query')
          t.send(encodeResponse(m.message.tid, { id }), from);
      });
      sources.push(t);
    }
    // A tenth of the traffic comes from two hot sources (over the per-IP rate: they get limited).
    const source = (): Transport => sources[rnd.int(10) === 0 ? rnd.int(2) : rnd.int(sources.length)]!;
    const every = o.every ?? 100_000;
    for (let done = 0; done < o.cases;) {
      const batch = Math.min(100, o.cases - done);
      for (let j = 0; j < batch; j++) source().send(fuzzDatagram(rnd, seeds), node.address());
      done += batch;
      await net.runFor(100);
      if (o.progress && done % every < batch) o.progress(done);
    }
    await net.runFor(5_000);
    const probe = net.createTransport('192.0.2.200', 7000);
    let aliveAfter = false;
    probe.onMessage((d) => {
      const m = decodeMessage(d);
      if (m.ok && m.message.type === 'response') aliveAfter = true;
    });
    probe.send(encodeQuery(new Uint8Array([1]), { method: 'ping', id: rnd.bytes(20) }), node.address());
    await net.runFor(100);
    return { delivered: o.cases, largestSent, stats: node.stats(), aliveAfter };
  } finally {
    await node.destroy();
  }
}
