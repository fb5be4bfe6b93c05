import { describe, expect, it } from '@jest/globals';
import magnetDecode, { encode as magnetEncode } from 'magnet-uri';
import { formatSelectOnly, parseMagnet, parseSelectOnly, toMagnet } from '../../lib/magnet/magnet.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { fromHex } from '../../lib/util/bytes.js';

// The same infohash in hex and in RFC 4648 base32 (computed with Python's base64.b32encode).
const HEX = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a';
const BASE32 = 'YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK';
const HEX2 = 'dd8255ecdc7ca55fb0bbf81323d87062db1f6d1c';
const BASE32_2 = '3WBFL3G4PSSV7MF37AJSHWDQMLNR63I4';

function expectInvalid(uri: string, pattern: RegExp): void {
  let error: unknown;
  try {
    parseMagnet(uri);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(InvalidArgumentError);
  expect((error as InvalidArgumentError).code).toBe('ERR_INVALID_MAGNET');
  expect((error as Error).message).toMatch(pattern);
}

describe('parseMagnet', () => {
  it('accepts hex and base32 of the same hash', () => {
    const a = parseMagnet(`magnet:?xt=urn:btih:${HEX}`);
    const b = parseMagnet(`magnet:?xt=urn:btih:${BASE32}`);
    const c = parseMagnet(`magnet:?xt=urn:btih:${BASE32.toLowerCase()}`);
    const d = parseMagnet(`magnet:?xt=urn:btih:${HEX.toUpperCase()}`);
    for (const m of [a, b, c, d]) {
      expect(m.infoHashHex).toBe(HEX);
      expect(m.infoHash).toEqual(fromHex(HEX));
    }
    expect(parseMagnet(`magnet:?xt=urn:btih:${BASE32_2}`).infoHashHex).toBe(HEX2);
    // magnet-uri agrees on the base32 decoding.
    expect(magnetDecode(`magnet:?xt=urn:btih:${BASE32}`).infoHash).toBe(HEX);
  });

  it('is case-insensitive in the scheme, keys and urn prefix; trims whitespace', () => {
    const m = parseMagnet(`  MAGNET:?XT=URN:BTIH:${HEX}&DN=Name  `);
    expect(m.infoHashHex).toBe(HEX);
    expect(m.name).toBe('Name');
  });

  it('parses dn, tr, x.pe and so', () => {
    const m = parseMagnet(
      `magnet:?xt=urn:btih:${HEX}&dn=My+File%20%C3%A9t%C3%A9` +
        '&tr=udp%3A%2F%2Ftracker.example%3A80%2Fannounce&tr=http://t/announce?a=b&tr=http://t/announce?a=b' +
        '&x.pe=10.0.0.1:6881&x.pe=%5B2001:db8::1%5D:51413&x.pe=[::1]:1&x.pe=peer.example.com:6882&x.pe=10.0.0.1:6881' +
        '&so=0,2,4-6&so=9&ws=http://ignored'
    );
    expect(m.name).toBe('My File été');
    expect(m.trackers).toEqual(['udp://tracker.example:80/announce', 'http://t/announce?a=b']);
    expect(m.peers).toEqual([
      { host: '10.0.0.1', port: 6881 },
      { host: '2001:db8::1', port: 51413 },
      { host: '::1', port: 1 }
    ]);
    expect(m.peerHosts).toEqual([{ host: 'peer.example.com', port: 6882 }]);
    expect(m.selectOnly).toEqual([0, 2, 4, 5, 6, 9]);
  });

  it('keeps a tracker with a raw "=" (magnet-uri drops it)', () => {
    const m = parseMagnet(`magnet:?xt=urn:btih:${HEX}&tr=http://t/announce?passkey=abc`);
    expect(m.trackers).toEqual(['http://t/announce?passkey=abc']);
  });

  it('accepts hybrid links (btih + btmh) and repeated identical btih', () => {
    const m = parseMagnet(
      `magnet:?xt=urn:btih:${HEX}&xt=urn:btmh:1220${'ab'.repeat(32)}&xt.1=urn:btih:${BASE32}`
    );
    expect(m.infoHashHex).toBe(HEX);
    expect(m.name).toBeUndefined();
    expect(m.selectOnly).toBeUndefined();
    expect(m.peers).toEqual([]);
  });

  it('rejects invalid links with clear messages', () => {
    expectInvalid('http://example.com/?xt=urn:btih:' + HEX, /must start with "magnet:\?"/);
    expectInvalid('magnet:?dn=x', /missing xt=urn:btih/);
    expectInvalid(`magnet:?xt=urn:btmh:1220${'ab'.repeat(32)}`, /v2/);
    expectInvalid('magnet:?xt=urn:btih:' + 'g'.repeat(40), /not 40 hex or 32 base32/);
    expectInvalid('magnet:?xt=urn:btih:' + HEX.slice(1), /not 40 hex/);
    expectInvalid('magnet:?xt=urn:btih:' + BASE32.slice(1) + '1', /not 40 hex/);
    expectInvalid(`magnet:?xt=urn:btih:${HEX}&xt=urn:btih:${HEX2}`, /two different/);
    expectInvalid(`magnet:?xt=urn:btih:${HEX}&dn=%E0%A4%A`, /percent-encoding in "dn"/);
    expectInvalid('magnet:?xt=' + 'a'.repeat(70_000), /longer than/);
    expect(() => parseMagnet(5 as unknown as string)).toThrow(/expected a string/);
  });

  it('rejects bad x.pe hints', () => {
    for (const bad of [
      '10.0.0.1',
      '10.0.0.1:0',
      '10.0.0.1:65536',
      '10.0.0.1:port',
      '10.0.0.1:',
      '::1:6881',
      '[::1]6881',
      '[nothex]:1',
      '300.1.1.1:5',
      'bad_host!:5',
      '[::1]:-1'
    ]) {
      expectInvalid(`magnet:?xt=urn:btih:${HEX}&x.pe=${encodeURIComponent(bad)}`, /x\.pe/);
    }
  });

  it('rejects bad so= selections', () => {
    for (const bad of ['', 'a', '1,,2', '5-2', '-3', '1-', '1.5', '2000000']) {
      expectInvalid(`magnet:?xt=urn:btih:${HEX}&so=${bad}`, /so=/);
    }
  });
});

describe('select-only ranges', () => {
  it('parses and formats BEP 53 ranges', () => {
    expect(parseSelectOnly('0,2,4-6')).toEqual([0, 2, 4, 5, 6]);
    expect(parseSelectOnly('6-8,0,7')).toEqual([0, 6, 7, 8]);
    expect(formatSelectOnly([6, 0, 2, 4, 5, 8, 9, 7])).toBe('0,2,4-9');
    expect(formatSelectOnly([1, 2])).toBe('1,2');
    expect(() => formatSelectOnly([-1])).toThrow(InvalidArgumentError);
  });
});

describe('toMagnet', () => {
  it('builds links that parse back', () => {
    const uri = toMagnet({
      infoHash: fromHex(HEX),
      name: 'a file & more',
      peers: [
        { host: '127.0.0.1', port: 6881 },
        { host: '::1', port: 6882 }
      ],
      trackers: ['udp://t:80/announce?x=1&y=2'],
      selectOnly: [0, 2, 3, 4]
    });
    expect(uri.startsWith(`magnet:?xt=urn:btih:${HEX}&dn=a%20file%20%26%20more`)).toBe(true);
    expect(uri).toContain('x.pe=127.0.0.1:6881');
    expect(uri).toContain('&so=0,2-4');
    const m = parseMagnet(uri);
    expect(m.infoHashHex).toBe(HEX);
    expect(m.name).toBe('a file & more');
    expect(m.peers).toEqual([
      { host: '127.0.0.1', port: 6881 },
      { host: '::1', port: 6882 }
    ]);
    expect(m.trackers).toEqual(['udp://t:80/announce?x=1&y=2']);
    expect(m.selectOnly).toEqual([0, 2, 3, 4]);
    expect(magnetDecode(uri).infoHash).toBe(HEX);
  });

  it('accepts a hex string and rejects bad input', () => {
    expect(toMagnet({ infoHash: BASE32 })).toBe(`magnet:?xt=urn:btih:${HEX}`);
    expect(() => toMagnet({ infoHash: 'abc' })).toThrow(InvalidArgumentError);
    expect(() => toMagnet({ infoHash: HEX, peers: [{ host: '1.2.3.4', port: 0 }] })).toThrow(/port/);
  });
});

/**
 * magnet-uri 7's known defects, pinned: lib/magnet/magnet.ts works around each one (see its
 * header). If an upgrade fixes or changes one, this fails and the workaround can be revisited.
 */
describe('magnet-uri defects that parseMagnet covers', () => {
  const xt = `xt=urn:btih:${HEX}`;

  it('drops a value with a raw "=" (parseMagnet keeps it)', () => {
    const uri = `magnet:?${xt}&tr=http://t/announce?passkey=abc`;
    expect(magnetDecode(uri).announce).toEqual([]);
    expect(parseMagnet(uri).trackers).toEqual(['http://t/announce?passkey=abc']);
  });

  it('ignores an uppercase scheme and uppercase keys (parseMagnet reads them)', () => {
    expect(magnetDecode(`MAGNET:?${xt}`).infoHash).toBeUndefined();
    expect(magnetDecode(`magnet:?XT=urn:btih:${HEX}`).infoHash).toBeUndefined();
    expect(parseMagnet(`MAGNET:?XT=urn:btih:${HEX}`).infoHashHex).toBe(HEX);
  });

  it('throws a bare URIError on bad percent-encoding (parseMagnet names the field)', () => {
    expect(() => magnetDecode(`magnet:?${xt}&tr=%E0%A4%A`)).toThrow(URIError);
    expectInvalid(`magnet:?${xt}&tr=%E0%A4%A`, /percent-encoding in "tr"/);
  });

  it('takes any 40 characters as a hex infohash (parseMagnet rejects them)', () => {
    expect(magnetDecode(`magnet:?xt=urn:btih:${'g'.repeat(40)}`).infoHash).toBe('g'.repeat(40));
    expectInvalid(`magnet:?xt=urn:btih:${'g'.repeat(40)}`, /not 40 hex/);
  });

  it('turns an encoded "+" in dn into a space (parseMagnet keeps the "+")', () => {
    expect(magnetDecode(`magnet:?${xt}&dn=a%2Bb`).name).toBe('a b');
    expect(parseMagnet(`magnet:?${xt}&dn=a%2Bb+c`).name).toBe('a+b c');
  });

  it('expands so= ranges without a bound (parseMagnet caps the indices)', () => {
    expect(magnetDecode(`magnet:?${xt}&so=0-100000`).so).toHaveLength(100_001);
    expectInvalid(`magnet:?${xt}&so=0-100000000`, /so=/);
  });

  it('writes x.pe unencoded and drops one-letter keys (so toMagnet and toMutableMagnet write links themselves)', () => {
    expect(magnetEncode({ xt: `urn:btih:${HEX}`, 'x.pe': 'a&b:1' })).toContain('x.pe=a&b:1');
    expect(magnetEncode({ xs: `urn:btpk:${'ab'.repeat(32)}`, s: '6e' })).not.toContain('s=6e');
    expect(toMagnet({ infoHash: HEX, peers: [{ host: '::1', port: 80 }] })).toContain('x.pe=%5B::1%5D:80');
  });

  it('writes links (as webtorrent does) that parseMagnet reads back', () => {
    const uri = magnetEncode({ xt: `urn:btih:${HEX}`, dn: 'x y', tr: ['udp://t:1/a?b=c'], so: [1, 3, 4, 5] });
    expect(parseMagnet(uri)).toMatchObject({
      infoHashHex: HEX,
      name: 'x y',
      trackers: ['udp://t:1/a?b=c'],
      selectOnly: [1, 3, 4, 5]
    });
  });
});
