/**
 * SQLite crawl store: batched upserts without duplicates, metadata, state round trip, and a
 * crawl that is stopped and restarted on the same database continuing where it was: no row
 * twice, no node asked again before its interval, the rest of the network covered.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { SqliteCrawlerStore } from '../../lib/crawler/sqlite-store.js';
import { createDhtCrawler } from '../../lib/crawler/dht-crawler.js';
import { WarmTestnet } from '../../lib/testing/warm-testnet.js';
import { DHT } from '../../lib/dht/dht.js';
import { decodeMessage } from '../../lib/krpc/codec.js';
import { seededRandom } from '../../lib/util/random.js';
import { toHex } from '../../lib/util/bytes.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trackerless-crawl-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function rows(path: string): Array<{
  infohash: Buffer;
  first_seen: number;
  last_seen: number;
  source: string;
  seen_count: number;
  name: string | null;
  files: string | null;
}> {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT * FROM infohashes').all() as never;
  } finally {
    db.close();
  }
}

describe('SqliteCrawlerStore', () => {
  it('merges sightings into one row per infohash, in batches, in WAL mode', () => {
    const path = join(dir, 'a.db');
    const store = SqliteCrawlerStore.open(path, { batchSize: 3 });
    const rnd = seededRandom(1);
    const [a, b] = [rnd.bytes(20), rnd.bytes(20)];
    expect(store.record(a, 'get_peers', 1000)).toBe(true);
    expect(store.record(a, 'sample', 2000)).toBe(false); // pending merge
    expect(store.record(b, 'sample', 1500)).toBe(true);
    expect(rows(path)).toHaveLength(0); // still buffered
    store.flush();
    expect(store.record(a, 'announce_peer', 3000)).toBe(false); // already in the database
    store.recordMetadata(b, { name: 'x', size: 7, files: [{ path: 'x', size: 7 }] });
    store.close();
    const got = rows(path).sort((x, y) => x.first_seen - y.first_seen);
    expect(got.map((r) => [toHex(r.infohash), r.first_seen, r.last_seen, r.source, r.seen_count])).toEqual([
      [toHex(a), 1000, 3000, 'get_peers', 3],
      [toHex(b), 1500, 1500, 'sample', 1]
    ]);
    expect(got[1]!.name).toBe('x');
    expect(JSON.parse(got[1]!.files!)).toEqual([{ path: 'x', size: 7 }]);
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    const again = SqliteCrawlerStore.open(path);
    expect(again.count()).toBe(2);
    again.close();
  });

  it('saves and loads the crawl state, dropping expired schedule entries', () => {
    const store = SqliteCrawlerStore.open(join(dir, 'b.db'));
    const id = new Uint8Array(20).fill(4);
    store.saveState(
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
    const s = store.loadState(1000);
    expect(s.schedule).toEqual([{ key: '10.0.0.1:6881', nextAllowedMs: 5000 }]);
    expect(s.frontier).toEqual(
      expect.arrayContaining([
        { host: '10.0.0.3', port: 1, id, dueMs: 0 },
        { host: '::1', port: 2, dueMs: 9000 }
      ])
    );
    store.close();
  });
});

describe('a crawl stopped and restarted on the same database', () => {
  it('continues without duplicate rows and without asking nodes again early', async () => {
    const net = await WarmTestnet.create({
      size: 400,
      seed: 3,
      latencyMs: 20,
      node: { maintenanceIntervalMs: 3_600_000 }
    });
    const rnd = seededRandom(8);
    const infoHashes = Array.from({ length: 400 }, () => rnd.bytes(20));
    await net.storeInfoHashes(infoHashes);
    const known = new Set(infoHashes.map(toHex));
    const path = join(dir, 'restart.db');
    const asked: Array<Map<string, number>> = [];
    const run = async (
      ms: number,
      seed: number
    ): Promise<ReturnType<ReturnType<typeof createDhtCrawler>['stats']>> => {
      // A new process each time: new DHT node, new store handle on the same file.
      const dht = new DHT({
        transport: net.network.createTransport(),
        clock: net.network.clock,
        random: seededRandom(seed),
        bootstrap: [net.nodes[0]!.address()],
        maintenanceIntervalMs: 3_600_000
      });
      await net.run(dht.ready);
      const me = dht.address();
      const queries = new Map<string, number>();
      asked.push(queries);
      net.network.onSend = (from, to, data) => {
        if (from.host !== me.host || from.port !== me.port) return;
        const d = decodeMessage(data);
        if (d.ok && d.message.type === 'query' && d.message.query.method === 'sample_infohashes') {
          const key = `${to.host}:${to.port}`;
          queries.set(key, (queries.get(key) ?? 0) + 1);
        }
      };
      const store = SqliteCrawlerStore.open(path);
      const crawler = createDhtCrawler(dht, {
        store,
        clock: net.network.clock,
        random: seededRandom(seed + 1),
        queriesPerSecond: 40,
        bootstrap: [net.nodes[0]!.address()]
      });
      crawler.start();
      await net.network.runFor(ms);
      await crawler.stop();
      store.close();
      net.network.onSend = undefined;
      await dht.destroy();
      return crawler.stats();
    };

    const first = await run(2_500, 100); // ~60 of 400 nodes
    const rows1 = rows(path);
    expect(rows1.length).toBeGreaterThan(0);
    expect(rows1.length).toBeLessThan(known.size * 0.95);
    await net.network.runFor(5_000); // the "restart" takes a few seconds
    const second = await run(60_000, 200);
    const rows2 = rows(path);
    const hexes = rows2.map((r) => toHex(r.infohash));
    console.log(
      `[crawler-store] run 1: ${first.queriesSent} queries, ${rows1.length} rows; run 2 restored ${JSON.stringify(second.restored)}, ${second.queriesSent} queries, ${rows2.length} rows`
    );

    expect(new Set(hexes).size).toBe(hexes.length); // no duplicates
    expect(hexes.filter((h) => known.has(h)).length / known.size).toBeGreaterThanOrEqual(0.95);
    // Rows of the first run kept their first sighting.
    const firstSeen = new Map(rows1.map((r) => [toHex(r.infohash), r.first_seen]));
    for (const r of rows2)
      if (firstSeen.has(toHex(r.infohash))) expect(r.first_seen).toBe(firstSeen.get(toHex(r.infohash)));
    // State was restored and honoured: no node asked in run 1 was asked again in run 2.
    expect(second.restored.schedule).toBeGreaterThan(0);
    expect(second.restored.frontier + second.restored.revisits).toBeGreaterThan(0);
    const again = [...asked[1]!.keys()].filter((k) => asked[0]!.has(k));
    expect(again).toEqual([]);
    expect([...asked[0]!.values(), ...asked[1]!.values()].every((n) => n === 1)).toBe(true);
    await net.destroy();
  }, 120_000);
});
