/** The shared token bucket's byte-budget uses: several tokens at once, debt, waits. */
import { describe, expect, it } from '@jest/globals';
import { TokenBucket } from '../../lib/util/token-bucket.js';

describe('TokenBucket', () => {
  it('takes n tokens only when there are that many', () => {
    const b = new TokenBucket({ ratePerSecond: 1000, burst: 1000, nowMs: 0 });
    expect(b.take(0, 600)).toBe(true);
    expect(b.take(0, 600)).toBe(false);
    expect(b.take(200, 600)).toBe(true); // 400 + 200 refilled
  });

  it('spend leaves a debt that blocks until it is repaid', () => {
    const b = new TokenBucket({ ratePerSecond: 1000, burst: 1000, nowMs: 0 });
    b.spend(0, 1500);
    expect(b.hasAny(0)).toBe(false);
    expect(b.hasAny(500)).toBe(false); // back to exactly 0
    expect(b.hasAny(501)).toBe(true);
    expect(b.waitMs(501, 1000)).toBe(999);
  });

  it('waits for at most a full bucket', () => {
    const b = new TokenBucket({ ratePerSecond: 10, burst: 10, nowMs: 0 });
    expect(b.take(0, 10)).toBe(true);
    expect(b.waitMs(0, 1_000_000)).toBe(1000);
    expect(b.waitMs(0)).toBe(100);
  });
});
