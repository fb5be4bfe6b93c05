/**
 * SQLite persistence of a crawl (better-sqlite3): discovered infohashes plus the crawl state
 * (per-node schedule, frontier), so a stopped crawl resumes where it was, without duplicates
 * (the infohash is the primary key) and without re-asking nodes early (the schedule survives).
 *
 * - WAL mode: readers (e.g. a web UI over the same file) never block the crawler's writes.
 * - Batched writes: sightings are merged in memory and written in one transaction per flush
 *   (every `batchSize` records or when the crawler flushes, about once a second), so a busy
 *   crawl does a few transactions per second instead of one fsync per infohash.
 * - better-sqlite3 is loaded when a store is opened, not when the library is imported, so
 *   `import 'trackerless'` never loads a native addon it does not need.
 */
import { createRequire } from 'node:module';
import { statSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import { InvalidArgumentError } from '../errors.js';
import type {
  CrawlerState,
  CrawlerStore,
  InfoHashSource,
  PersistedCandidate,
  ScheduleEntry,
  TorrentMetadata
} from './types.js';

const SCHEMA_VERSION = '1';
/** Files kept per torrent in the `files` JSON (a few torrents list 100k+ files). */
export const MAX_FILES_STORED = 1000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS infohashes (
  infohash    BLOB PRIMARY KEY CHECK (length(infohash) = 20),
  first_seen  INTEGER NOT NULL,            -- ms since the epoch (the crawler's clock)
  last_seen   INTEGER NOT NULL,
  source      TEXT NOT NULL CHECK (source IN ('sample', 'get_peers', 'announce_peer')), -- how first found
  seen_count  INTEGER NOT NULL DEFAULT 1,
  name        TEXT,                        -- metadata, when resolved
  size        INTEGER,
  files       TEXT,                        -- JSON [{path, size}], at most ${MAX_FILES_STORED}
  resolved_at INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS infohashes_first_seen ON infohashes (first_seen);
CREATE TABLE IF NOT EXISTS node_schedule (
  node         TEXT PRIMARY KEY,           -- "host:port"
  next_allowed INTEGER NOT NULL            -- never query this node before (ms)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS frontier (
  host TEXT NOT NULL,
  port INTEGER NOT NULL,
  id   BLOB,                               -- null for bootstrap addresses
  due  INTEGER NOT NULL,                   -- 0 = not visited yet, else planned revisit (ms)
  PRIMARY KEY (host, port)
) WITHOUT ROWID;
`;

interface PendingRow {
  infoHash: Buffer;
  first: number;
  last: number;
  source: InfoHashSource;
  count: number;
}

export interface SqliteStoreOptions {
  /** Write after this many distinct pending infohashes (default 500). */
  batchSize?: number;
}

type Database = BetterSqlite3.Database;

export class SqliteCrawlerStore implements CrawlerStore {
  readonly path: string;
  private readonly db: Database;
  private readonly batchSize: number;
  private readonly pending = new Map<string, PendingRow>();
  private readonly pendingMeta = new Map<string, { infoHash: Buffer; meta: TorrentMetadata; at: number }>();
  private readonly stmt: {
    exists: BetterSqlite3.Statement<[Buffer]>;
    upsert: BetterSqlite3.Statement<[Buffer, number, number, string, number]>;
    meta: BetterSqlite3.Statement<[string, number, string, number, Buffer]>;
    scheduleUpsert: BetterSqlite3.Statement<[string, number]>;
    scheduleExpire: BetterSqlite3.Statement<[number]>;
    scheduleLoad: BetterSqlite3.Statement<[number]>;
    frontierClear: BetterSqlite3.Statement<[]>;
    frontierInsert: BetterSqlite3.Statement<[string, number, Buffer | null, number]>;
    frontierLoad: BetterSqlite3.Statement<[]>;
  };
  private total: number;
  private closed = false;

  /** Open (or create) the database at `path` (':memory:' works too). */
  static open(path: string, opts: SqliteStoreOptions = {}): SqliteCrawlerStore {
    const require = createRequire(import.meta.url);
    const Ctor = require('better-sqlite3') as typeof BetterSqlite3;
    return new SqliteCrawlerStore(new Ctor(path), path, opts);
  }

  private constructor(db: Database, path: string, opts: SqliteStoreOptions) {
    this.db = db;
    this.path = path;
    this.batchSize = Math.max(1, Math.floor(opts.batchSize ?? 500));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL'); // with WAL: consistent after a crash, fsync at checkpoints
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    const version = db
      .prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'schema_version'")
      .get();
    if (version === undefined)
      db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(SCHEMA_VERSION);
    else if (version.value !== SCHEMA_VERSION) {
      db.close();
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        `${path}: crawl database schema ${version.value}, expected ${SCHEMA_VERSION}`
      );
    }
    this.stmt = {
      exists: db.prepare('SELECT 1 FROM infohashes WHERE infohash = ?'),
      upsert: db.prepare(
        `INSERT INTO infohashes (infohash, first_seen, last_seen, source, seen_count) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (infohash) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen),
           seen_count = seen_count + excluded.seen_count`
      ),
      meta: db.prepare(
        'UPDATE infohashes SET name = ?, size = ?, files = ?, resolved_at = ? WHERE infohash = ?'
      ),
      scheduleUpsert: db.prepare(
        'INSERT INTO node_schedule (node, next_allowed) VALUES (?, ?) ON CONFLICT (node) DO UPDATE SET next_allowed = excluded.next_allowed'
      ),
      scheduleExpire: db.prepare('DELETE FROM node_schedule WHERE next_allowed <= ?'),
      scheduleLoad: db.prepare('SELECT node, next_allowed FROM node_schedule WHERE next_allowed > ?'),
      frontierClear: db.prepare('DELETE FROM frontier'),
      frontierInsert: db.prepare('INSERT OR REPLACE INTO frontier (host, port, id, due) VALUES (?, ?, ?, ?)'),
      frontierLoad: db.prepare('SELECT host, port, id, due FROM frontier')
    };
    this.total = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM infohashes').get()?.n ?? 0;
  }

  record(infoHash: Uint8Array, source: InfoHashSource, atMs: number): boolean {
    const buf = Buffer.from(infoHash.buffer, infoHash.byteOffset, infoHash.byteLength);
    const key = buf.toString('latin1');
    const p = this.pending.get(key);
    if (p) {
      p.last = Math.max(p.last, atMs);
      p.count++;
      return false;
    }
    const isNew = this.stmt.exists.get(buf) === undefined;
    this.pending.set(key, { infoHash: Buffer.from(buf), first: atMs, last: atMs, source, count: 1 });
    if (isNew) this.total++;
    if (this.pending.size >= this.batchSize) this.flush();
    return isNew;
  }

  recordMetadata(infoHash: Uint8Array, meta: TorrentMetadata): void {
    const buf = Buffer.from(infoHash);
    this.pendingMeta.set(buf.toString('latin1'), { infoHash: buf, meta, at: Date.now() });
  }

  flush(): void {
    if (this.closed || (this.pending.size === 0 && this.pendingMeta.size === 0)) return;
    const rows = [...this.pending.values()];
    const metas = [...this.pendingMeta.values()];
    this.db.transaction(() => {
      for (const r of rows) this.stmt.upsert.run(r.infoHash, r.first, r.last, r.source, r.count);
      for (const m of metas) {
        const files = JSON.stringify(m.meta.files.slice(0, MAX_FILES_STORED));
        this.stmt.meta.run(m.meta.name, m.meta.size, files, m.at, m.infoHash);
      }
    })();
    // Cleared only after the commit: a failed transaction keeps the rows for the next flush.
    this.pending.clear();
    this.pendingMeta.clear();
  }

  loadState(nowMs: number): CrawlerState {
    const schedule: ScheduleEntry[] = (
      this.stmt.scheduleLoad.all(nowMs) as Array<{ node: string; next_allowed: number }>
    ).map((r) => ({
      key: r.node,
      nextAllowedMs: r.next_allowed
    }));
    const frontier: PersistedCandidate[] = (
      this.stmt.frontierLoad.all() as Array<{ host: string; port: number; id: Buffer | null; due: number }>
    ).map((r) => ({
      host: r.host,
      port: r.port,
      dueMs: r.due,
      ...(r.id && r.id.length === 20 ? { id: new Uint8Array(r.id) } : {})
    }));
    return { schedule, frontier };
  }

  saveState(state: CrawlerState, nowMs: number): void {
    this.db.transaction(() => {
      for (const e of state.schedule) this.stmt.scheduleUpsert.run(e.key, Math.round(e.nextAllowedMs));
      this.stmt.scheduleExpire.run(nowMs);
      this.stmt.frontierClear.run();
      for (const c of state.frontier) {
        this.stmt.frontierInsert.run(c.host, c.port, c.id ? Buffer.from(c.id) : null, Math.round(c.dueMs));
      }
    })();
  }

  /** Distinct infohashes stored, counting the ones still buffered. */
  count(): number {
    return this.total;
  }

  /** Database size on disk, bytes (main file + WAL). */
  sizeBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    let wal = 0;
    try {
      wal = statSync(`${this.path}-wal`).size;
    } catch {
      // no WAL file (in-memory database, or checkpointed and removed)
    }
    return pages * pageSize + wal;
  }

  /** Flush and close. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }
}
