/**
 * SQLite crawl database (better-sqlite3): discovered infohashes with their liveness and
 * metadata, full-text search (FTS5), the size cap, and the crawl state (per-node schedule,
 * frontier), so a stopped crawl resumes where it was, without duplicates (the infohash is
 * unique) and without re-asking nodes early (the schedule survives).
 *
 * - One writing process (SQLite's own limit); readers, e.g. `index serve` on the same file,
 *   never block it (WAL mode). For several crawlers on one database use PostgreSQL.
 * - Batched writes: sightings are merged in memory and written in one transaction per flush
 *   (every `batchSize` infohashes or when the crawler flushes, about once a second).
 * - better-sqlite3 is an optional dependency loaded when a store is opened, never when the
 *   library is imported; without it open() throws MissingDependencyError.
 */
import { statSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import { requireOptional } from '../../util/optional-dependency.js';
import type {
  CrawlerState,
  FlushResult,
  InfoHashSource,
  PersistedCandidate,
  ScheduleEntry,
  TorrentMetadata
} from '../types.js';
import { migrateSqlite } from './sqlite-schema.js';
import { WriteBuffer, type Batch } from './write-buffer.js';
import { documentText, fts5Query, queryWords } from './search-text.js';
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

export interface SqliteStoreOptions {
  /** Write after this many distinct pending infohashes (default 500). */
  batchSize?: number;
  /** Size cap: keep at most this many infohashes (default: no cap). See store/policy.ts. */
  maxTorrents?: number;
  /** Open read-only (a server beside a crawler): writes throw. */
  readonly?: boolean;
}

type Database = BetterSqlite3.Database;

export class SqliteCrawlerStore implements IndexStore {
  readonly location: string;
  readonly shard = { index: 0, count: 1 };
  private readonly db: Database;
  private readonly batchSize: number;
  private readonly maxTorrents: number;
  private readonly buffer = new WriteBuffer();
  /** Results of writes triggered by a full buffer, reported by the next flush(). */
  private unreported: FlushResult = { inserted: [], evicted: 0 };
  private closed = false;

  /** Open (or create and migrate) the database at `path` (':memory:' works too). */
  static open(path: string, opts: SqliteStoreOptions = {}): SqliteCrawlerStore {
    const Driver = requireOptional<typeof BetterSqlite3>('better-sqlite3', 'a SQLite crawl database');
    const db = new Driver(path, opts.readonly ? { readonly: true, fileMustExist: true } : {});
    try {
      if (!opts.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL'); // with WAL: consistent after a crash, fsync at checkpoints
      }
      db.pragma('busy_timeout = 5000');
      if (!opts.readonly) migrateSqlite(db, path);
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteCrawlerStore(db, path, opts);
  }

  private constructor(db: Database, path: string, opts: SqliteStoreOptions) {
    this.db = db;
    this.location = path;
    this.batchSize = Math.max(1, Math.floor(opts.batchSize ?? 500));
    this.maxTorrents = opts.maxTorrents && opts.maxTorrents > 0 ? Math.floor(opts.maxTorrents) : Infinity;
  }

  // --- CrawlerStore ------------------------------------------------------------------------

  record(infoHash: Uint8Array, source: InfoHashSource, atMs: number): void {
    this.buffer.record(infoHash, source, atMs);
    if (this.buffer.size >= this.batchSize) {
      const r = this.write();
      this.unreported.inserted.push(...r.inserted);
      this.unreported.evicted += r.evicted;
    }
  }

  recordMetadata(infoHash: Uint8Array, meta: TorrentMetadata, atMs: number): void {
    this.buffer.recordMetadata(infoHash, meta, atMs);
  }

  recordResolveFailure(infoHash: Uint8Array, atMs: number): void {
    this.buffer.recordFailure(infoHash, atMs);
  }

  async flush(): Promise<FlushResult> {
    const r = this.write();
    const out = {
      inserted: [...this.unreported.inserted, ...r.inserted],
      evicted: this.unreported.evicted + r.evicted
    };
    this.unreported = { inserted: [], evicted: 0 };
    return out;
  }

  async claimUnresolved(max: number, nowMs: number, leaseMs: number): Promise<Uint8Array[]> {
    const rows = this.db
      .prepare<[number, number, number], { infohash: Buffer }>(
        `UPDATE torrents SET resolve_after = ?, resolve_attempts = resolve_attempts + 1
         WHERE id IN (SELECT id FROM torrents WHERE resolved_at IS NULL AND resolve_after <= ?
                      ORDER BY resolve_after LIMIT ?)
         RETURNING infohash`
      )
      .all(nowMs + leaseMs, nowMs, Math.max(0, Math.floor(max)));
    return rows.map((r) => new Uint8Array(r.infohash));
  }

  async loadState(nowMs: number): Promise<CrawlerState> {
    const schedule: ScheduleEntry[] = this.db
      .prepare<[number], { node: string; next_allowed: number }>(
        'SELECT node, next_allowed FROM node_schedule WHERE next_allowed > ?'
      )
      .all(nowMs)
      .map((r) => ({ key: r.node, nextAllowedMs: r.next_allowed }));
    const frontier: PersistedCandidate[] = this.db
      .prepare<[], { host: string; port: number; id: Buffer | null; due: number }>(
        'SELECT host, port, id, due FROM frontier'
      )
      .all()
      .map((r) => ({
        host: r.host,
        port: r.port,
        dueMs: r.due,
        ...(r.id && r.id.length === 20 ? { id: new Uint8Array(r.id) } : {})
      }));
    return { schedule, frontier };
  }

  async saveState(state: CrawlerState, nowMs: number): Promise<void> {
    const upsert = this.db.prepare(
      'INSERT INTO node_schedule (node, next_allowed) VALUES (?, ?) ON CONFLICT (node) DO UPDATE SET next_allowed = excluded.next_allowed'
    );
    const insert = this.db.prepare(
      'INSERT OR REPLACE INTO frontier (host, port, id, due) VALUES (?, ?, ?, ?)'
    );
    this.db.transaction(() => {
      for (const e of state.schedule) upsert.run(e.key, Math.round(e.nextAllowedMs));
      this.db.prepare('DELETE FROM node_schedule WHERE next_allowed <= ?').run(nowMs);
      this.db.prepare('DELETE FROM frontier').run();
      for (const c of state.frontier)
        insert.run(c.host, c.port, c.id ? Buffer.from(c.id) : null, Math.round(c.dueMs));
    })();
  }

  // --- TorrentIndex ------------------------------------------------------------------------

  async search(q: SearchQuery): Promise<SearchPage> {
    const ws = queryWords(q.text);
    const where = ['t.resolved_at IS NOT NULL'];
    const params: Array<string | number> = [];
    const filter = (sql: string, value: number | undefined): void => {
      if (value === undefined) return;
      where.push(sql);
      params.push(value);
    };
    let from = 'torrents t';
    if (ws.length > 0) {
      from = 'torrents_fts f JOIN torrents t ON t.id = f.rowid';
      where.push('torrents_fts MATCH ?');
      params.push(fts5Query(ws));
    }
    filter('t.size >= ?', q.minSize);
    filter('t.size <= ?', q.maxSize);
    filter('t.first_seen >= ?', q.seenAfterMs);
    filter('t.first_seen < ?', q.seenBeforeMs);
    const dir = q.order === 'asc' ? 'ASC' : 'DESC';
    const order =
      q.sort === 'relevance' && ws.length > 0
        ? 'f.rank'
        : q.sort === 'seeders'
          ? `t.seeders ${dir} NULLS LAST, t.first_seen DESC`
          : q.sort === 'size'
            ? `t.size ${dir}`
            : `t.first_seen ${dir}`;
    const cols = SUMMARY_COLUMNS.split(', ')
      .map((c) => `t.${c}`)
      .join(', ');
    const rows = this.db
      .prepare<Array<string | number>, TorrentRow>(
        `SELECT ${cols} FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ? OFFSET ?`
      )
      .all(...params, q.limit + 1, q.offset);
    return { results: rows.slice(0, q.limit).map(toSummary), hasMore: rows.length > q.limit };
  }

  async torrent(infoHash: Uint8Array): Promise<TorrentDetail | null> {
    const row = this.db
      .prepare<[Buffer], TorrentDetailRow>(
        `SELECT ${SUMMARY_COLUMNS}, files, source, resolved_at FROM torrents WHERE infohash = ?`
      )
      .get(Buffer.from(infoHash));
    return row ? toDetail(row) : null;
  }

  async summary(): Promise<IndexSummary> {
    const counts = this.db
      .prepare<[], { torrents: number; resolved: number }>(
        'SELECT COUNT(*) AS torrents, COUNT(resolved_at) AS resolved FROM torrents'
      )
      .get()!;
    return { ...counts, evicted: this.evictedCounts(), bytes: this.sizeBytes() };
  }

  async claimScrapes(max: number, nowMs: number, staleMs: number): Promise<Uint8Array[]> {
    return this.db
      .prepare<[number, number, number], { infohash: Buffer }>(
        `UPDATE torrents SET scraped_at = ?
         WHERE id IN (SELECT id FROM torrents WHERE resolved_at IS NOT NULL AND scraped_at <= ?
                      ORDER BY scraped_at LIMIT ?)
         RETURNING infohash`
      )
      .all(nowMs, nowMs - staleMs, Math.max(0, Math.floor(max)))
      .map((r) => new Uint8Array(r.infohash));
  }

  async recordScrape(infoHash: Uint8Array, e: ScrapeEstimate, atMs: number): Promise<void> {
    this.db
      .prepare('UPDATE torrents SET seeders = ?, leechers = ?, scraped_at = ? WHERE infohash = ?')
      .run(e.seeders, e.leechers, atMs, Buffer.from(infoHash));
  }

  /** Database size on disk, bytes (main file + WAL). */
  sizeBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    let wal = 0;
    try {
      wal = statSync(`${this.location}-wal`).size;
    } catch {
      // no WAL file (in-memory database, or checkpointed and removed)
    }
    return pages * pageSize + wal;
  }

  /** Flush and close. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.db.readonly) this.write();
    this.closed = true;
    this.db.close();
  }

  // --- writing ---------------------------------------------------------------------------

  private write(): FlushResult {
    if (this.closed || this.buffer.empty) return { inserted: [], evicted: 0 };
    const batch = this.buffer.take();
    try {
      return this.db.transaction(() => this.writeBatch(batch))();
    } catch (err) {
      this.buffer.putBack(batch); // rolled back: keep it for the next flush
      throw err;
    }
  }

  private writeBatch(batch: Batch): FlushResult {
    const db = this.db;
    const inserted: FlushResult['inserted'] = [];
    const insert = db.prepare<[Buffer, number, number, string, number], { id: number }>(
      `INSERT INTO torrents (infohash, first_seen, last_seen, source, seen_count) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (infohash) DO NOTHING RETURNING id`
    );
    const update = db.prepare(
      `UPDATE torrents SET last_seen = max(last_seen, ?), first_seen = min(first_seen, ?), seen_count = seen_count + ?
       WHERE infohash = ?`
    );
    for (const s of batch.sightings) {
      if (insert.get(s.infoHash, s.first, s.last, s.source, s.count))
        inserted.push({ infoHash: new Uint8Array(s.infoHash), source: s.source });
      else update.run(s.last, s.first, s.count, s.infoHash);
    }
    const meta = db.prepare<[string, number, number, string, number, Buffer], { id: number }>(
      `UPDATE torrents SET name = ?, size = ?, file_count = ?, files = ?, resolved_at = ?, resolve_after = 0
       WHERE infohash = ? AND resolved_at IS NULL RETURNING id`
    );
    const fts = db.prepare('INSERT INTO torrents_fts (rowid, words) VALUES (?, ?)');
    for (const m of batch.metadata) {
      const files = JSON.stringify(m.meta.files.slice(0, MAX_FILES_STORED));
      const row = meta.get(m.meta.name, m.meta.size, m.meta.files.length, files, m.at, m.infoHash);
      if (row) fts.run(row.id, documentText(m.meta));
    }
    const fail = db.prepare(
      `UPDATE torrents SET resolve_after = CASE WHEN resolve_attempts >= ${RESOLVE_MAX_ATTEMPTS} THEN ${NEVER}
         WHEN resolve_attempts <= 1 THEN ? + ${resolveRetryDelayMs(1)} ELSE ? + ${resolveRetryDelayMs(2)} END
       WHERE infohash = ? AND resolved_at IS NULL`
    );
    for (const f of batch.failures) fail.run(f.at, f.at, f.infoHash);
    return { inserted, evicted: this.evict() };
  }

  /** Enforce the size cap (store/policy.ts EVICTION_ORDER); returns the rows removed. */
  private evict(): number {
    if (this.maxTorrents === Infinity) return 0;
    const total = this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM torrents').get()!.n;
    const excess = Math.min(total - this.maxTorrents, MAX_EVICT_PER_FLUSH);
    if (excess <= 0) return 0;
    const victims = this.db
      .prepare<[number], { id: number; resolved: number }>(
        `DELETE FROM torrents WHERE id IN (SELECT id FROM torrents ORDER BY ${EVICTION_ORDER} LIMIT ?)
         RETURNING id, resolved_at IS NOT NULL AS resolved`
      )
      .all(excess);
    const ftsDelete = this.db.prepare('DELETE FROM torrents_fts WHERE rowid = ?');
    let resolved = 0;
    for (const v of victims) {
      if (v.resolved) {
        resolved++;
        ftsDelete.run(v.id);
      }
    }
    const bump = this.db.prepare('UPDATE counters SET value = value + ? WHERE name = ?');
    bump.run(resolved, 'evicted_resolved');
    bump.run(victims.length - resolved, 'evicted_unresolved');
    return victims.length;
  }

  private evictedCounts(): IndexSummary['evicted'] {
    const rows = this.db
      .prepare<[], { name: string; value: number }>('SELECT name, value FROM counters')
      .all();
    const get = (n: string): number => rows.find((r) => r.name === n)?.value ?? 0;
    return { unresolved: get('evicted_unresolved'), resolved: get('evicted_resolved') };
  }
}
