/** RFC 6298's estimate (shared by the DHT and uTP) and the DHT's slow-after built on it. */
import { describe, expect, it } from '@jest/globals';
import { SmoothedRtt } from '../../lib/util/smoothed-rtt.js';
import { INITIAL_SLOW_AFTER_MS, RttEstimator } from '../../lib/rpc/rtt-estimator.js';

describe('SmoothedRtt', () => {
  it('starts from the first sample and moves by 1/8 (mean) and 1/4 (deviation)', () => {
    const r = new SmoothedRtt();
    r.sample(100);
    expect([r.srtt, r.rttvar, r.samples]).toEqual([100, 50, 1]);
    r.sample(180);
    expect(r.rttvar).toBe(50 + (80 - 50) / 4);
    expect(r.srtt).toBe(110);
  });

  it('ignores samples that are negative or not finite', () => {
    const r = new SmoothedRtt();
    for (const bad of [-1, NaN, Infinity]) r.sample(bad);
    expect(r.samples).toBe(0);
  });
});

describe('RttEstimator.slowAfter', () => {
  it('is the initial wait before any answer, then srtt + 4 rttvar, clamped', () => {
    const e = new RttEstimator();
    expect(e.slowAfter(150, 1000)).toBe(INITIAL_SLOW_AFTER_MS);
    e.sample(40);
    expect(e.slowAfter(150, 1000)).toBe(150); // 40 + 80 = 120, raised to the floor
    e.sample(400);
    expect(e.slowAfter(150, 1000)).toBe(Math.round(85 + 4 * 105));
    expect(e.slowAfter(150, 300)).toBe(300);
  });

  it("uses the node's own RTT when known: 3x it, or it plus 4 rttvar", () => {
    const e = new RttEstimator();
    e.sample(100); // rttvar 50
    expect(e.slowAfter(150, 1000, 200)).toBe(600);
    expect(e.slowAfter(150, 1000, 60)).toBe(260);
  });
});
