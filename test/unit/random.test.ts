import { describe, expect, it } from '@jest/globals';
import { cryptoRandom, seededRandom } from '../../lib/util/random.js';

describe('random sources', () => {
  it('cryptoRandom: pooled ints stay in range, cover it, and survive pool refills', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const v = cryptoRandom.int(10);
      expect(Number.isInteger(v) && v >= 0 && v < 10).toBe(true);
      seen.add(v);
    }
    expect(seen.size).toBe(10);
  });

  it('cryptoRandom: bytes of any length, fresh copies, not repeating', () => {
    const a = cryptoRandom.bytes(20);
    const b = cryptoRandom.bytes(20);
    expect(a).toHaveLength(20);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    a.fill(0);
    expect(cryptoRandom.bytes(20).some((x) => x !== 0)).toBe(true);
    expect(cryptoRandom.bytes(5000)).toHaveLength(5000); // larger than the pool share: direct
    const many = new Set<string>();
    for (let i = 0; i < 2000; i++) many.add(Buffer.from(cryptoRandom.bytes(8)).toString('hex'));
    expect(many.size).toBe(2000);
  });

  it('seededRandom is deterministic', () => {
    const x = seededRandom(3);
    const y = seededRandom(3);
    expect(Array.from({ length: 5 }, () => x.int(1000))).toEqual(
      Array.from({ length: 5 }, () => y.int(1000))
    );
  });
});
