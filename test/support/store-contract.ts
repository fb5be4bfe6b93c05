/**
 * One behaviour for every crawl database: the same checks run against SQLite
 * (test/unit/crawler-store.test.ts) and PostgreSQL (test/db/pg-store.test.ts).
 */
import { describe, expect, it } from '@jest/globals';
import type { IndexStore, SearchQuery } from '../../lib/crawler/store/torrent-index.js';
import { RESOLVE_MAX_ATTEMPTS } from '../../lib/crawler/store/policy.js';
import { toHex } from '../../lib/util/bytes.js';

export type OpenStore = (opts?: { maxTorrents?: number }) => Promise<IndexStore>;

export const ih = (n: number): Uint8Array => {
  const b = new Uint8Array(20);
  b[0] = n >> 8;
  b[1] = n & 0xff;
  b[19] = 7;
  return b;
};

const q = (over: Partial<SearchQuery> = {}): SearchQuery => ({
  text: '',
  sort: 'recent',
  order: 'desc',
  offset: 0,
  limit: 50,
  ...over
});

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);

export function storeContract(name: string, open: OpenStore): void {
  describe(`${name}: the crawl database contract`, () => {
    it('merges sightings into one row per infohash and reports each insert once', async () => {
      const s = await open();
      try {
        s.record(ih(1), 'get_peers', T0 + 1000);
        s.record(ih(1), 'sample', T0 + 2000);
        s.record(ih(2), 'sample', T0 + 1500);
        const first = await s.flush();
        expect(first.inserted.map((r) => [toHex(r.infoHash), r.source]).sort()).toEqual(
          [
            [toHex(ih(1)), 'get_peers'],
            [toHex(ih(2)), 'sample']
          ].sort()
        );
        s.record(ih(1), 'announce_peer', T0 + 3000);
        s.record(ih(1), 'sample', T0 + 500); // an older sighting moves first_seen back
        expect((await s.flush()).inserted).toEqual([]);
        const d = await s.torrent(ih(1));
        expect(d).toMatchObject({
          infoHash: toHex(ih(1)),
          firstSeenMs: T0 + 500,
          lastSeenMs: T0 + 3000,
          seenCount: 4,
          name: null,
          files: [],
          resolvedAtMs: null,
          seeders: null
        });
        expect(await s.torrent(ih(99))).toBeNull();
        expect((await s.summary()).torrents).toBe(2);
      } finally {
        await s.close();
      }
    });

    it('stores metadata, searches names and paths by word prefixes, filters, sorts and pages', async () => {
      const s = await open();
      try {
        const meta = [
          {
            name: 'Ubuntu-22.04.3-desktop-amd64.iso',
            size: 5e9,
            files: [{ path: 'Ubuntu-22.04.3-desktop-amd64.iso', size: 5e9 }]
          },
          {
            name: 'Debian 12 netinst',
            size: 6e8,
            files: [{ path: 'debian-12.2.0-amd64-netinst.iso', size: 6e8 }]
          },
          {
            name: 'Big Buck Bunny',
            size: 2.6e8,
            files: [
              { path: 'Big Buck Bunny/bbb_sunflower_1080p.mp4', size: 2.6e8 },
              { path: 'Big Buck Bunny/poster.jpg', size: 1e5 }
            ]
          },
          {
            name: 'Ünïcode Ångström <b>&"quotes"</b>',
            size: 1234,
            files: [{ path: 'dir/naïve café.txt', size: 1234 }]
          }
        ];
        meta.forEach((_, i) => s.record(ih(10 + i), 'sample', T0 + i * DAY));
        s.record(ih(20), 'sample', T0); // never resolved: not in search results
        await s.flush();
        meta.forEach((m, i) => s.recordMetadata(ih(10 + i), m, T0 + i * DAY + 1));
        await s.flush();
        const names = async (over: Partial<SearchQuery>): Promise<string[]> =>
          (await s.search(q(over))).results.map((r) => r.name);

        expect(await names({ text: 'ubuntu' })).toEqual([meta[0]!.name]);
        expect(await names({ text: 'ubu 22.04' })).toEqual([meta[0]!.name]); // prefixes, all words
        expect(await names({ text: 'amd64' })).toEqual(
          expect.arrayContaining([meta[0]!.name, meta[1]!.name])
        );
        expect(await names({ text: 'sunflower' })).toEqual([meta[2]!.name]); // a file path word
        expect(await names({ text: 'CAFÉ naïve' })).toEqual([meta[3]!.name]); // case, accents kept
        expect(await names({ text: 'ubuntu debian' })).toEqual([]);
        expect(await names({ text: '" OR 1=1 --' })).toEqual([]); // only words reach the query
        expect(await names({ text: "*)(&|'" })).toHaveLength(4); // no words at all: no text filter

        expect(await names({})).toEqual([meta[3]!.name, meta[2]!.name, meta[1]!.name, meta[0]!.name]);
        expect(await names({ order: 'asc' })).toEqual([
          meta[0]!.name,
          meta[1]!.name,
          meta[2]!.name,
          meta[3]!.name
        ]);
        expect(await names({ sort: 'size' })).toEqual([
          meta[0]!.name,
          meta[1]!.name,
          meta[2]!.name,
          meta[3]!.name
        ]);
        expect(await names({ minSize: 5e8, maxSize: 1e9 })).toEqual([meta[1]!.name]);
        expect(await names({ seenAfterMs: T0 + 2 * DAY })).toEqual([meta[3]!.name, meta[2]!.name]);
        expect(await names({ seenBeforeMs: T0 + DAY })).toEqual([meta[0]!.name]);

        const p1 = await s.search(q({ limit: 3 }));
        const p2 = await s.search(q({ limit: 3, offset: 3 }));
        expect(p1.hasMore).toBe(true);
        expect(p2.hasMore).toBe(false);
        expect([...p1.results, ...p2.results].map((r) => r.name)).toEqual(await names({}));

        const d = await s.torrent(ih(12));
        expect(d).toMatchObject({
          name: 'Big Buck Bunny',
          size: 2.6e8,
          fileCount: 2,
          resolvedAtMs: T0 + 2 * DAY + 1
        });
        expect(d!.files).toEqual(meta[2]!.files);
        const sum = await s.summary();
        expect(sum).toMatchObject({ torrents: 5, resolved: 4 });
        expect(sum.bytes).toBeGreaterThan(0);
      } finally {
        await s.close();
      }
    });

    it('hands out unresolved infohashes by claims with a lease, and retries failures a bounded number of times', async () => {
      const s = await open();
      try {
        for (let i = 0; i < 5; i++) s.record(ih(100 + i), 'sample', T0);
        await s.flush();
        const a = await s.claimUnresolved(3, T0, 60_000);
        const b = await s.claimUnresolved(10, T0, 60_000);
        expect(a).toHaveLength(3);
        expect(b).toHaveLength(2); // never the same infohash to two claimers
        const claimed = new Set([...a, ...b].map(toHex));
        expect(claimed.size).toBe(5);
        expect(await s.claimUnresolved(10, T0 + 59_000, 60_000)).toEqual([]); // leases still running
        // Resolve one, fail one; the others' leases expire (their claimer "crashed").
        s.recordMetadata(a[0]!, { name: 'x', size: 1, files: [{ path: 'x', size: 1 }] }, T0 + 1000);
        s.recordResolveFailure(a[1]!, T0 + 1000);
        await s.flush();
        const again = (await s.claimUnresolved(10, T0 + 61_000, 60_000)).map(toHex).sort();
        expect(again).toEqual([a[2]!, ...b].map(toHex).sort()); // not the resolved, not the failed yet
        // The failed one comes back after its retry delay, until RESOLVE_MAX_ATTEMPTS.
        let t = T0 + 1000;
        let attempts = 1;
        for (;;) {
          t += 24 * 3600_000;
          const got = (await s.claimUnresolved(10, t, 60_000)).map(toHex);
          if (!got.includes(toHex(a[1]!))) break;
          attempts++;
          s.recordResolveFailure(a[1]!, t);
          await s.flush();
          expect(attempts).toBeLessThanOrEqual(RESOLVE_MAX_ATTEMPTS);
        }
        expect(attempts).toBe(RESOLVE_MAX_ATTEMPTS);
      } finally {
        await s.close();
      }
    });

    it('enforces the size cap: unresolved first, then least seen, then longest unseen, and counts evictions', async () => {
      const s = await open({ maxTorrents: 4 });
      try {
        const kept = async (): Promise<number[]> => {
          const out: number[] = [];
          for (let n = 1; n <= 50; n++) if (await s.torrent(ih(n))) out.push(n);
          return out;
        };
        const see = (n: number, times: number, at: number): void => {
          for (let k = 0; k < times; k++) s.record(ih(n), 'sample', T0 + at * 1000);
        };
        see(1, 1, 1);
        see(2, 1, 2);
        await s.flush();
        s.recordMetadata(ih(1), { name: 'one', size: 1, files: [] }, T0);
        s.recordMetadata(ih(2), { name: 'two', size: 2, files: [] }, T0);
        await s.flush();
        // 3 seen three times, 6 twice, 4 and 5 once: the two seen once go (unresolved, least seen).
        see(3, 3, 3);
        see(4, 1, 4);
        see(5, 1, 5);
        see(6, 2, 6);
        expect((await s.flush()).evicted).toBe(2);
        expect(await kept()).toEqual([1, 2, 3, 6]);
        see(7, 1, 7); // a newcomer seen once is the least seen unresolved
        expect((await s.flush()).evicted).toBe(1);
        expect(await kept()).toEqual([1, 2, 3, 6]);
        // Unresolved ones go before any resolved one, however often they were seen.
        s.recordMetadata(ih(3), { name: 'three', size: 3, files: [] }, T0);
        see(40, 5, 9);
        expect((await s.flush()).evicted).toBe(1);
        expect(await kept()).toEqual([1, 2, 3, 40]);
        // Only resolved left: the least seen, longest unseen resolved torrent goes (1, not 2).
        see(41, 1, 10);
        s.recordMetadata(ih(40), { name: 'forty', size: 40, files: [] }, T0);
        s.recordMetadata(ih(41), { name: 'forty-one', size: 41, files: [] }, T0);
        expect((await s.flush()).evicted).toBe(1);
        expect(await kept()).toEqual([2, 3, 40, 41]);
        const sum = await s.summary();
        expect(sum).toMatchObject({ torrents: 4, resolved: 4, evicted: { unresolved: 4, resolved: 1 } });
        expect((await s.search(q({ text: 'one' }))).results.map((r) => r.name)).toEqual(['forty-one']); // evicted rows leave the search index
      } finally {
        await s.close();
      }
    });

    it('claims stale torrents for scraping and stores the estimates', async () => {
      const s = await open();
      try {
        for (let i = 0; i < 3; i++) s.record(ih(200 + i), 'sample', T0);
        s.record(ih(210), 'sample', T0); // unresolved: not scraped
        await s.flush();
        for (let i = 0; i < 3; i++) s.recordMetadata(ih(200 + i), { name: `t${i}`, size: 1, files: [] }, T0);
        await s.flush();
        const a = await s.claimScrapes(2, T0 + 10, 3600_000);
        const b = await s.claimScrapes(5, T0 + 10, 3600_000);
        expect(a).toHaveLength(2);
        expect(b).toHaveLength(1);
        expect(await s.claimScrapes(5, T0 + 20, 3600_000)).toEqual([]);
        await s.recordScrape(a[0]!, { seeders: 12, leechers: 3 }, T0 + 30);
        expect(await s.torrent(a[0]!)).toMatchObject({ seeders: 12, leechers: 3, scrapedAtMs: T0 + 30 });
        expect(await s.claimScrapes(5, T0 + 3600_000 + 31, 3600_000)).toHaveLength(3); // stale again
        const bySeeders = await s.search(q({ sort: 'seeders' }));
        expect(bySeeders.results[0]!.infoHash).toBe(toHex(a[0]!));
      } finally {
        await s.close();
      }
    });

    it('saves and loads the crawl state, dropping expired schedule entries', async () => {
      const s = await open();
      try {
        const id = new Uint8Array(20).fill(4);
        await s.saveState(
          {
            schedule: [
              { key: '10.0.0.1:6881', nextAllowedMs: 5000 },
              { key: '10.0.0.2:6881', nextAllowedMs: 500 }
            ],
            frontier: [
              { host: '10.0.0.3', port: 1, id, dueMs: 0 },
              { host: '::1', port: 2, dueMs: 9000 }
            ]
          },
          100
        );
        await s.saveState(
          {
            schedule: [{ key: '10.0.0.4:1', nextAllowedMs: 7000 }],
            frontier: [{ host: '10.0.0.3', port: 1, id, dueMs: 0 }]
          },
          200
        );
        const st = await s.loadState(1000);
        expect(st.schedule.sort((x, y) => x.key.localeCompare(y.key))).toEqual([
          { key: '10.0.0.1:6881', nextAllowedMs: 5000 },
          { key: '10.0.0.4:1', nextAllowedMs: 7000 }
        ]);
        expect(st.frontier).toEqual([{ host: '10.0.0.3', port: 1, id, dueMs: 0 }]);
      } finally {
        await s.close();
      }
    });
  });
}
