/**
 * Versioned PostgreSQL schema of a crawl database. `schema_migrations` lists the versions
 * applied; migratePg() applies the missing ones in order, in one transaction, under
 * an advisory lock so crawlers starting together migrate once. A database newer than this
 * code is refused.
 *
 * Same columns and semantics as the SQLite schema (sqlite-schema.ts); here the full-text
 * index is a `tsvector` column (words from store/search-text.ts, 'simple' configuration: no
 * stemming, so every language is matched the same way) with a GIN index, and the crawl state
 * is kept per shard (one row set per crawler's share of the keyspace).
 */
import type { PoolClient } from 'pg';
import { DatabaseError } from '../../errors.js';

/** First key of every advisory lock this store takes ('trkl'). */
export const LOCK_NAMESPACE = 0x74726b6c;
/** Second key of the migration lock (shards use 0..count-1). */
const MIGRATION_LOCK = -1;

const MIGRATIONS: string[] = [
  `CREATE TABLE torrents (
     infohash         bytea PRIMARY KEY CHECK (length(infohash) = 20),
     first_seen       bigint NOT NULL,
     last_seen        bigint NOT NULL,
     seen_count       integer NOT NULL DEFAULT 1,
     source           text NOT NULL CHECK (source IN ('sample', 'get_peers', 'announce_peer')),
     name             text,
     size             bigint,
     file_count       integer,
     files            text,
     resolved_at      bigint,
     resolve_attempts smallint NOT NULL DEFAULT 0,
     resolve_after    bigint NOT NULL DEFAULT 0,
     seeders          integer,
     leechers         integer,
     scraped_at       bigint NOT NULL DEFAULT 0,
     search           tsvector
   );
   CREATE INDEX torrents_search ON torrents USING gin (search);
   CREATE INDEX torrents_unresolved ON torrents (resolve_after) WHERE resolved_at IS NULL;
   CREATE INDEX torrents_recent ON torrents (first_seen) WHERE resolved_at IS NOT NULL;
   CREATE INDEX torrents_size ON torrents (size) WHERE resolved_at IS NOT NULL;
   CREATE INDEX torrents_seeders ON torrents (seeders) WHERE resolved_at IS NOT NULL;
   CREATE INDEX torrents_scrape ON torrents (scraped_at) WHERE resolved_at IS NOT NULL;
   CREATE INDEX torrents_evict ON torrents ((resolved_at IS NOT NULL), seen_count, last_seen);
   CREATE TABLE crawl_counters (name text PRIMARY KEY, value bigint NOT NULL);
   INSERT INTO crawl_counters (name, value) VALUES
     ('torrents', 0), ('resolved', 0), ('evicted_unresolved', 0), ('evicted_resolved', 0);
   CREATE TABLE node_schedule (
     shard integer NOT NULL, node text NOT NULL, next_allowed bigint NOT NULL,
     PRIMARY KEY (shard, node)
   );
   CREATE TABLE frontier (
     shard integer NOT NULL, host text NOT NULL, port integer NOT NULL, id bytea, due bigint NOT NULL,
     PRIMARY KEY (shard, host, port)
   );`,
  // v2: "most seeders first" reads this index in order. v1's ascending index cannot serve
  // `seeders DESC NULLS LAST` (its backward scan is NULLS FIRST), so PostgreSQL sorted
  // every resolved row (1.9 s at 1M rows; docs/benchmarks.md).
  `DROP INDEX torrents_seeders;
   CREATE INDEX torrents_seeders ON torrents (seeders DESC NULLS LAST, first_seen DESC)
     WHERE resolved_at IS NOT NULL;`
];

export const PG_SCHEMA_VERSION = MIGRATIONS.length;

export async function migratePg(client: PoolClient, where: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())'
    );
    const { rows } = await client.query<{ v: number | null }>(
      'SELECT max(version) AS v FROM schema_migrations'
    );
    const current = rows[0]?.v ?? 0;
    if (current > MIGRATIONS.length)
      throw new DatabaseError(
        `${where}: crawl database schema ${current}, this version knows 1..${MIGRATIONS.length}`
      );
    for (let v = current; v < MIGRATIONS.length; v++) {
      await client.query(MIGRATIONS[v]!);
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v + 1]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
