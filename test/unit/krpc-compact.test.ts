import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { SocketAddress, isIP } from 'node:net';
import { decodeCompactNodes, encodeCompactNodes } from '../../lib/krpc/compact.js';
import {
  decodeCompactAddress,
  decodeCompactPeers,
  encodeCompactAddress,
  encodeCompactPeers
} from '../../lib/net/compact-address.js';
import { formatIp, ipFamily, parseIp } from '../../lib/net/ip.js';

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
/** What node's dgram would report: libuv's canonical text form. */
const nodeCanonical = (ip: string): string =>
  new SocketAddress({ address: ip, family: isIP(ip) === 6 ? 'ipv6' : 'ipv4' }).address;

describe('parseIp / formatIp', () => {
  it('parses and formats IPv4', () => {
    expect(parseIp('1.2.3.4')).toEqual(new Uint8Array([1, 2, 3, 4]));
    expect(parseIp('255.255.255.255')).toEqual(new Uint8Array([255, 255, 255, 255]));
    expect(formatIp(new Uint8Array([0, 0, 0, 0]))).toBe('0.0.0.0');
    expect(formatIp(new Uint8Array([192, 168, 1, 10]))).toBe('192.168.1.10');
  });

  it('formats IPv6 like node/libuv', () => {
    const cases: Array<[string, string]> = [
      ['00000000000000000000000000000000', '::'],
      ['00000000000000000000000000000001', '::1'],
      ['00000000000000000000000000000002', '::2'],
      ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
      ['00010000000000000000000000000000', '1::'],
      ['00000000000000000000ffff01020304', '::ffff:1.2.3.4'],
      ['00000000000000000000000001020304', '::1.2.3.4'],
      ['00010000000000010000000000000001', '1:0:0:1::1'],
      ['00010002000300040005000000070008', '1:2:3:4:5:0:7:8'],
      ['fe800000000000000000000000000000', 'fe80::']
    ];
    for (const [h, text] of cases) {
      expect(formatIp(hex(h))).toBe(text);
      expect(nodeCanonical(text)).toBe(text);
      expect(parseIp(text)).toEqual(hex(h));
    }
  });

  it('rejects what is not an IP literal', () => {
    for (const bad of [
      '',
      'localhost',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '01.2.3.4',
      '1.2.3.-1',
      ' 1.2.3.4',
      '1::2::3',
      ':::',
      '1:2:3:4:5:6:7:8:9',
      '1::2:3:4:5:6:7:8',
      '12345::',
      'g::1',
      '1.2.3.4::',
      '::1.2.3',
      'fe80::1%eth0',
      ':1::',
      '1:2:3:4:5:6:7',
      '[::1]'
    ]) {
      expect(parseIp(bad)).toBeUndefined();
      expect(ipFamily(bad)).toBeUndefined();
    }
    expect(ipFamily('10.0.0.1')).toBe(4);
    expect(ipFamily('::ffff:1.2.3.4')).toBe(6); // family is syntactic
  });

  it('formatIp rejects other lengths (programmer error)', () => {
    expect(() => formatIp(new Uint8Array(5))).toThrow(/4 or 16 bytes/);
  });

  it('property: formatting any 16 bytes equals node canonical form and parses back', () => {
    // Bias towards zero groups so compression and dotted-quad rules are exercised.
    const word = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(word, { minLength: 8, maxLength: 8 }), (words) => {
        const b = new Uint8Array(16);
        words.forEach((w, i) => {
          b[2 * i] = w >> 8;
          b[2 * i + 1] = w & 0xff;
        });
        const text = formatIp(b);
        expect(text).toBe(nodeCanonical(text));
        expect(parseIp(text)).toEqual(b);
      }),
      { numRuns: 500 }
    );
  });

  it('property: parseIp agrees with node on generated literals and never accepts what node rejects', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
        const parsed = parseIp(ip);
        expect(parsed).toBeDefined();
        expect(formatIp(parsed!)).toBe(nodeCanonical(ip));
      }),
      { numRuns: 500 }
    );
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'0123456789abcdef:.%'.split('')), maxLength: 45 }),
        (s) => {
          if (parseIp(s) !== undefined) expect(isIP(s)).not.toBe(0);
        }
      ),
      { numRuns: 1000 }
    );
  });
});

describe('compact nodes', () => {
  const id = bytes('abcdefghij0123456789');

  it('encodes the BEP 5 layout: id + ip + big-endian port', () => {
    const out = encodeCompactNodes([{ id, host: '1.2.3.4', port: 6881 }], 4);
    expect(Buffer.from(out).toString('hex')).toBe(Buffer.from(id).toString('hex') + '010203041ae1');
    expect(decodeCompactNodes(out, 4)).toEqual([{ id, host: '1.2.3.4', port: 6881 }]);
  });

  it('round-trips IPv6 nodes (38 bytes each)', () => {
    const nodes = [
      { id, host: '2001:db8::1', port: 1 },
      { id: new Uint8Array(20).fill(7), host: '::1', port: 65535 }
    ];
    const out = encodeCompactNodes(nodes, 6);
    expect(out.length).toBe(76);
    expect(decodeCompactNodes(out, 6)).toEqual(nodes);
  });

  it('rejects lengths that are not a multiple of the record size', () => {
    expect(decodeCompactNodes(new Uint8Array(25), 4)).toBeUndefined();
    expect(decodeCompactNodes(new Uint8Array(27), 4)).toBeUndefined();
    expect(decodeCompactNodes(new Uint8Array(26), 6)).toBeUndefined();
    expect(decodeCompactNodes(new Uint8Array(0), 4)).toEqual([]);
  });

  it('drops records with port 0 and keeps the rest', () => {
    const good = encodeCompactNodes([{ id, host: '5.6.7.8', port: 80 }], 4);
    const zero = new Uint8Array(26); // id 0, 0.0.0.0:0
    const both = new Uint8Array([...zero, ...good]);
    expect(decodeCompactNodes(both, 4)).toEqual([{ id, host: '5.6.7.8', port: 80 }]);
  });

  it('decoded ids are copies, not views of the datagram', () => {
    const out = encodeCompactNodes([{ id, host: '1.2.3.4', port: 1 }], 4);
    const [node] = decodeCompactNodes(out, 4)!;
    out[0] = 0;
    expect(node!.id).toEqual(id);
    expect(node!.id.buffer).not.toBe(out.buffer);
  });

  it('throws on invalid input (programmer errors)', () => {
    expect(() => encodeCompactNodes([{ id: new Uint8Array(19), host: '1.2.3.4', port: 1 }], 4)).toThrow(
      /20 bytes/
    );
    expect(() => encodeCompactNodes([{ id, host: '1.2.3.4', port: 0 }], 4)).toThrow(/port/);
    expect(() => encodeCompactNodes([{ id, host: 'example.com', port: 1 }], 4)).toThrow(/IP literal/);
    expect(() => encodeCompactNodes([{ id, host: '::1', port: 1 }], 4)).toThrow(/IPv4/);
    expect(() => encodeCompactNodes([{ id, host: '1.2.3.4', port: 1 }], 6)).toThrow(/IPv6/);
  });
});

describe('compact peers and addresses', () => {
  it('encodes a single address as 6 / 18 bytes (values entries, BEP 42 ip)', () => {
    expect(encodeCompactAddress({ host: '97.120.106.101', port: 11893 })).toEqual(bytes('axje.u'));
    const v6 = encodeCompactAddress({ host: 'fe80::1', port: 6881 });
    expect(v6.length).toBe(18);
    expect(decodeCompactAddress(v6)).toEqual({ host: 'fe80::1', port: 6881 });
    expect(decodeCompactAddress(bytes('idhtnm'))).toEqual({ host: '105.100.104.116', port: 28269 });
  });

  it('decodeCompactAddress rejects other lengths and port 0', () => {
    for (const n of [0, 5, 7, 17, 19, 26]) expect(decodeCompactAddress(new Uint8Array(n))).toBeUndefined();
    expect(decodeCompactAddress(new Uint8Array([1, 2, 3, 4, 0, 0]))).toBeUndefined();
  });

  it('encodeCompactAddress validates port and host', () => {
    for (const port of [0, 65536, -1, 1.5, NaN]) {
      expect(() => encodeCompactAddress({ host: '1.2.3.4', port })).toThrow(/port/);
    }
    expect(() => encodeCompactAddress({ host: 'nope', port: 1 })).toThrow(/IP literal/);
  });

  it('round-trips concatenated peers of each family and validates length', () => {
    const v4 = [
      { host: '1.2.3.4', port: 1 },
      { host: '10.0.0.255', port: 65535 }
    ];
    const v6 = [{ host: '2001:db8::ff', port: 443 }];
    expect(decodeCompactPeers(encodeCompactPeers(v4, 4), 4)).toEqual(v4);
    expect(decodeCompactPeers(encodeCompactPeers(v6, 6), 6)).toEqual(v6);
    expect(decodeCompactPeers(new Uint8Array(7), 4)).toBeUndefined();
    expect(decodeCompactPeers(new Uint8Array(12), 6)).toBeUndefined();
    expect(decodeCompactPeers(new Uint8Array([9, 9, 9, 9, 0, 0, 1, 2, 3, 4, 0, 80]), 4)).toEqual([
      { host: '1.2.3.4', port: 80 }
    ]);
    expect(() => encodeCompactPeers(v6, 4)).toThrow(/IPv4/);
  });

  it('property: encode -> decode is identity for valid addresses and nodes', () => {
    const host = fc.oneof(
      fc.uint8Array({ minLength: 4, maxLength: 4 }).map(formatIp),
      fc.uint8Array({ minLength: 16, maxLength: 16 }).map(formatIp)
    );
    const addr = fc.record({ host, port: fc.integer({ min: 1, max: 65535 }) });
    fc.assert(
      fc.property(addr, fc.uint8Array({ minLength: 20, maxLength: 20 }), (a, id) => {
        expect(decodeCompactAddress(encodeCompactAddress(a))).toEqual(a);
        const family = ipFamily(a.host)!;
        const node = { id, ...a };
        expect(decodeCompactNodes(encodeCompactNodes([node, node], family), family)).toEqual([node, node]);
      }),
      { numRuns: 300 }
    );
  });
});
