import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import bencode from 'bencode';
import { decodeMessage, encodeError, encodeQuery, encodeResponse } from '../../lib/krpc/codec.js';
import { encodeCompactNodes } from '../../lib/krpc/compact.js';
import { formatIp } from '../../lib/net/ip.js';
import type { DecodeResult, Message, NodeInfo, Query, ResponseBody } from '../../lib/krpc/types.js';
import { MAX_DATAGRAM_RECV_BYTES } from '../../lib/constants.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const str = (u: Uint8Array): string => Buffer.from(u).toString('latin1');
const tid = b('aa');
const ID_A = b('abcdefghij0123456789');
const ID_M = b('mnopqrstuvwxyz123456');

function ok(result: DecodeResult): Message {
  if (!result.ok) throw new Error(`expected ok, got: ${result.reason}`);
  return result.message;
}
const decodeStr = (s: string): DecodeResult => decodeMessage(b(s));
/** A rejected datagram: reason given, and queryTid only when we should answer 203. */
function expectReject(s: string | Uint8Array, withTid?: string): void {
  const r = typeof s === 'string' ? decodeStr(s) : decodeMessage(s);
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.reason.length).toBeGreaterThan(0);
  expect(r.queryTid === undefined ? undefined : str(r.queryTid)).toBe(withTid);
}
/** A valid announce_peer datagram with the given args spliced in (keys must stay sorted). */
const announce = (args: string): string =>
  `d1:ad2:id20:abcdefghij0123456789${args}e1:q13:announce_peer1:t2:aa1:y1:qe`;

describe('BEP 5 example packets', () => {
  const vectors: Array<[string, string, () => Uint8Array, Message]> = [
    [
      'ping query',
      'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe',
      () => encodeQuery(tid, { method: 'ping', id: ID_A }),
      { type: 'query', tid, query: { method: 'ping', id: ID_A }, readOnly: false }
    ],
    [
      'ping response',
      'd1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re',
      () => encodeResponse(tid, { id: ID_M }),
      { type: 'response', tid, body: { id: ID_M } }
    ],
    [
      'find_node query',
      'd1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe',
      () => encodeQuery(tid, { method: 'find_node', id: ID_A, target: ID_M }),
      { type: 'query', tid, query: { method: 'find_node', id: ID_A, target: ID_M }, readOnly: false }
    ],
    [
      'get_peers query',
      'd1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe',
      () => encodeQuery(tid, { method: 'get_peers', id: ID_A, infoHash: ID_M }),
      { type: 'query', tid, query: { method: 'get_peers', id: ID_A, infoHash: ID_M }, readOnly: false }
    ],
    [
      'get_peers response with peers',
      'd1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re',
      () =>
        encodeResponse(tid, {
          id: ID_A,
          token: b('aoeusnth'),
          values: [
            { host: '97.120.106.101', port: 11893 },
            { host: '105.100.104.116', port: 28269 }
          ]
        }),
      {
        type: 'response',
        tid,
        body: {
          id: ID_A,
          token: b('aoeusnth'),
          values: [
            { host: '97.120.106.101', port: 11893 },
            { host: '105.100.104.116', port: 28269 }
          ]
        }
      }
    ],
    [
      'announce_peer query',
      'd1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe',
      () =>
        encodeQuery(tid, {
          method: 'announce_peer',
          id: ID_A,
          infoHash: ID_M,
          port: 6881,
          token: b('aoeusnth'),
          impliedPort: true
        }),
      {
        type: 'query',
        tid,
        query: {
          method: 'announce_peer',
          id: ID_A,
          infoHash: ID_M,
          port: 6881,
          token: b('aoeusnth'),
          impliedPort: true
        },
        readOnly: false
      }
    ],
    [
      'generic error',
      'd1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee',
      () => encodeError(tid, 201, 'A Generic Error Ocurred'),
      { type: 'error', tid, code: 201, message: 'A Generic Error Ocurred' }
    ]
  ];
  for (const [name, wire, encode, message] of vectors) {
    it(`${name}: decodes and re-encodes byte for byte`, () => {
      expect(ok(decodeStr(wire))).toEqual(message);
      expect(str(encode())).toBe(wire);
    });
  }

  it('the spec "nodes" examples ("def456...", 9 bytes) are rejected: not a multiple of 26', () => {
    expectReject('d1:rd2:id20:0123456789abcdefghij5:nodes9:def456...e1:t2:aa1:y1:re');
    expectReject('d1:rd2:id20:abcdefghij01234567895:nodes9:def456...5:token8:aoeusnthe1:t2:aa1:y1:re');
  });
});

describe('round trips of every message type', () => {
  const node4: NodeInfo = { id: ID_M, host: '1.2.3.4', port: 6881 };
  const node6: NodeInfo = { id: ID_A, host: '2001:db8::1', port: 6882 };
  const queries: Query[] = [
    { method: 'ping', id: ID_A },
    { method: 'find_node', id: ID_A, target: ID_M, want: ['n4', 'n6'] },
    { method: 'get_peers', id: ID_A, infoHash: ID_M, want: ['n6'], noseed: true },
    {
      method: 'announce_peer',
      id: ID_A,
      infoHash: ID_M,
      port: 6881,
      token: b('tok'),
      impliedPort: false,
      seed: true
    },
    { method: 'announce_peer', id: ID_A, infoHash: ID_M, port: 0, token: b('tok'), impliedPort: true },
    { method: 'sample_infohashes', id: ID_A, target: ID_M },
    { method: 'unknown', name: 'vote', id: ID_A, target: ID_M },
    { method: 'unknown', name: 'vote', id: ID_A },
    { method: 'get_peers', id: ID_A, infoHash: ID_M, scrape: true },
    { method: 'get', id: ID_A, target: ID_M },
    { method: 'get', id: ID_A, target: ID_M, seq: 7, want: ['n4'] },
    { method: 'put', id: ID_A, token: b('tok'), v: b('12:Hello World!') },
    {
      method: 'put',
      id: ID_A,
      token: b('tok'),
      v: b('d1:ai1e1:bl1:xee'),
      k: new Uint8Array(32).fill(7),
      sig: new Uint8Array(64).fill(9),
      seq: 2 ** 40,
      salt: b('foobar'),
      cas: 1
    }
  ];
  for (const query of queries) {
    it(`query ${query.method}${query.method === 'unknown' ? ` (${query.name})` : ''}`, () => {
      expect(ok(decodeMessage(encodeQuery(tid, query)))).toEqual({
        type: 'query',
        tid,
        query,
        readOnly: false
      });
    });
  }

  it('BEP 43 ro and a client version', () => {
    const v = b('TL\x00\x01');
    const wire = encodeQuery(tid, { method: 'ping', id: ID_A }, { readOnly: true, version: v });
    expect(str(wire)).toContain('2:roi1e');
    expect(ok(decodeMessage(wire))).toEqual({
      type: 'query',
      tid,
      query: { method: 'ping', id: ID_A },
      readOnly: true,
      version: v
    });
  });

  it('full response: nodes, nodes6, values, token, samples, num, interval, BEP 42 ip', () => {
    const body: ResponseBody = {
      id: ID_A,
      nodes: [node4],
      nodes6: [node6],
      token: b('t0k3n'),
      values: [
        { host: '10.0.0.1', port: 1 },
        { host: '::1', port: 65535 }
      ],
      samples: [ID_A, ID_M],
      num: 42,
      interval: 21600
    };
    const ip = { host: '203.0.113.7', port: 40000 };
    const msg = ok(decodeMessage(encodeResponse(tid, body, { ip, version: b('LT') })));
    expect(msg).toEqual({ type: 'response', tid, body, ip, version: b('LT') });
  });

  it('empty nodes / values / samples survive (e.g. BEP 51 always sends samples)', () => {
    const body: ResponseBody = { id: ID_A, nodes: [], values: [], samples: [] };
    const wire = encodeResponse(tid, body);
    expect(str(wire)).toBe('d1:rd2:id20:abcdefghij01234567895:nodes0:7:samples0:6:valueslee1:t2:aa1:y1:re');
    expect(ok(decodeMessage(wire))).toEqual({ type: 'response', tid, body });
  });

  it('splits mixed families into nodes and nodes6', () => {
    const msg = ok(decodeMessage(encodeResponse(tid, { id: ID_A, nodes: [node4, node6] })));
    expect(msg).toEqual({ type: 'response', tid, body: { id: ID_A, nodes: [node4], nodes6: [node6] } });
    const only6 = ok(decodeMessage(encodeResponse(tid, { id: ID_A, nodes: [node6] })));
    expect(only6).toEqual({ type: 'response', tid, body: { id: ID_A, nodes6: [node6] } });
  });

  it('BEP 42 ip is best effort: an unencodable requester address is left out, not thrown on', () => {
    for (const ip of [
      { host: '1.2.3.4', port: 0 },
      { host: 'node-1', port: 6881 }
    ]) {
      expect(str(encodeResponse(tid, { id: ID_M }, { ip }))).toBe(
        'd1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re'
      );
    }
  });

  it('error with a unicode message', () => {
    expect(ok(decodeMessage(encodeError(tid, 204, 'Méthode inconnue ✓')))).toEqual({
      type: 'error',
      tid,
      code: 204,
      message: 'Méthode inconnue ✓'
    });
  });
});

describe('encoders reject programmer errors', () => {
  it('throws on bad ids, tids, ports, tokens, hosts', () => {
    expect(() => encodeQuery(new Uint8Array(0), { method: 'ping', id: ID_A })).toThrow(/tid/);
    expect(() => encodeQuery(new Uint8Array(17), { method: 'ping', id: ID_A })).toThrow(/tid/);
    expect(() => encodeQuery(tid, { method: 'ping', id: new Uint8Array(19) })).toThrow(/id/);
    const ann = {
      method: 'announce_peer',
      id: ID_A,
      infoHash: ID_M,
      token: b('t'),
      impliedPort: false
    } as const;
    expect(() => encodeQuery(tid, { ...ann, port: 0 })).toThrow(/port/);
    expect(() => encodeQuery(tid, { ...ann, port: 65536 })).toThrow(/port/);
    expect(() => encodeQuery(tid, { ...ann, port: 1, token: new Uint8Array(0) })).toThrow(/token/);
    expect(() =>
      encodeQuery(tid, { method: 'find_node', id: ID_A, target: ID_M, want: ['n5' as 'n4'] })
    ).toThrow(/want/);
    expect(() =>
      encodeResponse(tid, { id: ID_A, nodes: [{ id: ID_M, host: 'host.example', port: 1 }] })
    ).toThrow(/IP literal/);
    expect(() => encodeResponse(tid, { id: ID_A, num: -1 })).toThrow(/num/);
    expect(() => encodeResponse(tid, { id: ID_A, samples: [new Uint8Array(3)] })).toThrow(/sample/);
    expect(() => encodeError(tid, 1.5, 'x')).toThrow(/code/);
  });
});

describe('malformed datagrams', () => {
  it('not bencode, truncated, trailing garbage, non-canonical', () => {
    for (const s of [
      '',
      'hello',
      'd',
      'de garbage',
      'd1:t2:aa',
      'd1:t5:aa1:y1:qe',
      'i1.5e',
      'd1:ti03ee',
      'd1:ti-0ee',
      'd1:t-2:aae',
      'd1:t2:aa1:y1:qe1',
      'di1ei2ee',
      'd1:ae',
      '5:ab',
      'x'
    ])
      expectReject(s);
    const wire = 'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe';
    for (let n = 0; n < wire.length; n++) expectReject(wire.slice(0, n));
  });

  it('does not hang on negative string lengths (bencode@4 loops forever on these)', () => {
    for (const s of ['l-3:e', 'd1:al-3:ee1:t2:aa1:y1:qe', 'l-1:e', '-5:']) expectReject(s);
  });

  it('non-dict top level', () => {
    for (const s of ['le', 'l1:ae', 'i42e', '4:spam']) expectReject(s);
  });

  it('missing, empty, oversized or non-string t', () => {
    expectReject('d1:y1:re');
    expectReject('d1:rd2:id20:mnopqrstuvwxyz123456e1:t0:1:y1:re');
    expectReject(`d1:rd2:id20:mnopqrstuvwxyz123456e1:t17:${'x'.repeat(17)}1:y1:re`);
    expectReject('d1:rd2:id20:mnopqrstuvwxyz123456e1:ti1e1:y1:re');
    expect(ok(decodeStr(`d1:rd2:id20:mnopqrstuvwxyz123456e1:t16:${'x'.repeat(16)}1:y1:re`)).type).toBe(
      'response'
    );
  });

  it('bad y: missing, unknown, too long, not a string (never answered)', () => {
    for (const y of ['', '1:x', '2:qq', 'i1e', 'le'])
      expectReject(`d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa${y ? `1:y${y}` : ''}e`);
  });

  it('a __proto__ key cannot smuggle fields in', () => {
    expectReject('d9:__proto__d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:reee');
  });

  it('oversized datagram is dropped before parsing; the limit itself is accepted', () => {
    const make = (total: number): Uint8Array => {
      const base = 'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:q1:z';
      const padLen = total - base.length - 1; // 1 for final 'e'
      const head = `${padLen - String(padLen).length - 1}:`;
      const pad = head + 'p'.repeat(padLen - head.length);
      return b(`${base}${pad}e`);
    };
    expect(make(MAX_DATAGRAM_RECV_BYTES).length).toBe(MAX_DATAGRAM_RECV_BYTES);
    expect(ok(decodeMessage(make(MAX_DATAGRAM_RECV_BYTES))).type).toBe('query');
    const big = decodeMessage(make(MAX_DATAGRAM_RECV_BYTES + 1));
    expect(big).toEqual({ ok: false, reason: 'datagram too large' });
  });

  it('deeply nested input is rejected by the iterative guard (no 203: the datagram is not trusted)', () => {
    expectReject('l'.repeat(700) + 'e'.repeat(700));
    expectReject(
      `d1:ad2:id20:abcdefghij01234567891:x${'l'.repeat(20)}${'e'.repeat(20)}e1:q4:ping1:t2:aa1:y1:qe`
    );
  });

  it('responses: bad id, nodes, nodes6, values, token, samples, num, interval', () => {
    const r = (inner: string): string => `d1:rd${inner}e1:t2:aa1:y1:re`;
    const id = '2:id20:mnopqrstuvwxyz123456';
    for (const inner of [
      '',
      '2:id19:mnopqrstuvwxyz12345',
      '2:idi1e',
      `${id}5:nodes25:${'n'.repeat(25)}`,
      `${id}5:nodes27:${'n'.repeat(27)}`,
      `${id}5:nodesi0e`,
      `${id}6:nodes626:${'n'.repeat(26)}`,
      `${id}6:values6:axje.u`,
      `${id}6:valuesd1:ai1ee`,
      `${id}5:token0:`,
      `${id}5:token65:${'k'.repeat(65)}`,
      `${id}5:tokeni1e`,
      `${id}7:samples19:${'s'.repeat(19)}`,
      `${id}3:numi-1e`,
      `${id}8:interval1:5`,
      `${id}3:numi99999999999999999999e`
    ])
      expectReject(r(inner));
    expectReject('d1:r2:xx1:t2:aa1:y1:re');
    expectReject('d1:t2:aa1:y1:re');
  });

  it('values: bad entries are dropped, the rest kept', () => {
    const wire =
      'd1:rd2:id20:mnopqrstuvwxyz1234566:valuesl5:abcde7:abcdefgi1e6:\x01\x02\x03\x04\x00\x006:axje.u' +
      '18:\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x1a\xe1ee1:t2:aa1:y1:re';
    const msg = ok(decodeStr(wire));
    expect(msg.type === 'response' && msg.body.values).toEqual([
      { host: '97.120.106.101', port: 11893 },
      { host: '2001:db8::1', port: 6881 }
    ]);
  });

  it('nodes with port 0 are dropped; ip of a bad length and an overlong v are ignored', () => {
    const nodes = new Uint8Array([
      ...encodeCompactNodes([{ id: ID_A, host: '1.2.3.4', port: 1 }], 4),
      ...new Uint8Array(26)
    ]);
    const wire = bencode.encode({
      t: tid,
      y: 'r',
      r: { id: ID_M, nodes },
      ip: b('12345'),
      v: new Uint8Array(17)
    });
    expect(ok(decodeMessage(wire))).toEqual({
      type: 'response',
      tid,
      body: { id: ID_M, nodes: [{ id: ID_A, host: '1.2.3.4', port: 1 }] }
    });
  });

  it('queries with a valid tid but bad arguments give queryTid (answer 203)', () => {
    const q = (method: string, args: string): string =>
      `d1:ad${args}e1:q${method.length}:${method}1:t2:aa1:y1:qe`;
    const id = '2:id20:abcdefghij0123456789';
    for (const s of [
      'd1:q4:ping1:t2:aa1:y1:qe',
      'd1:a3:abc1:q4:ping1:t2:aa1:y1:qe',
      'd1:ad2:id20:abcdefghij0123456789e1:t2:aa1:y1:qe',
      'd1:ad2:id20:abcdefghij0123456789e1:qi1e1:t2:aa1:y1:qe',
      q('ping', ''),
      q('ping', '2:id3:abc'),
      q('find_node', id),
      q('find_node', `${id}6:target3:abc`),
      q('get_peers', id),
      q('get_peers', `${id}9:info_hashi1e`),
      q('sample_infohashes', id),
      q('announce_peer', id)
    ])
      expectReject(s, 'aa');
  });

  it('announce_peer: port 0 / 65536 / negative / string / huge, token missing or too long', () => {
    const ih = '9:info_hash20:mnopqrstuvwxyz123456';
    for (const args of [
      `${ih}4:porti0e5:token1:k`,
      `${ih}4:porti65536e5:token1:k`,
      `${ih}4:porti-1e5:token1:k`,
      `${ih}4:port4:68815:token1:k`,
      `${ih}4:porti99999999999999999999e5:token1:k`,
      `${ih}5:token1:k`,
      `${ih}4:porti6881e`,
      `${ih}4:porti6881e5:token0:`,
      `${ih}4:porti6881e5:token65:${'k'.repeat(65)}`,
      `12:implied_port1:1${ih}4:porti6881e5:token1:k`,
      `12:implied_porti1e${ih}4:port1:x5:token1:k`,
      `4:porti6881e5:token1:k`
    ])
      expectReject(announce(args), 'aa');
  });

  it('announce_peer: implied_port=1 allows a missing or out-of-range port', () => {
    const ih = '9:info_hash20:mnopqrstuvwxyz123456';
    for (const args of [
      `12:implied_porti1e${ih}5:token1:k`,
      `12:implied_porti1e${ih}4:porti0e5:token1:k`,
      `12:implied_porti1e${ih}4:porti70000e5:token1:k`
    ]) {
      const msg = ok(decodeStr(announce(args)));
      expect(msg.type === 'query' && msg.query).toEqual({
        method: 'announce_peer',
        id: ID_A,
        infoHash: ID_M,
        port: 0,
        token: b('k'),
        impliedPort: true
      });
    }
  });

  it('want keeps only n4/n6; malformed hints are ignored', () => {
    const msg = ok(
      decodeStr(
        'd1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz1234564:wantl2:n62:n52:n6i1e2:n4ee1:q9:find_node1:t2:aa1:y1:qe'
      )
    );
    expect(msg.type === 'query' && msg.query).toEqual({
      method: 'find_node',
      id: ID_A,
      target: ID_M,
      want: ['n6', 'n4']
    });
    const bad = ok(
      decodeStr(
        'd1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234566:noseed1:x4:want2:n4e1:q9:get_peers1:t2:aa1:y1:q2:ro1:1e'
      )
    );
    expect(bad).toEqual({
      type: 'query',
      tid,
      query: { method: 'get_peers', id: ID_A, infoHash: ID_M },
      readOnly: false
    });
  });

  it('unknown method keeps a 20-byte target only', () => {
    const s = (target: string): string => `d1:ad2:id20:abcdefghij0123456789${target}e1:q4:vote1:t2:aa1:y1:qe`;
    expect(ok(decodeStr(s('6:target20:mnopqrstuvwxyz123456')))).toMatchObject({
      query: { method: 'unknown', name: 'vote', id: ID_A, target: ID_M }
    });
    expect(ok(decodeStr(s('6:target3:abc')))).toEqual({
      type: 'query',
      tid,
      query: { method: 'unknown', name: 'vote', id: ID_A },
      readOnly: false
    });
  });

  it('errors: lenient message, strict code', () => {
    expect(ok(decodeStr('d1:eli202ee1:t2:aa1:y1:ee'))).toEqual({
      type: 'error',
      tid,
      code: 202,
      message: ''
    });
    expect(ok(decodeStr('d1:eli203ei5ee1:t2:aa1:y1:ee'))).toEqual({
      type: 'error',
      tid,
      code: 203,
      message: ''
    });
    const long = ok(decodeMessage(encodeError(tid, 201, 'x'.repeat(1000))));
    expect(long.type === 'error' && long.message.length).toBe(256);
    expect(ok(decodeStr('d1:eli201e2:\xff\xfee1:t2:aa1:y1:ee'))).toMatchObject({ message: '\ufffd\ufffd' });
    for (const e of ['1:e', 'le', 'l3:201e', 'li99999999999999999999e1:xe', 'd1:ai1ee'])
      expectReject(`d1:e${e}1:t2:aa1:y1:ee`);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const id20 = fc.uint8Array({ minLength: 20, maxLength: 20 });
const tidArb = fc.uint8Array({ minLength: 1, maxLength: 16 });
const port = fc.integer({ min: 1, max: 65535 });
const host4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map(formatIp);
const host6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(formatIp);
const node = (host: fc.Arbitrary<string>): fc.Arbitrary<NodeInfo> => fc.record({ id: id20, host, port });
const want = fc.subarray(['n4', 'n6'] as const).map((w) => [...w]);
const token = fc.uint8Array({ minLength: 1, maxLength: 64 });
/** A BEP 44 value in canonical bencode (what a put carries). */
const bencodedValue = fc
  .oneof(
    fc.uint8Array({ maxLength: 30 }).map((x) => Buffer.from(x)),
    fc.integer(),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 })
  )
  .map((x) => new Uint8Array(bencode.encode(x)));

const known = new Set(['ping', 'find_node', 'get_peers', 'announce_peer', 'sample_infohashes', 'get', 'put']);

const queryArb: fc.Arbitrary<Query> = fc.oneof(
  fc.record({ method: fc.constant('ping' as const), id: id20 }),
  fc.record(
    { method: fc.constant('find_node' as const), id: id20, target: id20, want },
    { requiredKeys: ['method', 'id', 'target'] }
  ),
  fc.record(
    {
      method: fc.constant('get_peers' as const),
      id: id20,
      infoHash: id20,
      want,
      noseed: fc.boolean(),
      scrape: fc.constant(true)
    },
    { requiredKeys: ['method', 'id', 'infoHash'] }
  ),
  fc.record(
    { method: fc.constant('get' as const), id: id20, target: id20, seq: fc.nat(), want },
    { requiredKeys: ['method', 'id', 'target'] }
  ),
  fc.record({ method: fc.constant('put' as const), id: id20, token, v: bencodedValue }),
  fc.record(
    {
      method: fc.constant('put' as const),
      id: id20,
      token,
      v: bencodedValue,
      k: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      sig: fc.uint8Array({ minLength: 64, maxLength: 64 }),
      seq: fc.nat(),
      salt: fc.uint8Array({ minLength: 1, maxLength: 64 }),
      cas: fc.nat()
    },
    { requiredKeys: ['method', 'id', 'token', 'v', 'k', 'sig', 'seq'] }
  ),
  fc.boolean().chain((impliedPort) =>
    fc.record(
      {
        method: fc.constant('announce_peer' as const),
        id: id20,
        infoHash: id20,
        token,
        impliedPort: fc.constant(impliedPort),
        port: impliedPort ? fc.integer({ min: 0, max: 65535 }) : port,
        seed: fc.boolean()
      },
      { requiredKeys: ['method', 'id', 'infoHash', 'token', 'impliedPort', 'port'] }
    )
  ),
  fc.record({ method: fc.constant('sample_infohashes' as const), id: id20, target: id20 }),
  fc.record(
    {
      method: fc.constant('unknown' as const),
      id: id20,
      target: id20,
      name: fc
        .string({
          unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_'.split('')),
          minLength: 1,
          maxLength: 30
        })
        .filter((n) => !known.has(n))
    },
    { requiredKeys: ['method', 'id', 'name'] }
  )
);

const bodyArb: fc.Arbitrary<ResponseBody> = fc.record(
  {
    id: id20,
    nodes: fc.array(node(host4), { maxLength: 8 }),
    nodes6: fc.array(node(host6), { maxLength: 8 }),
    values: fc.array(fc.record({ host: fc.oneof(host4, host6), port }), { maxLength: 10 }),
    token,
    samples: fc.array(id20, { maxLength: 10 }),
    num: fc.nat(),
    interval: fc.nat({ max: 21600 }),
    BFsd: fc.uint8Array({ minLength: 256, maxLength: 256 }),
    BFpe: fc.uint8Array({ minLength: 256, maxLength: 256 }),
    k: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    sig: fc.uint8Array({ minLength: 64, maxLength: 64 }),
    seq: fc.nat(),
    v: bencodedValue
  },
  { requiredKeys: ['id'] }
);

const version = fc.option(fc.uint8Array({ maxLength: 16 }), { nil: undefined });

const messageArb: fc.Arbitrary<{ wire: Uint8Array; message: Message }> = fc.oneof(
  fc.tuple(tidArb, queryArb, fc.boolean(), version).map(([t, query, readOnly, v]) => ({
    wire: encodeQuery(t, query, { readOnly, ...(v ? { version: v } : {}) }),
    message: { type: 'query' as const, tid: t, query, readOnly, ...(v ? { version: v } : {}) }
  })),
  fc
    .tuple(
      tidArb,
      bodyArb,
      fc.option(fc.record({ host: fc.oneof(host4, host6), port }), { nil: undefined }),
      version
    )
    .map(([t, body, ip, v]) => ({
      wire: encodeResponse(t, body, { ...(ip ? { ip } : {}), ...(v ? { version: v } : {}) }),
      message: {
        type: 'response' as const,
        tid: t,
        body,
        ...(ip ? { ip } : {}),
        ...(v ? { version: v } : {})
      }
    }))
    // Every optional field at once can exceed one datagram, which is dropped unparsed.
    .filter(({ wire }) => wire.length <= MAX_DATAGRAM_RECV_BYTES),
  fc
    .tuple(
      tidArb,
      fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
      fc.string({ unit: 'binary', maxLength: 256 })
    )
    .map(([t, code, text]) => ({
      wire: encodeError(t, code, text),
      message: { type: 'error' as const, tid: t, code, message: text }
    }))
);

/** Arbitrary bencode trees, to reach the schema checks with well-formed but wrong shapes. */
const { tree } = fc.letrec<{ tree: unknown }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small' },
    fc.uint8Array({ maxLength: 40 }),
    fc.constantFrom(
      b('q'),
      b('r'),
      b('e'),
      b('aa'),
      b('ping'),
      b('find_node'),
      b('get_peers'),
      b('announce_peer'),
      new Uint8Array(20),
      new Uint8Array(26)
    ),
    fc.integer(),
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(
      fc.constantFrom(
        't',
        'y',
        'q',
        'a',
        'r',
        'e',
        'id',
        'target',
        'info_hash',
        'port',
        'token',
        'nodes',
        'values',
        'implied_port',
        'want',
        'samples',
        'ro',
        'v',
        'ip'
      ),
      tie('tree'),
      { maxKeys: 6 }
    )
  )
}));

const expectWellFormedResult = (r: DecodeResult): void => {
  expect(typeof r.ok).toBe('boolean');
  if (!r.ok) expect(typeof r.reason).toBe('string');
};

describe('properties', () => {
  it('encode -> decode is identity for arbitrary valid messages', () => {
    fc.assert(
      fc.property(messageArb, ({ wire, message }) => {
        expect(ok(decodeMessage(wire))).toEqual(message);
      }),
      { numRuns: 300 }
    );
  });

  it('decodeMessage never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) =>
        expectWellFormedResult(decodeMessage(bytes))
      ),
      { numRuns: 300 }
    );
  });

  it('decodeMessage never throws on arbitrary bencode values', () => {
    fc.assert(
      fc.property(tree, (value) => expectWellFormedResult(decodeMessage(bencode.encode(value)))),
      { numRuns: 300 }
    );
  });

  it('decodeMessage never throws on mutated valid messages', () => {
    const mutation = fc.tuple(
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      fc.nat({ max: 8 }),
      fc.constantFrom('flip', 'set', 'cut', 'dup', 'insert')
    );
    fc.assert(
      fc.property(messageArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), ({ wire }, muts) => {
        let bytes = Uint8Array.from(wire);
        for (const [pos, value, len, kind] of muts) {
          const i = pos % (bytes.length + 1);
          if (kind === 'flip' && i < bytes.length) bytes[i] = bytes[i]! ^ (1 << (value % 8));
          if (kind === 'set' && i < bytes.length) bytes[i] = value;
          if (kind === 'cut') bytes = new Uint8Array([...bytes.subarray(0, i), ...bytes.subarray(i + len)]);
          if (kind === 'dup') bytes = new Uint8Array([...bytes.subarray(0, i + len), ...bytes.subarray(i)]);
          if (kind === 'insert')
            bytes = new Uint8Array([
              ...bytes.subarray(0, i),
              ...b('-:e0li'.slice(value % 6, (value % 6) + 1)),
              ...bytes.subarray(i)
            ]);
        }
        expectWellFormedResult(decodeMessage(bytes));
      }),
      { numRuns: 300 }
    );
  });
});

describe('BEP 44 get/put and BEP 33 fields', () => {
  const put = (args: string): DecodeResult =>
    decodeStr(`d1:ad2:id20:abcdefghij0123456789${args}e1:q3:put1:t2:aa1:y1:qe`);
  const K32 = `1:k32:${'k'.repeat(32)}`;
  const SIG = `3:sig64:${'s'.repeat(64)}`;

  it('keeps v as the exact bytes received', () => {
    const m = ok(put('5:token3:tok1:vd1:ai1e1:bli2ei3eee'));
    expect(m.type === 'query' && m.query.method === 'put' && Buffer.from(m.query.v).toString()).toBe(
      'd1:ai1e1:bli2ei3eee'
    );
  });

  it.each([
    ['5:token3:tok', 'missing v'],
    ['1:v1:x', 'missing token'],
    ['5:token3:tok1:vd1:bi1e1:ai2ee', 'unsorted keys in v (BEP 44: 203)'],
    ['5:token3:tok1:v05:hello', 'non-canonical string length in v'],
    [`${K32}5:token3:tok1:v1:x`, 'k without sig'],
    [
      `${K32}3:seqi1e${SIG}5:token3:tok1:v1:x`
        .replace('1:k32:', '1:k31:')
        .replace('k'.repeat(32), 'k'.repeat(31)),
      'short k'
    ],
    [`${K32}${SIG}5:token3:tok1:v1:x`, 'mutable without seq'],
    [`${K32}3:seqi-1e${SIG}5:token3:tok1:v1:x`, 'negative seq'],
    [`${K32}3:seqi9007199254740993e${SIG}5:token3:tok1:v1:x`, 'seq beyond 2^53'],
    [`3:cas1:x${K32}3:seqi1e${SIG}5:token3:tok1:v1:x`, 'cas not an integer']
  ])('answers 203 to a put with %s (%s)', (args) => {
    const r = put(args);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.queryTid).toEqual(b('aa'));
  });

  it('an empty salt is no salt; an oversized salt or value is left to the storage rules', () => {
    const m = ok(put(`${K32}4:salt0:3:seqi1e${SIG}5:token3:tok1:v1:x`));
    expect(m.type === 'query' && m.query.method === 'put' && m.query.salt).toBeUndefined();
    const big = ok(
      put(`${K32}4:salt65:${'s'.repeat(65)}3:seqi1e${SIG}5:token3:tok1:v1001:${'x'.repeat(1001)}`)
    );
    expect(big.type === 'query' && big.query.method === 'put' && big.query.salt?.length).toBe(65);
  });

  it('reads scrape=1 and drops malformed optional reply fields', () => {
    const q = ok(
      decodeStr(
        'd1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234566:scrapei1ee1:q9:get_peers1:t2:aa1:y1:qe'
      )
    );
    expect(q.type === 'query' && q.query.method === 'get_peers' && q.query.scrape).toBe(true);
    const r = ok(
      decodeStr('d1:rd4:BFpe3:abc2:id20:mnopqrstuvwxyz1234561:k2:kk3:seqi-5e3:sig1:se1:t2:aa1:y1:re')
    );
    expect(r.type === 'response' && r.body).toEqual({ id: b('mnopqrstuvwxyz123456') });
  });
});
