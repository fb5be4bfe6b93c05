/**
 * One way to open a crawl database from what a user typed: a `postgres://` (or
 * `postgresql://`) URL opens PostgreSQL, anything else is a SQLite file path. Each driver is
 * loaded only here, on demand (both are optional dependencies).
 */
import type { IndexStore } from './torrent-index.js';

export interface OpenStoreOptions {
  /** Size cap, infohashes (store/policy.ts states the eviction order). */
  maxTorrents?: number;
  /** PostgreSQL: crawlers sharing the database (this one takes a free shard); 0 = none (server). */
  shards?: number;
  /** SQLite: open read-only (a server beside a crawler process). */
  readonly?: boolean;
}

export function isPostgresUrl(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

export async function openStore(spec: string, opts: OpenStoreOptions = {}): Promise<IndexStore> {
  if (isPostgresUrl(spec)) {
    const { PgCrawlerStore } = await import('./pg-store.js');
    return PgCrawlerStore.open(spec, {
      ...(opts.maxTorrents ? { maxTorrents: opts.maxTorrents } : {}),
      ...(opts.shards !== undefined ? { shards: opts.shards } : {})
    });
  }
  const { SqliteCrawlerStore } = await import('./sqlite-store.js');
  return SqliteCrawlerStore.open(spec, {
    ...(opts.maxTorrents ? { maxTorrents: opts.maxTorrents } : {}),
    ...(opts.readonly ? { readonly: true } : {})
  });
}
