/**
 * The DHT on a hostile, half-dead simulated network (issue 8), in virtual time, with the
 * default protections. The full-size figures (2,000 nodes, and the same runs with the
 * protections off) come from bench/dht-hostile.ts; CI runs 400-node versions (~25 s of CPU
 * together) with the bounds asserted.
 */
import { describe, expect, it } from '@jest/globals';
import { median } from '../../bench/lib/stats.js';
import { runChurn, runDead, runSybil } from '../../bench/lib/hostile-sim.js';

describe('hostile simulated networks', () => {
  it('Sybil: 100 ports on one IP around X; fresh nodes still find the stored peer', async () => {
    const r = await runSybil({
      size: 400,
      seed: 4,
      targets: 1,
      lookupsPerTarget: 100,
      sybils: 100,
      sharedBits: 150
    });
    expect(r.lookups).toBe(100);
    expect(r.metSybils).toBeGreaterThan(50); // the attack reached the lookups
    expect(r.foundRate).toBeGreaterThanOrEqual(0.99);
  }, 400_000);

  it('40% dead nodes, RTT 20-300 ms: first peer <= 2x and completion <= 3x the clean times', async () => {
    const r = await runDead({ size: 400, seed: 5, deadFraction: 0.4, lookups: 40 });
    expect(r.clean.found).toBe(40);
    expect(r.dead.found).toBe(40);
    expect(median(r.dead.firstPeerMs)).toBeLessThanOrEqual(2 * median(r.clean.firstPeerMs));
    expect(median(r.dead.durationMs)).toBeLessThanOrEqual(3 * median(r.clean.durationMs));
  }, 400_000);

  it('churn: 30% of the nodes leave during lookups; >= 99% still succeed and the tables heal', async () => {
    const r = await runChurn({ size: 400, seed: 6, leaveFraction: 0.3, lookups: 100, healMinutes: [0, 15] });
    expect(r.foundRate).toBeGreaterThanOrEqual(0.99);
    const [atChurn, later] = r.deadEntries;
    expect(atChurn!.fraction).toBeGreaterThan(0.2);
    expect(later!.fraction).toBeLessThan(0.02);
    expect(later!.liveMedian).toBeGreaterThanOrEqual(0.7 * r.tableBefore);
  }, 400_000);
});
