/**
 * BEP 51 crawler: core (pure, injected query/clock/store), DHT wiring, stores, resolver queue,
 * liveness refresh.
 */
export { Crawler } from './crawler.js';
export type { CrawlerOptions, CrawlerEvents } from './options.js';
export type { CrawlerStats } from './stats.js';
export { createDhtCrawler, dhtSampleQuery } from './dht-crawler.js';
export type { DhtCrawlerOptions } from './dht-crawler.js';
export { MemoryCrawlerStore } from './store/memory-store.js';
export type { InfoHashRecord } from './store/memory-store.js';
export { SqliteCrawlerStore } from './store/sqlite-store.js';
export type { SqliteStoreOptions } from './store/sqlite-store.js';
export { PgCrawlerStore } from './store/pg-store.js';
export type { PgStoreOptions } from './store/pg-store.js';
export { openStore, isPostgresUrl } from './store/open-store.js';
export type { OpenStoreOptions } from './store/open-store.js';
export { MAX_FILES_STORED, RESOLVE_MAX_ATTEMPTS, EVICTION_ORDER } from './store/policy.js';
export type {
  IndexStore,
  IndexSummary,
  ScrapeEstimate,
  SearchPage,
  SearchQuery,
  SortKey,
  TorrentDetail,
  TorrentIndex,
  TorrentSummary
} from './store/torrent-index.js';
export { LivenessRefresher } from './liveness.js';
export type { LivenessOptions, ScrapeFunction } from './liveness.js';
export { shardOf } from './shard.js';
export { UtMetadataResolver } from './ut-metadata-resolver.js';
export type { UtMetadataResolverOptions } from './ut-metadata-resolver.js';
export { sanitizeReply, MAX_SAMPLE_INTERVAL_S } from './validate.js';
export type { RejectReason, AnomalyKind } from './validate.js';
export type { ResolveStats } from './resolve-queue.js';
export type {
  Candidate,
  CrawlerState,
  CrawlerStore,
  FlushResult,
  InfoHashSource,
  MetadataResolver,
  PersistedCandidate,
  SampleQuery,
  SampleReply,
  ScheduleEntry,
  TorrentMetadata
} from './types.js';
