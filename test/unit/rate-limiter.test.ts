/**
 * RateLimiter: a torrent's cap under a client's shared one (bytes pass only when both have
 * them, and count against both), rates changed at run time; ConnectionBudget: the shared
 * connection cap.
 */
import { describe, expect, it } from '@jest/globals';
import { ConnectionBudget } from '../../lib/engine/peers/connection-budget.js';
import { RateLimiter } from '../../lib/util/rate-limiter.js';
import { FakeClock } from '../support/fake-clock.js';

const KiB = 1024;

describe('RateLimiter', () => {
  it('is unlimited at rate 0, limited at once after setRate, unlimited again after setRate(0)', () => {
    const clock = new FakeClock();
    const cap = new RateLimiter({ rate: 0, minBurst: 32 * KiB, clock });
    expect(cap.limited).toBe(false);
    expect(cap.take(clock.now(), 100 * 1024 * KiB)).toBe(true);
    cap.setRate(100 * KiB);
    expect(cap.limited).toBe(true);
    expect(cap.rate).toBe(100 * KiB);
    expect(cap.take(clock.now(), 32 * KiB)).toBe(true); // the burst
    expect(cap.take(clock.now(), 16 * KiB)).toBe(false);
    expect(cap.waitMs(clock.now(), 16 * KiB)).toBe(160);
    cap.setRate(0);
    expect(cap.take(clock.now(), 16 * KiB)).toBe(true);
    expect(cap.effectiveRate).toBe(Infinity);
  });

  it('two torrents under one shared cap never exceed it together; each stays under its own', () => {
    const clock = new FakeClock();
    const global = new RateLimiter({ rate: 100 * KiB, minBurst: 32 * KiB, clock });
    const a = new RateLimiter({ rate: 80 * KiB, minBurst: 32 * KiB, clock, parent: global });
    const b = new RateLimiter({ rate: 0, minBurst: 32 * KiB, clock, parent: global });
    let sentA = 0;
    let sentB = 0;
    for (let ms = 0; ms < 10_000; ms += 10) {
      while (a.take(clock.now(), 1 * KiB)) sentA += KiB;
      while (b.take(clock.now(), 1 * KiB)) sentB += KiB;
      clock.advance(10);
    }
    // 10 s at 100 KiB/s plus one burst; a alone is at most 10 s at 80 KiB/s plus its burst.
    expect(sentA + sentB).toBeLessThanOrEqual(1000 * KiB + 32 * KiB);
    expect(sentA + sentB).toBeGreaterThan(950 * KiB);
    expect(sentA).toBeLessThanOrEqual(800 * KiB + 32 * KiB);
    expect(b.effectiveRate).toBe(100 * KiB);
    expect(a.effectiveRate).toBe(80 * KiB);
  });

  it('takes all or nothing: a refusal by the parent charges no cap', () => {
    const clock = new FakeClock();
    const global = new RateLimiter({ rate: 10 * KiB, minBurst: 4 * KiB, clock });
    const own = new RateLimiter({ rate: 100 * KiB, minBurst: 32 * KiB, clock, parent: global });
    expect(own.take(clock.now(), 4 * KiB)).toBe(true);
    expect(own.take(clock.now(), 4 * KiB)).toBe(false);
    expect(own.available(clock.now())).toBe(0);
    // The torrent's own bucket was charged 4 KiB only: 28 KiB left of its burst.
    global.setRate(0);
    expect(own.available(clock.now())).toBe(28 * KiB);
  });
});

describe('ConnectionBudget', () => {
  it('hands out at most max slots, takes them back, and a lower max refuses new ones only', () => {
    const budget = new ConnectionBudget(2);
    expect(budget.acquire()).toBe(true);
    expect(budget.acquire()).toBe(true);
    expect(budget.acquire()).toBe(false);
    budget.setMax(1);
    expect(budget.open).toBe(2);
    budget.release();
    expect(budget.hasRoom()).toBe(false);
    budget.release();
    expect(budget.acquire()).toBe(true);
    expect(() => budget.setMax(-1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});
