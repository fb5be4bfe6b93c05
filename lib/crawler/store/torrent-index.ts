/**
 * The read side of a crawl database: search, one torrent's record, counts, and the liveness
 * bookkeeping (BEP 33 scrape estimates). SQLite and PostgreSQL stores implement it with the
 * same semantics, so the HTTP server (lib/index-server/) does not know which one it serves.
 */
import type { CrawlerStore, InfoHashSource } from '../types.js';

export type SortKey = 'relevance' | 'seeders' | 'recent' | 'size';

/** A validated search (lib/index-server/search-params.ts builds one from a URL). */
export interface SearchQuery {
  /** Words to match in names and file paths (all of them, each as a prefix); '' = no text filter. */
  text: string;
  minSize?: number;
  maxSize?: number;
  /** First seen at or after / before, ms since the epoch. */
  seenAfterMs?: number;
  seenBeforeMs?: number;
  /** 'relevance' falls back to 'recent' without text. */
  sort: SortKey;
  order: 'asc' | 'desc';
  offset: number;
  limit: number;
}

/** One search result: a resolved torrent and its liveness. */
export interface TorrentSummary {
  /** Lowercase hex. */
  infoHash: string;
  name: string;
  size: number;
  fileCount: number;
  firstSeenMs: number;
  lastSeenMs: number;
  /** Sightings: samples and passive queries, from every crawler. */
  seenCount: number;
  /** BEP 33 estimates; null until scraped. */
  seeders: number | null;
  leechers: number | null;
  scrapedAtMs: number | null;
}

/** Everything stored about one infohash (name and files are null until resolved). */
export interface TorrentDetail extends Omit<TorrentSummary, 'name' | 'size' | 'fileCount'> {
  name: string | null;
  size: number | null;
  fileCount: number | null;
  /** At most MAX_FILES_STORED entries. */
  files: Array<{ path: string; size: number }>;
  source: InfoHashSource;
  resolvedAtMs: number | null;
}

export interface SearchPage {
  results: TorrentSummary[];
  /** More results exist past offset + limit. */
  hasMore: boolean;
}

export interface IndexSummary {
  /** Infohashes stored. */
  torrents: number;
  /** Of which resolved (name, files). */
  resolved: number;
  /** Removed by the size cap since the database was created, by state at eviction. */
  evicted: { unresolved: number; resolved: number };
  /** Database size, bytes (tables and indexes). */
  bytes: number;
}

/** Seeders/leechers estimated from BEP 33 bloom filters. */
export interface ScrapeEstimate {
  seeders: number;
  leechers: number;
}

export interface TorrentIndex {
  search(q: SearchQuery): Promise<SearchPage>;
  torrent(infoHash: Uint8Array): Promise<TorrentDetail | null>;
  summary(): Promise<IndexSummary>;
  /**
   * Claim up to `max` resolved torrents whose estimates are older than `staleMs` (never
   * scraped first): their scrape time is set to `nowMs`, so no other crawler takes them.
   */
  claimScrapes(max: number, nowMs: number, staleMs: number): Promise<Uint8Array[]>;
  recordScrape(infoHash: Uint8Array, estimate: ScrapeEstimate, atMs: number): Promise<void>;
  close(): Promise<void>;
}

/** A crawl database: what the crawler writes and what the server reads. */
export interface IndexStore extends CrawlerStore, TorrentIndex {
  /** Where it is (a path, or the URL without its password). */
  readonly location: string;
  /** This process's share of the node keyspace (stores shared by several crawlers). */
  readonly shard: { index: number; count: number };
}
