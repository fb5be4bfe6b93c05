/**
 * BEP 51 crawler: core (pure, injected query/clock/store), DHT wiring, stores, resolver queue.
 */
export { Crawler } from './crawler.js';
export type { CrawlerOptions, CrawlerEvents } from './crawler.js';
export type { CrawlerStats } from './stats.js';
export { createDhtCrawler, dhtSampleQuery } from './dht-crawler.js';
export type { DhtCrawlerOptions } from './dht-crawler.js';
export { MemoryCrawlerStore } from './memory-store.js';
export type { InfoHashRecord } from './memory-store.js';
export { SqliteCrawlerStore, MAX_FILES_STORED } from './sqlite-store.js';
export type { SqliteStoreOptions } from './sqlite-store.js';
export { UtMetadataResolver } from './ut-metadata-resolver.js';
export type { UtMetadataResolverOptions } from './ut-metadata-resolver.js';
export { sanitizeReply, MAX_SAMPLE_INTERVAL_S } from './validate.js';
export type { RejectReason, AnomalyKind } from './validate.js';
export type { ResolveStats } from './resolve-queue.js';
export type {
  Candidate,
  CrawlerState,
  CrawlerStore,
  InfoHashSource,
  MetadataResolver,
  PersistedCandidate,
  SampleQuery,
  SampleReply,
  ScheduleEntry,
  TorrentMetadata
} from './types.js';
