/**
 * PostgreSQL crawl store against a real server (a throwaway cluster, test/support/pg-cluster.ts):
 * the store contract shared with SQLite, versioned migrations applied once by crawlers starting
 * together, shards held by advisory locks and freed when a crawler's connection dies, and
 * concurrent writers on overlapping infohashes without a duplicate or a lost sighting.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { PgCrawlerStore } from '../../lib/crawler/store/pg-store.js';
import { PG_SCHEMA_VERSION } from '../../lib/crawler/store/pg-schema.js';
import { openStore } from '../../lib/crawler/store/open-store.js';
import { startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { ih, storeContract } from '../support/store-contract.js';

let cluster: PgCluster;
let n = 0;

beforeAll(async () => {
  cluster = await startPgCluster();
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
}, 30_000);

storeContract('PostgreSQL', async (opts) =>
  PgCrawlerStore.open(await cluster.createDatabase(`contract_${n++}`), { shards: 0, ...opts })
);

describe('PgCrawlerStore', () => {
  it('serves "most seeders first" from an index, without sorting the table', async () => {
    const url = await cluster.createDatabase('seeders_plan');
    const store = await PgCrawlerStore.open(url, { shards: 0 });
    // The store's own statement, captured as it runs, is the one explained.
    const seen: string[] = [];
    const query = pg.Pool.prototype.query;
    pg.Pool.prototype.query = function (this: pg.Pool, ...args: unknown[]) {
      if (typeof args[0] === 'string' && args[0].includes('ORDER BY seeders')) seen.push(args[0]);
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    try {
      await store.search({ text: '', sort: 'seeders', order: 'desc', offset: 0, limit: 50 });
    } finally {
      pg.Pool.prototype.query = query;
      await store.close();
    }
    expect(seen).toHaveLength(1);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      // On an empty table any plan is cheap: forbid sorting, so only an index in this order fits.
      await admin.query('SET enable_sort = off');
      const plan = await admin.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${seen[0]}`, [51, 0]);
      const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(text).toContain('torrents_seeders');
      expect(text).not.toMatch(/\bSort\b/);
    } finally {
      await admin.end();
    }
  });

  it('migrates once when several crawlers start together, and hands each a different shard', async () => {
    const url = await cluster.createDatabase('shards');
    const stores = await Promise.all([0, 1, 2].map(() => PgCrawlerStore.open(url, { shards: 3 })));
    expect(stores.map((s) => s.shard.index).sort()).toEqual([0, 1, 2]);
    await expect(PgCrawlerStore.open(url, { shards: 3 })).rejects.toMatchObject({ code: 'ERR_DATABASE' });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const versions = await admin.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(versions.rows).toEqual(Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
    // A crawler whose connection dies (crash) frees its shard at once: kill its backend.
    const victim = stores[1]!;
    const held = await admin.query<{ pid: number; objid: number }>(
      "SELECT pid, objid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1",
      [victim.shard.index]
    );
    expect(held.rows).toHaveLength(1);
    await admin.query('SELECT pg_terminate_backend($1)', [held.rows[0]!.pid]);
    const deadline = Date.now() + 10_000;
    let replacement: PgCrawlerStore | null = null;
    while (!replacement && Date.now() < deadline) {
      replacement = await PgCrawlerStore.open(url, { shards: 3 }).catch(() => null);
      if (!replacement) await new Promise((r) => setTimeout(r, 100));
    }
    expect(replacement?.shard.index).toBe(victim.shard.index);
    await admin.end();
    for (const s of [...stores, replacement!]) await s.close().catch(() => undefined);
  });

  it('lets concurrent writers upsert overlapping infohashes: no duplicate, every sighting counted once', async () => {
    const url = await cluster.createDatabase('concurrent');
    const writers = await Promise.all([0, 1, 2, 3].map(() => openStore(url, { shards: 0 })));
    const inserted = new Map<string, number>();
    // Each writer sees 600 infohashes, half of them shared with every other writer, in its own order.
    await Promise.all(
      writers.map(async (w, k) => {
        for (let round = 0; round < 6; round++) {
          for (let i = 0; i < 100; i++) {
            const shared = (i * 7 + round * 13 + k * 31) % 300;
            w.record(ih(1000 + shared), 'sample', 1000 + round);
            w.record(ih(5000 + k * 1000 + round * 100 + i), 'sample', 1000 + round);
          }
          for (const r of (await w.flush()).inserted) {
            const key = Buffer.from(r.infoHash).toString('hex');
            inserted.set(key, (inserted.get(key) ?? 0) + 1);
          }
        }
      })
    );
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const { rows } = await admin.query<{ n: string; d: string; seen: string }>(
      'SELECT count(*) AS n, count(DISTINCT infohash) AS d, sum(seen_count) AS seen FROM torrents'
    );
    await admin.end();
    expect(Number(rows[0]!.n)).toBe(Number(rows[0]!.d));
    expect(Number(rows[0]!.seen)).toBe(4 * 6 * 200);
    expect(Number(rows[0]!.n)).toBe(inserted.size); // every row reported inserted...
    expect([...inserted.values()].every((c) => c === 1)).toBe(true); // ...by exactly one writer
    expect((await writers[0]!.summary()).torrents).toBe(inserted.size); // counters exact
    for (const w of writers) await w.close();
  });

  it('fails clearly on an unreachable server', async () => {
    await expect(
      PgCrawlerStore.open('postgres://postgres@127.0.0.1:1/x', { shards: 0 })
    ).rejects.toMatchObject({
      code: 'ERR_DATABASE'
    });
  });
});
