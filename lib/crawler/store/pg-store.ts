/**
 * PostgreSQL crawl database (the `pg` client): the same store as SQLite (torrent-index.ts,
 * types.ts CrawlerStore) for several crawler processes, on one host or many, and a server.
 *
 * How crawlers share it:
 * - Keyspace: each crawler holds one shard (shard.ts) through a session advisory lock on a
 *   dedicated connection. A crawler that dies loses its connection, PostgreSQL releases the
 *   lock at once, and a restarted crawler takes the free shard and its saved state.
 * - Writes: batched upserts (one INSERT ... SELECT FROM unnest(...) per flush, rows sorted by
 *   infohash so concurrent writers lock rows in one order); the primary key makes a duplicate
 *   impossible, and `RETURNING (xmax = 0)` tells each writer which rows it inserted. A write
 *   that loses a deadlock or serialization race is retried.
 * - Resolution and scrapes: claimed with `FOR UPDATE SKIP LOCKED` and a lease.
 * - Counts: `crawl_counters` is updated in the writing transactions (exact, no COUNT(*) over
 *   millions of rows); its row lock also makes the size cap exact across writers.
 *
 * `pg` is an optional dependency imported when a store is opened; without it open() throws
 * MissingDependencyError.
 */
import type { Pool, PoolClient, Client, QueryResultRow } from 'pg';
import { DatabaseError } from '../../errors.js';
import { importOptional } from '../../util/optional-dependency.js';
import type { CrawlerState, FlushResult, InfoHashSource, TorrentMetadata } from '../types.js';
import { LOCK_NAMESPACE, migratePg } from './pg-schema.js';
import { WriteBuffer, type Batch } from './write-buffer.js';
import { documentText, queryWords, tsQuery } from './search-text.js';
import {
  EVICTION_ORDER,
  MAX_EVICT_PER_FLUSH,
  MAX_FILES_STORED,
  NEVER,
  RESOLVE_MAX_ATTEMPTS,
  resolveRetryDelayMs
} from './policy.js';
import { SUMMARY_COLUMNS, toDetail, toSummary, type TorrentDetailRow, type TorrentRow } from './rows.js';
import type {
  IndexStore,
  IndexSummary,
  ScrapeEstimate,
  SearchPage,
  SearchQuery,
  TorrentDetail
} from './torrent-index.js';

export interface PgStoreOptions {
  /** Write after this many distinct pending infohashes (default 2000). */
  batchSize?: number;
  /** Size cap: keep at most this many infohashes (default: no cap). See store/policy.ts. */
  maxTorrents?: number;
  /**
   * Crawlers sharing the database: this store takes a free shard of that many (default 1).
   * 0: take none (a server that only reads and scrapes).
   */
  shards?: number;
  /** Connections in the pool (default 4). */
  poolSize?: number;
}

type PgModule = typeof import('pg');

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

const RETRYABLE = new Set(['40P01', '40001']); // deadlock_detected, serialization_failure
const MAX_WRITE_TRIES = 4;

const clean = (s: string): string => s.replace(/\0/g, ''); // PostgreSQL text cannot hold NUL

export class PgCrawlerStore implements IndexStore {
  readonly location: string;
  readonly shard: { index: number; count: number };
  private readonly pool: Pool;
  private readonly lockClient: Client | null;
  private readonly batchSize: number;
  private readonly maxTorrents: number;
  private readonly buffer = new WriteBuffer();
  /** Results of writes triggered by a full buffer, reported by the next flush(). */
  private unreported: FlushResult = { inserted: [], evicted: 0 };
  private writing: Promise<void> | null = null;
  private closed = false;

  static async open(url: string, opts: PgStoreOptions = {}): Promise<PgCrawlerStore> {
    const pg = await importOptional<PgModule>('pg', 'a PostgreSQL crawl database');
    const location = redactUrl(url);
    // bigint columns hold ms timestamps and byte sizes: all below 2^53, read them as numbers.
    const types = {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser
    };
    const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 4, types });
    pool.on('error', () => undefined); // an idle client's connection dropped: the next query reconnects
    let lockClient: Client | null = null;
    try {
      const client = await pool.connect();
      try {
        await migratePg(client, location);
      } finally {
        client.release();
      }
      const count = Math.max(0, Math.floor(opts.shards ?? 1));
      let index = 0;
      if (count > 0) {
        lockClient = new pg.Client({ connectionString: url, types });
        lockClient.on('error', () => undefined);
        await lockClient.connect();
        index = await takeShard(lockClient, count, location);
      }
      return new PgCrawlerStore(pool, lockClient, location, { index, count: Math.max(1, count) }, opts);
    } catch (err) {
      await lockClient?.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
      if (err instanceof DatabaseError) throw err;
      throw new DatabaseError(`${location}: ${(err as Error).message}`, { cause: err });
    }
  }

  private constructor(
    pool: Pool,
    lockClient: Client | null,
    location: string,
    shard: { index: number; count: number },
    opts: PgStoreOptions
  ) {
    this.pool = pool;
    this.lockClient = lockClient;
    this.location = location;
    this.shard = shard;
    this.batchSize = Math.max(1, Math.floor(opts.batchSize ?? 2000));
    this.maxTorrents = opts.maxTorrents && opts.maxTorrents > 0 ? Math.floor(opts.maxTorrents) : Infinity;
  }

  // --- CrawlerStore ------------------------------------------------------------------------

  record(infoHash: Uint8Array, source: InfoHashSource, atMs: number): void {
    this.buffer.record(infoHash, source, atMs);
    // A full buffer is written in the background; the crawler's next flush() waits for it.
    if (this.buffer.size >= this.batchSize && !this.writing) {
      this.writing = this.write()
        .then((r) => {
          this.unreported.inserted.push(...r.inserted);
          this.unreported.evicted += r.evicted;
        })
        .catch(() => undefined) // the batch went back to the buffer; flush() reports errors
        .finally(() => (this.writing = null));
    }
  }

  recordMetadata(infoHash: Uint8Array, meta: TorrentMetadata, atMs: number): void {
    this.buffer.recordMetadata(infoHash, meta, atMs);
  }

  recordResolveFailure(infoHash: Uint8Array, atMs: number): void {
    this.buffer.recordFailure(infoHash, atMs);
  }

  async flush(): Promise<FlushResult> {
    await this.writing;
    const r = await this.write();
    const out = {
      inserted: [...this.unreported.inserted, ...r.inserted],
      evicted: this.unreported.evicted + r.evicted
    };
    this.unreported = { inserted: [], evicted: 0 };
    return out;
  }

  async claimUnresolved(max: number, nowMs: number, leaseMs: number): Promise<Uint8Array[]> {
    const { rows } = await this.pool.query<{ infohash: Buffer }>(
      `UPDATE torrents SET resolve_after = $1, resolve_attempts = resolve_attempts + 1
       WHERE infohash IN (SELECT infohash FROM torrents WHERE resolved_at IS NULL AND resolve_after <= $2
                          ORDER BY resolve_after LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING infohash`,
      [nowMs + leaseMs, nowMs, Math.max(0, Math.floor(max))]
    );
    return rows.map((r) => new Uint8Array(r.infohash));
  }

  async loadState(nowMs: number): Promise<CrawlerState> {
    const shard = this.shard.index;
    const sched = await this.pool.query<{ node: string; next_allowed: number }>(
      'SELECT node, next_allowed FROM node_schedule WHERE shard = $1 AND next_allowed > $2',
      [shard, nowMs]
    );
    const front = await this.pool.query<{ host: string; port: number; id: Buffer | null; due: number }>(
      'SELECT host, port, id, due FROM frontier WHERE shard = $1',
      [shard]
    );
    return {
      schedule: sched.rows.map((r) => ({ key: r.node, nextAllowedMs: r.next_allowed })),
      frontier: front.rows.map((r) => ({
        host: r.host,
        port: r.port,
        dueMs: r.due,
        ...(r.id && r.id.length === 20 ? { id: new Uint8Array(r.id) } : {})
      }))
    };
  }

  async saveState(state: CrawlerState, nowMs: number): Promise<void> {
    const shard = this.shard.index;
    await this.transaction(async (c) => {
      await c.query(
        `INSERT INTO node_schedule (shard, node, next_allowed)
         SELECT $1::int, * FROM unnest($2::text[], $3::bigint[]) ORDER BY 2
         ON CONFLICT (shard, node) DO UPDATE SET next_allowed = EXCLUDED.next_allowed`,
        [shard, state.schedule.map((e) => e.key), state.schedule.map((e) => Math.round(e.nextAllowedMs))]
      );
      await c.query('DELETE FROM node_schedule WHERE shard = $1 AND next_allowed <= $2', [shard, nowMs]);
      await c.query('DELETE FROM frontier WHERE shard = $1', [shard]);
      const f = state.frontier;
      await c.query(
        `INSERT INTO frontier (shard, host, port, id, due)
         SELECT $1::int, * FROM unnest($2::text[], $3::int[], $4::bytea[], $5::bigint[])
         ON CONFLICT (shard, host, port) DO UPDATE SET id = EXCLUDED.id, due = EXCLUDED.due`,
        [
          shard,
          f.map((c) => c.host),
          f.map((c) => c.port),
          f.map((c) => (c.id ? Buffer.from(c.id) : null)),
          f.map((c) => Math.round(c.dueMs))
        ]
      );
    });
  }

  // --- TorrentIndex ------------------------------------------------------------------------

  async search(q: SearchQuery): Promise<SearchPage> {
    const ws = queryWords(q.text);
    const where = ['resolved_at IS NOT NULL'];
    const params: Array<string | number> = [];
    const param = (v: string | number): string => {
      params.push(v);
      return `$${params.length}`;
    };
    let rank = '';
    if (ws.length > 0) {
      const tq = `to_tsquery('simple', ${param(tsQuery(ws))})`;
      where.push(`search @@ ${tq}`);
      rank = `ts_rank(search, ${tq}) DESC, first_seen DESC`;
    }
    if (q.minSize !== undefined) where.push(`size >= ${param(q.minSize)}`);
    if (q.maxSize !== undefined) where.push(`size <= ${param(q.maxSize)}`);
    if (q.seenAfterMs !== undefined) where.push(`first_seen >= ${param(q.seenAfterMs)}`);
    if (q.seenBeforeMs !== undefined) where.push(`first_seen < ${param(q.seenBeforeMs)}`);
    const dir = q.order === 'asc' ? 'ASC' : 'DESC';
    const order =
      q.sort === 'relevance' && rank
        ? rank
        : q.sort === 'seeders'
          ? `seeders ${dir} NULLS LAST, first_seen DESC`
          : q.sort === 'size'
            ? `size ${dir}`
            : `first_seen ${dir}`;
    const { rows } = await this.pool.query<TorrentRow & QueryResultRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM torrents WHERE ${where.join(' AND ')} ORDER BY ${order}
       LIMIT ${param(q.limit + 1)} OFFSET ${param(q.offset)}`,
      params
    );
    return { results: rows.slice(0, q.limit).map(toSummary), hasMore: rows.length > q.limit };
  }

  async torrent(infoHash: Uint8Array): Promise<TorrentDetail | null> {
    const { rows } = await this.pool.query<TorrentDetailRow & QueryResultRow>(
      `SELECT ${SUMMARY_COLUMNS}, files, source, resolved_at FROM torrents WHERE infohash = $1`,
      [Buffer.from(infoHash)]
    );
    return rows[0] ? toDetail(rows[0]) : null;
  }

  async summary(): Promise<IndexSummary> {
    const { rows } = await this.pool.query<{ name: string; value: number }>(
      'SELECT name, value FROM crawl_counters'
    );
    const get = (n: string): number => rows.find((r) => r.name === n)?.value ?? 0;
    return {
      torrents: get('torrents'),
      resolved: get('resolved'),
      evicted: { unresolved: get('evicted_unresolved'), resolved: get('evicted_resolved') },
      bytes: await this.sizeBytes()
    };
  }

  async claimScrapes(max: number, nowMs: number, staleMs: number): Promise<Uint8Array[]> {
    const { rows } = await this.pool.query<{ infohash: Buffer }>(
      `UPDATE torrents SET scraped_at = $1
       WHERE infohash IN (SELECT infohash FROM torrents WHERE resolved_at IS NOT NULL AND scraped_at <= $2
                          ORDER BY scraped_at LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING infohash`,
      [nowMs, nowMs - staleMs, Math.max(0, Math.floor(max))]
    );
    return rows.map((r) => new Uint8Array(r.infohash));
  }

  async recordScrape(infoHash: Uint8Array, e: ScrapeEstimate, atMs: number): Promise<void> {
    await this.pool.query(
      'UPDATE torrents SET seeders = $1, leechers = $2, scraped_at = $3 WHERE infohash = $4',
      [e.seeders, e.leechers, atMs, Buffer.from(infoHash)]
    );
  }

  /** Tables and indexes of the crawl database, bytes (pg_total_relation_size). */
  async sizeBytes(): Promise<number> {
    const { rows } = await this.pool.query<{ bytes: string | number | null }>(
      `SELECT sum(pg_total_relation_size(c.oid))::bigint AS bytes FROM pg_class c
       WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
         AND c.relname IN ('torrents', 'crawl_counters', 'node_schedule', 'frontier', 'schema_migrations')`
    );
    return Number(rows[0]?.bytes ?? 0);
  }

  /** Flush, release the shard and close every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      await this.lockClient?.end().catch(() => undefined);
      await this.pool.end();
    }
  }

  // --- writing ---------------------------------------------------------------------------

  private async write(): Promise<FlushResult> {
    if (this.closed || this.buffer.empty) return { inserted: [], evicted: 0 };
    const batch = this.buffer.take();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transaction((c) => this.writeBatch(c, batch));
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        if (RETRYABLE.has(code) && attempt < MAX_WRITE_TRIES) continue;
        this.buffer.putBack(batch);
        throw err;
      }
    }
  }

  private async writeBatch(c: PoolClient, batch: Batch): Promise<FlushResult> {
    const inserted: FlushResult['inserted'] = [];
    const s = batch.sightings;
    if (s.length > 0) {
      const { rows } = await c.query<{ infohash: Buffer; source: InfoHashSource; inserted: boolean }>(
        `INSERT INTO torrents (infohash, first_seen, last_seen, source, seen_count)
         SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bigint[], $4::text[], $5::int[]) ORDER BY 1
         ON CONFLICT (infohash) DO UPDATE SET
           first_seen = LEAST(torrents.first_seen, EXCLUDED.first_seen),
           last_seen = GREATEST(torrents.last_seen, EXCLUDED.last_seen),
           seen_count = torrents.seen_count + EXCLUDED.seen_count
         RETURNING infohash, source, (xmax = 0) AS inserted`,
        [
          s.map((r) => r.infoHash),
          s.map((r) => r.first),
          s.map((r) => r.last),
          s.map((r) => r.source),
          s.map((r) => r.count)
        ]
      );
      for (const r of rows)
        if (r.inserted) inserted.push({ infoHash: new Uint8Array(r.infohash), source: r.source });
    }
    let resolved = 0;
    const m = batch.metadata;
    if (m.length > 0) {
      const res = await c.query(
        `UPDATE torrents t SET name = u.name, size = u.size, file_count = u.file_count, files = u.files,
           resolved_at = u.at, resolve_after = 0, search = to_tsvector('simple', u.words)
         FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::int[], $5::text[], $6::bigint[], $7::text[])
           AS u(infohash, name, size, file_count, files, at, words)
         WHERE t.infohash = u.infohash AND t.resolved_at IS NULL`,
        [
          m.map((r) => r.infoHash),
          m.map((r) => clean(r.meta.name)),
          m.map((r) => r.meta.size),
          m.map((r) => r.meta.files.length),
          m.map((r) => clean(JSON.stringify(r.meta.files.slice(0, MAX_FILES_STORED)))),
          m.map((r) => r.at),
          m.map((r) => documentText(r.meta))
        ]
      );
      resolved = res.rowCount ?? 0;
    }
    const f = batch.failures;
    if (f.length > 0) {
      await c.query(
        `UPDATE torrents t SET resolve_after = CASE WHEN t.resolve_attempts >= ${RESOLVE_MAX_ATTEMPTS} THEN ${NEVER}
           WHEN t.resolve_attempts <= 1 THEN u.at + ${resolveRetryDelayMs(1)} ELSE u.at + ${resolveRetryDelayMs(2)} END
         FROM unnest($1::bytea[], $2::bigint[]) AS u(infohash, at)
         WHERE t.infohash = u.infohash AND t.resolved_at IS NULL`,
        [f.map((r) => r.infoHash), f.map((r) => r.at)]
      );
    }
    // Counters last: every writer takes the counter rows after its torrent rows (one lock order).
    const { rows } = await c.query<{ value: number }>(
      `UPDATE crawl_counters SET value = value + CASE name WHEN 'torrents' THEN $1::bigint ELSE $2::bigint END
       WHERE name IN ('torrents', 'resolved') RETURNING value, name`,
      [inserted.length, resolved]
    );
    const total =
      (rows as Array<{ value: number; name?: string }>).find((r) => r.name === 'torrents')?.value ?? 0;
    return { inserted, evicted: await this.evict(c, total) };
  }

  /** Enforce the size cap (store/policy.ts EVICTION_ORDER) within the writing transaction. */
  private async evict(c: PoolClient, total: number): Promise<number> {
    const excess = Math.min(total - this.maxTorrents, MAX_EVICT_PER_FLUSH);
    if (!(excess > 0)) return 0;
    const { rows } = await c.query<{ resolved: boolean }>(
      `DELETE FROM torrents WHERE infohash IN
         (SELECT infohash FROM torrents ORDER BY ${EVICTION_ORDER} LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING (resolved_at IS NOT NULL) AS resolved`,
      [excess]
    );
    const resolved = rows.filter((r) => r.resolved).length;
    await c.query(
      `UPDATE crawl_counters SET value = value + CASE name
         WHEN 'torrents' THEN $1::bigint WHEN 'resolved' THEN $2::bigint
         WHEN 'evicted_resolved' THEN $3::bigint ELSE $4::bigint END
       WHERE name IN ('torrents', 'resolved', 'evicted_resolved', 'evicted_unresolved')`,
      [-rows.length, -resolved, resolved, rows.length - resolved]
    );
    return rows.length;
  }

  private async transaction<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }
}

/** The lowest free shard of `count`, held by a session advisory lock on `client`. */
async function takeShard(client: Client, count: number, where: string): Promise<number> {
  for (let i = 0; i < count; i++) {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
      LOCK_NAMESPACE,
      i
    ]);
    if (rows[0]?.ok) return i;
  }
  throw new DatabaseError(
    `${where}: all ${count} crawler shards are taken (raise --shards to add a crawler)`
  );
}
