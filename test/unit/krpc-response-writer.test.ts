import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import bencode from 'bencode';
import { writeResponse } from '../../lib/krpc/response-writer.js';
import { encodeCompactNodes } from '../../lib/krpc/compact.js';
import { encodeCompactAddress } from '../../lib/net/compact-address.js';
import { formatIp, ipFamily, packIp } from '../../lib/net/ip.js';
import type { Address } from '../../lib/net/address.js';
import type { NodeInfo, PackedNodeInfo, ResponseBody } from '../../lib/krpc/types.js';
import { RoutingTable } from '../../lib/routing/routing-table.js';

/**
 * The reference: the response as a generic dictionary (the pre-writer encodeResponse, key for
 * key) through bencode.encode. The writer must produce exactly these bytes.
 */
function reference(tid: Uint8Array, body: ResponseBody, ip?: Address, version?: Uint8Array): Uint8Array {
  const r: Record<string, unknown> = { id: body.id };
  const all = [...(body.nodes ?? []), ...(body.nodes6 ?? [])];
  const v4 = all.filter((n) => ipFamily(n.host) === 4);
  const v6 = all.filter((n) => ipFamily(n.host) === 6);
  if (v4.length > 0 || body.nodes?.length === 0) r.nodes = encodeCompactNodes(v4, 4);
  if (v6.length > 0 || body.nodes6?.length === 0) r.nodes6 = encodeCompactNodes(v6, 6);
  if (body.values !== undefined) r.values = body.values.map((p) => encodeCompactAddress(p));
  if (body.token !== undefined) r.token = body.token;
  if (body.samples !== undefined) r.samples = Buffer.concat(body.samples);
  if (body.num !== undefined) r.num = body.num;
  if (body.interval !== undefined) r.interval = body.interval;
  if (body.BFsd !== undefined) r.BFsd = body.BFsd;
  if (body.BFpe !== undefined) r.BFpe = body.BFpe;
  if (body.k !== undefined) r.k = body.k;
  if (body.sig !== undefined) r.sig = body.sig;
  if (body.seq !== undefined) r.seq = body.seq;
  if (body.v !== undefined) r.v = bencode.decode(Buffer.from(body.v)) as unknown;
  const msg: Record<string, unknown> = { t: tid, y: 'r', r };
  if (ip && ipFamily(ip.host) !== undefined && ip.port >= 1 && ip.port <= 65535)
    msg.ip = encodeCompactAddress(ip);
  if (version !== undefined) msg.v = version;
  return bencode.encode(msg);
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

const id20 = fc.uint8Array({ minLength: 20, maxLength: 20 });
const port = fc.integer({ min: 1, max: 65535 });
/** Edge addresses included: 0.0.0.0, 255.255.255.255 (sign bit of the packed form), ::, ::ffff:a.b.c.d. */
const host4 = fc.oneof(
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map(formatIp),
  fc.constantFrom('0.0.0.0', '255.255.255.255', '128.0.0.1', '127.0.0.1')
);
const host6 = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map(formatIp),
  fc.constantFrom('::', '::1', '::ffff:1.2.3.4', 'fe80::1')
);
/** A node either as plain NodeInfo (host parsed by the writer) or with its packed address (a contact). */
const node = (host: fc.Arbitrary<string>): fc.Arbitrary<NodeInfo> =>
  fc
    .tuple(fc.record({ id: id20, host, port }), fc.boolean())
    .map(([n, packed]) => (packed ? ({ ...n, packedIp: packIp(n.host) } satisfies PackedNodeInfo) : n));
const nodes = fc.array(fc.oneof(node(host4), node(host6)), { maxLength: 10 });

const bodyArb: fc.Arbitrary<ResponseBody> = fc.record(
  {
    id: id20,
    nodes,
    nodes6: nodes,
    values: fc.array(fc.record({ host: fc.oneof(host4, host6), port }), { maxLength: 12 }),
    token: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    samples: fc.array(id20, { maxLength: 10 }),
    num: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
    interval: fc.nat({ max: 21600 }),
    BFsd: fc.uint8Array({ minLength: 256, maxLength: 256 }),
    BFpe: fc.uint8Array({ minLength: 256, maxLength: 256 }),
    k: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    sig: fc.uint8Array({ minLength: 64, maxLength: 64 }),
    seq: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
    // A BEP 44 value, already bencoded (a byte string or an integer here).
    v: fc
      .oneof(
        fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
        fc.integer()
      )
      .map((x) => new Uint8Array(bencode.encode(x)))
  },
  { requiredKeys: ['id'] }
);
const tidArb = fc.uint8Array({ minLength: 1, maxLength: 16 });
const ipArb = fc.option(
  fc.record({
    host: fc.oneof(host4, host6, fc.constant('not-an-ip')),
    port: fc.integer({ min: 0, max: 65536 })
  }),
  { nil: undefined }
);
const versionArb = fc.option(fc.uint8Array({ maxLength: 16 }), { nil: undefined });

describe('KRPC response writer', () => {
  it('writes exactly the bytes of bencode.encode for random responses (IPv4/IPv6, packed or not, values, empty lists)', () => {
    fc.assert(
      fc.property(tidArb, bodyArb, ipArb, versionArb, (tid, body, ip, version) => {
        expect(same(writeResponse(tid, body, ip, version), reference(tid, body, ip, version))).toBe(true);
      }),
      { numRuns: 2000, seed: 11 }
    );
  });

  it('writes the common replies byte for byte (ping, find_node, get_peers with token and values)', () => {
    const tid = Buffer.from('aa');
    const id = Buffer.from('mnopqrstuvwxyz123456');
    const ip = { host: '1.2.3.4', port: 6881 };
    const v = Buffer.from('TR01');
    const n = { id: Buffer.from('abcdefghij0123456789'), host: '10.0.0.1', port: 1 };
    const packed: PackedNodeInfo = { ...n, packedIp: packIp(n.host) };
    const cases: ResponseBody[] = [
      { id },
      { id, nodes: [n, packed] },
      { id, nodes: [] },
      {
        id,
        token: Buffer.from('tok'),
        nodes: [n],
        values: [
          { host: '1.1.1.1', port: 2 },
          { host: '::1', port: 3 }
        ]
      },
      { id, token: Buffer.from('tok'), values: [] }
    ];
    for (const body of cases)
      expect(same(writeResponse(tid, body, ip, v), reference(tid, body, ip, v))).toBe(true);
    expect(Buffer.from(writeResponse(tid, { id }, ip)).toString('latin1')).toBe(
      'd2:ip6:\x01\x02\x03\x04\x1a\xe11:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re'
    );
  });

  it('uses routing-table contacts as they are, and their packed address follows an address change', () => {
    const table = new RoutingTable({ localId: new Uint8Array(20), owner: { now: () => 1_000_000 } });
    const id = new Uint8Array(20).fill(0x80);
    table.restore({ id, host: '10.0.0.1', port: 1000 }); // questionable: may move to a new address
    table.nodeSeen({ id, host: '::1', port: 2000 });
    const c = table.get(id)!;
    expect(c.packedIp).toEqual(packIp('::1'));
    const tid = Buffer.from('aa');
    const body = { id, nodes: table.closest(id, 8) };
    expect(
      same(writeResponse(tid, body), reference(tid, { id, nodes: [{ id, host: '::1', port: 2000 }] }))
    ).toBe(true);
  });

  it('validates like the generic path', () => {
    const tid = Buffer.from('aa');
    const id = new Uint8Array(20);
    expect(() => writeResponse(tid, { id: new Uint8Array(19) })).toThrow(/id/);
    expect(() => writeResponse(tid, { id, nodes: [{ id, host: 'host.example', port: 1 }] })).toThrow(
      /IP literal/
    );
    expect(() =>
      writeResponse(tid, { id, nodes: [{ id: new Uint8Array(3), host: '1.2.3.4', port: 1 }] })
    ).toThrow(/20 bytes/);
    expect(() => writeResponse(tid, { id, nodes: [{ id, host: '1.2.3.4', port: 0 }] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_PORT' })
    );
    expect(() => writeResponse(tid, { id, values: [{ host: 'x', port: 1 }] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ADDRESS' })
    );
    expect(() => writeResponse(tid, { id, token: new Uint8Array(0) })).toThrow(/token/);
    expect(() => writeResponse(tid, { id, num: -1 })).toThrow(/num/);
    expect(() => writeResponse(tid, { id, interval: 1.5 })).toThrow(/interval/);
    expect(() => writeResponse(tid, { id, samples: [new Uint8Array(3)] })).toThrow(/sample/);
    expect(() => writeResponse(new Uint8Array(0), { id })).toThrow(/tid/);
    expect(() => writeResponse(tid, { id }, undefined, new Uint8Array(17))).toThrow(/version/);
  });
});
