/**
 * Lookups under continuous churn (issue 8), in virtual time: 10% of the nodes are replaced
 * every virtual minute while announce-then-get_peers pairs run from random nodes. The long
 * run is the soak (scripts/soak-dht.ts, 5% a minute for hours); this CI-sized run asserts the
 * bounds. With the soak's old order (newcomers bootstrapping from nodes about to leave) this
 * run grows islands and finds 92.7% of the peers; every lookup finds its peer without them.
 */
import { describe, expect, it } from '@jest/globals';
import { ContinuousChurn } from '../../bench/lib/continuous-churn.js';

/** Runs `body` on a churning network and destroys the network whatever happens. */
async function withChurn(
  opts: Parameters<typeof ContinuousChurn.create>[0],
  body: (churn: ContinuousChurn) => Promise<void>
): Promise<void> {
  const churn = await ContinuousChurn.create(opts);
  try {
    await body(churn);
  } finally {
    await churn.destroy();
  }
}

describe('continuous churn', () => {
  it('10% of 150 nodes replaced every virtual minute for 15 minutes: lookups find their peer, no islands', async () => {
    await withChurn({ size: 150, seed: 3, churnPerMinute: 0.1, lookupsPerMinute: 10 }, async (churn) => {
      let lookups = 0;
      let found = 0;
      let worstDead = 0;
      for (let m = 0; m < 15; m++) {
        const r = await churn.round();
        lookups += r.lookups;
        found += r.found;
        worstDead = Math.max(worstDead, r.deadEntries);
      }
      expect(found / lookups).toBeGreaterThanOrEqual(0.97);
      expect(churn.reachFraction()).toBe(1);
      // Departed nodes leave the tables through pings and failed queries (~25% at this churn).
      expect(worstDead).toBeLessThan(0.35);
    });
  }, 300_000);

  it('5% of 150 nodes replaced every virtual minute: dead table entries stay few', async () => {
    // Liveness pings (30 a minute, after a minute of silence) and the replacement cache find
    // and refill dead entries within about a minute. Pinging only after 5 minutes of silence,
    // 8 a minute, left 15.5-16.8% of the entries dead from the fourth minute on in this run.
    await withChurn({ size: 150, seed: 1, churnPerMinute: 0.05, lookupsPerMinute: 20 }, async (churn) => {
      const dead: number[] = [];
      for (let m = 0; m < 10; m++) dead.push((await churn.round()).deadEntries);
      expect(Math.max(...dead.slice(3))).toBeLessThan(0.08);
      expect(churn.reachFraction()).toBe(1);
    });
  }, 300_000);
});
