import { describe, expect, it } from '@jest/globals';
import {
  commonPrefixLength,
  compareDistance,
  parseInfoHash,
  randomIdWithPrefix,
  xorDistance
} from '../../lib/id/node-id.js';
import { seededRandom } from '../../lib/util/random.js';
import { TrackerlessError } from '../../lib/errors.js';

describe('node ids', () => {
  it('compares distance exactly beyond 53 bits', () => {
    const target = new Uint8Array(20);
    const a = new Uint8Array(20);
    const b = new Uint8Array(20);
    a[19] = 1;
    b[19] = 2;
    expect(compareDistance(target, a, b)).toBeLessThan(0);
    expect(compareDistance(target, b, a)).toBeGreaterThan(0);
    expect(compareDistance(target, a, a)).toBe(0);
    expect(xorDistance(a, b)[19]).toBe(3);
  });

  it('counts common prefix bits', () => {
    const a = new Uint8Array(20);
    const b = new Uint8Array(20);
    expect(commonPrefixLength(a, b)).toBe(160);
    b[0] = 0x80;
    expect(commonPrefixLength(a, b)).toBe(0);
    b[0] = 0;
    b[2] = 0x01;
    expect(commonPrefixLength(a, b)).toBe(23);
  });

  it('makes ids with an exact shared prefix', () => {
    const rnd = seededRandom(1);
    const base = rnd.bytes(20);
    for (const bits of [0, 1, 7, 8, 33, 159]) {
      expect(commonPrefixLength(base, randomIdWithPrefix(base, bits, rnd))).toBe(bits);
    }
  });

  it('parses hex and base32 infohashes and rejects the rest', () => {
    const hex = '0123456789abcdef0123456789abcdef01234567';
    expect(Buffer.from(parseInfoHash(hex)).toString('hex')).toBe(hex);
    expect(parseInfoHash('AERUKZ4JVPG66AJDIVTYTK6N54ASGRLH')).toEqual(parseInfoHash(hex));
    for (const bad of ['', 'xyz', hex.slice(1), hex + '0', 'g'.repeat(40)]) {
      expect(() => parseInfoHash(bad)).toThrow(TrackerlessError);
    }
    expect(() => parseInfoHash(new Uint8Array(19))).toThrow(/20 bytes/);
  });
});
