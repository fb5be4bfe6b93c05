/**
 * SQLite crawl store: the store contract (test/support/store-contract.ts), WAL and read-only
 * readers, schema migration from version 1, and a crawl that is stopped and restarted on the
 * same database continuing where it was: no row twice, no node asked again before its
 * interval, the rest of the network covered.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { SqliteCrawlerStore } from '../../lib/crawler/store/sqlite-store.js';
import { SQLITE_SCHEMA_VERSION } from '../../lib/crawler/store/sqlite-schema.js';
import { createDhtCrawler } from '../../lib/crawler/dht-crawler.js';
import { WarmTestnet } from '../../lib/testing/warm-testnet.js';
import { DHT } from '../../lib/dht/dht.js';
import { decodeMessage } from '../../lib/krpc/codec.js';
import { seededRandom } from '../../lib/util/random.js';
import { toHex } from '../../lib/util/bytes.js';
import { ih, storeContract } from '../support/store-contract.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trackerless-crawl-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function rows(path: string): Array<{ infohash: Buffer; first_seen: number }> {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT * FROM torrents').all() as never;
  } finally {
    db.close();
  }
}

let n = 0;
storeContract('SQLite', async (opts) => SqliteCrawlerStore.open(join(dir, `contract-${n++}.db`), opts ?? {}));

describe('SqliteCrawlerStore', () => {
  it('serves "most seeders first" from an index, without a sort of the table', async () => {
    const store = SqliteCrawlerStore.open(join(dir, 'seeders-plan.db'));
    // The store's own statement, captured as it is prepared, is the one explained.
    const seen: string[] = [];
    const prepare = Database.prototype.prepare;
    Database.prototype.prepare = function (this: BetterSqlite3.Database, sql: string) {
      if (sql.includes('ORDER BY t.seeders')) seen.push(sql);
      return prepare.call(this, sql);
    } as typeof prepare;
    try {
      await store.search({ text: '', sort: 'seeders', order: 'desc', offset: 0, limit: 50 });
    } finally {
      Database.prototype.prepare = prepare;
    }
    await store.close();
    expect(seen).toHaveLength(1);
    const db = new Database(join(dir, 'seeders-plan.db'), { readonly: true });
    try {
      const plan = db
        .prepare<[number, number], { detail: string }>(`EXPLAIN QUERY PLAN ${seen[0]}`)
        .all(51, 0)
        .map((r) => r.detail);
      expect(plan.join('\n')).toContain('USING INDEX torrents_seeders');
      expect(plan.join('\n')).not.toContain('TEMP B-TREE');
    } finally {
      db.close();
    }
  });

  it('writes in WAL mode and reopens read-only beside a writer', async () => {
    const path = join(dir, 'wal.db');
    const store = SqliteCrawlerStore.open(path);
    store.record(ih(1), 'sample', 1000);
    await store.flush();
    const reader = SqliteCrawlerStore.open(path, { readonly: true });
    expect((await reader.summary()).torrents).toBe(1);
    store.record(ih(2), 'sample', 1000);
    await store.flush();
    expect((await reader.summary()).torrents).toBe(2);
    await reader.close();
    await store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('migrates a version 1 database: rows kept, resolved names searchable', async () => {
    const path = join(dir, 'v1.db');
    const db = new Database(path);
    db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('schema_version', '1');
      CREATE TABLE infohashes (infohash BLOB PRIMARY KEY, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
        source TEXT NOT NULL, seen_count INTEGER NOT NULL DEFAULT 1, name TEXT, size INTEGER, files TEXT, resolved_at INTEGER) WITHOUT ROWID;
      CREATE TABLE node_schedule (node TEXT PRIMARY KEY, next_allowed INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE frontier (host TEXT NOT NULL, port INTEGER NOT NULL, id BLOB, due INTEGER NOT NULL, PRIMARY KEY (host, port)) WITHOUT ROWID;`);
    const insert = db.prepare('INSERT INTO infohashes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    insert.run(
      Buffer.from(ih(1)),
      10,
      20,
      'sample',
      2,
      'Old Crawl Find',
      5,
      JSON.stringify([{ path: 'a/b.txt', size: 5 }]),
      30
    );
    insert.run(Buffer.from(ih(2)), 11, 21, 'get_peers', 1, null, null, null, null);
    db.close();
    const store = SqliteCrawlerStore.open(path);
    try {
      expect(await store.summary()).toMatchObject({ torrents: 2, resolved: 1 });
      const found = await store.search({
        text: 'crawl',
        sort: 'relevance',
        order: 'desc',
        offset: 0,
        limit: 10
      });
      expect(found.results.map((r) => r.name)).toEqual(['Old Crawl Find']);
      expect(await store.torrent(ih(1))).toMatchObject({
        seenCount: 2,
        fileCount: 1,
        files: [{ path: 'a/b.txt', size: 5 }]
      });
    } finally {
      await store.close();
    }
    const again = new Database(path, { readonly: true });
    expect(again.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({
      value: String(SQLITE_SCHEMA_VERSION)
    });
    again.close();
  });

  it('refuses a database newer than this code', () => {
    const path = join(dir, 'future.db');
    const db = new Database(path);
    db.exec(
      "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('schema_version', '99');"
    );
    db.close();
    expect(() => SqliteCrawlerStore.open(path)).toThrow(expect.objectContaining({ code: 'ERR_DATABASE' }));
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
      await crawler.start();
      await net.network.runFor(ms);
      await crawler.stop();
      await store.close();
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
