/**
 * Versioned SQLite schema of a crawl database. `meta.schema_version` holds the version
 * applied; open() runs the missing steps in order, each in one transaction, so a database of
 * any older version (or none) is brought up to date and a newer one is refused.
 *
 * Times are ms since the epoch (the crawler's clock). `resolve_after`: when the infohash may
 * next be claimed for resolution (0 = at once; a claim moves it past its lease). Full-text
 * search is a contentless FTS5 table keyed by `torrents.id`: it stores only the index of the
 * words (store/search-text.ts), never a second copy of names and paths.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { DatabaseError } from '../../errors.js';
import { documentText } from './search-text.js';

type Database = BetterSqlite3.Database;

/** v1: the first crawl databases (infohashes only, no search). */
const V1 = `
CREATE TABLE IF NOT EXISTS infohashes (
  infohash BLOB PRIMARY KEY CHECK (length(infohash) = 20),
  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('sample', 'get_peers', 'announce_peer')),
  seen_count INTEGER NOT NULL DEFAULT 1,
  name TEXT, size INTEGER, files TEXT, resolved_at INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS infohashes_first_seen ON infohashes (first_seen);
CREATE TABLE IF NOT EXISTS node_schedule (node TEXT PRIMARY KEY, next_allowed INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS frontier (
  host TEXT NOT NULL, port INTEGER NOT NULL, id BLOB, due INTEGER NOT NULL,
  PRIMARY KEY (host, port)
) WITHOUT ROWID;
`;

/** v2: search (FTS5), liveness, resolution claims, the size cap's counters. */
const V2 = `
CREATE TABLE torrents (
  id               INTEGER PRIMARY KEY,
  infohash         BLOB NOT NULL UNIQUE CHECK (length(infohash) = 20),
  first_seen       INTEGER NOT NULL,
  last_seen        INTEGER NOT NULL,
  seen_count       INTEGER NOT NULL DEFAULT 1,
  source           TEXT NOT NULL CHECK (source IN ('sample', 'get_peers', 'announce_peer')),
  name             TEXT,
  size             INTEGER,
  file_count       INTEGER,
  files            TEXT,
  resolved_at      INTEGER,
  resolve_attempts INTEGER NOT NULL DEFAULT 0,
  resolve_after    INTEGER NOT NULL DEFAULT 0,
  seeders          INTEGER,
  leechers         INTEGER,
  scraped_at       INTEGER NOT NULL DEFAULT 0
);
INSERT INTO torrents (infohash, first_seen, last_seen, seen_count, source, name, size, file_count, files, resolved_at)
  SELECT infohash, first_seen, last_seen, seen_count, source, name, size,
         CASE WHEN files IS NULL THEN NULL ELSE json_array_length(files) END, files, resolved_at
  FROM infohashes;
DROP TABLE infohashes;
CREATE INDEX torrents_unresolved ON torrents (resolve_after) WHERE resolved_at IS NULL;
CREATE INDEX torrents_recent ON torrents (first_seen) WHERE resolved_at IS NOT NULL;
CREATE INDEX torrents_size ON torrents (size) WHERE resolved_at IS NOT NULL;
CREATE INDEX torrents_seeders ON torrents (seeders) WHERE resolved_at IS NOT NULL;
CREATE INDEX torrents_scrape ON torrents (scraped_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX torrents_evict ON torrents ((resolved_at IS NOT NULL), seen_count, last_seen);
CREATE VIRTUAL TABLE torrents_fts USING fts5(words, content = '', contentless_delete = 1);
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('evicted_unresolved', 0), ('evicted_resolved', 0);
`;

/** Index the names and paths of torrents resolved before v2 (words are computed in JS). */
function indexExisting(db: Database): void {
  const rows = db
    .prepare<[], { id: number; name: string; files: string | null }>(
      'SELECT id, name, files FROM torrents WHERE name IS NOT NULL'
    )
    .all();
  const insert = db.prepare('INSERT INTO torrents_fts (rowid, words) VALUES (?, ?)');
  for (const r of rows) {
    let files: Array<{ path: string; size: number }> = [];
    try {
      files = JSON.parse(r.files ?? '[]') as typeof files;
    } catch {
      // an unreadable file list: index the name alone
    }
    insert.run(r.id, documentText({ name: r.name, files: Array.isArray(files) ? files : [] }));
  }
}

/**
 * v3: "most seeders first" reads this index in order (SQLite sorts NULL lowest, so a
 * descending index is already NULLS LAST); v2's index left the tie-break on first_seen to a
 * sort of every row with the same seeders count, NULL included.
 */
const V3 = `
DROP INDEX torrents_seeders;
CREATE INDEX torrents_seeders ON torrents (seeders DESC, first_seen DESC) WHERE resolved_at IS NOT NULL;
`;

const STEPS: Array<(db: Database) => void> = [
  (db) => db.exec(V1),
  (db) => {
    db.exec(V2);
    indexExisting(db);
  },
  (db) => db.exec(V3)
];

export const SQLITE_SCHEMA_VERSION = STEPS.length;

/** Bring `db` to the current version; throws DatabaseError for a newer or unknown one. */
export function migrateSqlite(db: Database, where: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  const row = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").get();
  const current = row === undefined ? 0 : Number(row.value);
  if (!Number.isInteger(current) || current < 0 || current > STEPS.length)
    throw new DatabaseError(
      `${where}: crawl database schema ${row?.value}, this version knows 1..${STEPS.length}`
    );
  for (let v = current; v < STEPS.length; v++) {
    db.transaction(() => {
      STEPS[v]!(db);
      db.prepare(
        "INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
      ).run(String(v + 1));
    })();
  }
}
