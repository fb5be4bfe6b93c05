/**
 * Liveness refresh in virtual time: one scrape per interval, one at a time, claimed from the
 * index in batches, estimates recorded, failures and absurd estimates counted and dropped,
 * a hung scrape aborted at its timeout, and stop() waits for the scrape in flight.
 */
import { describe, expect, it } from '@jest/globals';
import { LivenessRefresher, type ScrapeFunction } from '../../lib/crawler/liveness.js';
import type { ScrapeEstimate } from '../../lib/crawler/store/torrent-index.js';
import { FakeClock } from '../support/fake-clock.js';

function fakeIndex(n: number) {
  const queue = Array.from({ length: n }, (_, i) => new Uint8Array(20).fill(i + 1));
  const recorded: Array<{ ih: number; e: ScrapeEstimate; at: number }> = [];
  const claims: number[] = [];
  return {
    recorded,
    claims,
    index: {
      async claimScrapes(max: number) {
        claims.push(max);
        return queue.splice(0, max);
      },
      async recordScrape(ih: Uint8Array, e: ScrapeEstimate, at: number) {
        recorded.push({ ih: ih[0]!, e, at });
      }
    }
  };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('LivenessRefresher', () => {
  it('scrapes one torrent per interval, records estimates, drops failures and absurd values', async () => {
    const clock = new FakeClock(1_000);
    const { index, recorded, claims } = fakeIndex(20);
    let inFlight = 0;
    let maxInFlight = 0;
    const scrape: ScrapeFunction = async (ih) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await Promise.resolve();
      inFlight--;
      if (ih[0] === 2) return null; // no BEP 33 answer
      if (ih[0] === 3) throw new Error('lookup failed');
      if (ih[0] === 4) return { seeders: -1, leechers: 5 };
      return { seeders: ih[0]! * 10 + 0.4, leechers: ih[0]! - 0.3 }; // estimates are real numbers
    };
    const r = new LivenessRefresher({ index, scrape, clock, intervalMs: 2_000 });
    r.start();
    for (let i = 0; i < 10; i++) {
      clock.advance(2_000);
      await settle();
    }
    await r.stop();
    expect(r.stats()).toEqual({ scraped: 7, failed: 3 });
    expect(recorded.map((x) => x.ih)).toEqual([1, 5, 6, 7, 8, 9, 10]);
    expect(recorded[0]).toEqual({ ih: 1, e: { seeders: 10, leechers: 1 }, at: 3_000 }); // rounded
    expect(claims).toEqual([16]); // one claim of a batch, not one per torrent
    expect(maxInFlight).toBe(1);
  });

  it('aborts a scrape that outlives its timeout, and stop() waits for the one in flight', async () => {
    const clock = new FakeClock(0);
    const { index, recorded } = fakeIndex(2);
    const aborted: boolean[] = [];
    const scrape: ScrapeFunction = (_ih, signal) =>
      new Promise((_, reject) =>
        signal.addEventListener('abort', () => {
          aborted.push(true);
          reject(new Error('aborted'));
        })
      );
    const r = new LivenessRefresher({ index, scrape, clock, intervalMs: 1_000, timeoutMs: 5_000 });
    r.start();
    clock.advance(1_000);
    await settle();
    clock.advance(4_999);
    await settle();
    expect(aborted).toEqual([]);
    clock.advance(1);
    await settle();
    expect(aborted).toEqual([true]);
    expect(r.stats().failed).toBe(1);
    clock.advance(1_000); // the next one starts...
    await settle();
    await r.stop(); // ...and stop() aborts it and waits
    expect(aborted).toEqual([true, true]);
    expect(recorded).toEqual([]);
  });
});
