import { describe, expect, it } from '@jest/globals';
import { bep42Id, crc32c, isBep42Compliant } from '../../lib/id/bep42.js';
import { seededRandom } from '../../lib/util/random.js';
import { toHex } from '../../lib/util/bytes.js';

describe('BEP 42 node ids', () => {
  it('crc32c matches the standard check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  // The BEP's test vectors: IP, r (low 3 bits of the last byte), first 3 bytes of the id
  // (whose third byte has 3 random low bits, so only its top 5 bits are compared).
  const vectors: Array<[string, number, string]> = [
    ['124.31.75.21', 0x01, '5fbfbf'],
    ['21.75.31.124', 0x56, '5a3ce9'],
    ['65.23.51.170', 0x16, 'a5d432'],
    ['84.124.73.14', 0x41, '1b0321'],
    ['43.213.53.83', 0x5a, 'e56f6c']
  ];

  it.each(vectors)('%s with last byte %i gives the prefix %s', (ip, last, prefix) => {
    const id = bep42Id(ip, seededRandom(1), last & 7)!;
    expect(toHex(id.subarray(0, 2))).toBe(prefix.slice(0, 4));
    expect(id[2]! & 0xf8).toBe(parseInt(prefix.slice(4), 16) & 0xf8);
    // The BEP's example ids end in the full byte `last`; compliance reads its low 3 bits.
    const example = new Uint8Array(id);
    example[19] = last;
    expect(isBep42Compliant(example, ip)).toBe(true);
  });

  it('generated ids comply; a changed prefix bit, another IP or another r does not', () => {
    const rnd = seededRandom(7);
    for (const ip of ['1.2.3.4', '203.0.113.9', '2001:db8::1', '2a00:1450:4001:81b::200e']) {
      for (let i = 0; i < 50; i++) {
        const id = bep42Id(ip, rnd)!;
        expect(isBep42Compliant(id, ip)).toBe(true);
        for (const bit of [0, 7, 12, 20]) {
          const bad = new Uint8Array(id);
          bad[bit >> 3] = bad[bit >> 3]! ^ (0x80 >> (bit & 7));
          expect(isBep42Compliant(bad, ip)).toBe(false);
        }
        const otherR = new Uint8Array(id);
        otherR[19] = otherR[19]! ^ 1;
        // Another r changes the hash; a collision on 21 bits is possible but rare (2^-21).
        expect(isBep42Compliant(otherR, ip)).toBe(false);
      }
    }
    // The mask keeps 2 bits of the first byte: 5.2.3.4 hashes like 1.2.3.4; 1.2.3.5 does not.
    const v4 = bep42Id('1.2.3.4', rnd)!;
    expect(isBep42Compliant(v4, '5.2.3.4')).toBe(true);
    expect(isBep42Compliant(v4, '1.2.3.5')).toBe(false);
  });

  it('local addresses are exempt: any id is valid from them', () => {
    const id = new Uint8Array(20).fill(0xab);
    for (const ip of [
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.3.4',
      '127.0.0.1',
      '::1',
      'fd00::1',
      'fe80::1'
    ])
      expect(isBep42Compliant(id, ip)).toBe(true);
    expect(isBep42Compliant(id, '8.8.8.8')).toBe(false);
  });
});
