/**
 * Options and events of the crawler core (crawler.ts), with their defaults and the reasons
 * for them. Every number here is a politeness or memory bound; see docs/crawler.md.
 */
import type { Address } from '../net/address.js';
import type { NodeInfo } from '../krpc/types.js';
import type { Clock } from '../util/clock.js';
import type { RandomSource } from '../util/random.js';
import type { Candidate, CrawlerStore, InfoHashSource, MetadataResolver, SampleQuery } from './types.js';
import { MAX_SAMPLE_INTERVAL_S } from './validate.js';

export interface CrawlerOptions {
  query: SampleQuery;
  store: CrawlerStore;
  clock?: Clock;
  random?: RandomSource;
  /** Where to start (addresses without ids are fine). */
  bootstrap?: Candidate[];
  /** More nodes when the frontier runs dry, e.g. `() => dht.nodes()`. */
  seeds?: () => Candidate[];
  /** Nodes never to add or query (ourselves). */
  isSelf?: (a: Address) => boolean;
  /**
   * Passive source of infohashes (e.g. a DHT's 'infohash' event): called by start() with the
   * recording function, returns the unsubscribe function stop() calls.
   */
  passive?: (record: (infoHash: Uint8Array, kind: 'get_peers' | 'announce_peer') => void) => () => void;
  /** Extra filter on nodes learned from replies. */
  acceptNode?: (n: NodeInfo) => boolean;
  /** Global query rate, queries/s (default 20). */
  queriesPerSecond?: number;
  /** Token bucket size (default a tenth of a second's worth, at least 1). */
  burst?: number;
  /** Queries per second to any one IP (default 1). */
  perIpQueriesPerSecond?: number;
  /** Outstanding queries (default 32). */
  maxInflight?: number;
  /** Guard on the injected query, ms (default 10 s; the DHT's own timeout is shorter). */
  queryTimeoutMs?: number;
  /** Bounded memory: frontier entries (default 50k), schedule entries (1M), revisits (100k). */
  frontierCapacity?: number;
  scheduleCapacity?: number;
  revisitCapacity?: number;
  /** Never re-ask a node sooner than this, whatever interval it gave, ms (default 60 s). */
  minIntervalMs?: number;
  /** Wait after a node failed to answer, ms (default 10 min). */
  failureBackoffMs?: number;
  /** Ask a node that gave us everything again after this long, ms (default 6 h; 0 = never). */
  revisitIdleMs?: number;
  /** When there is nothing to do, look for seeds again this often, ms (default 30 s). */
  idleRetryMs?: number;
  /** Write buffered records this often, ms (default 1 s). */
  flushIntervalMs?: number;
  /** Save the crawl state (schedule, frontier) this often, ms (default 60 s). */
  stateSaveIntervalMs?: number;
  /** Optional metadata resolution of newly found infohashes. */
  resolver?: MetadataResolver;
  resolveConcurrency?: number;
  resolveTimeoutMs?: number;
  /**
   * This crawler's share of the target IPs when several crawlers share a database (shard.ts):
   * only nodes whose IP hashes to `index` (mod `count`) are queried.
   */
  shard?: { index: number; count: number };
}

export type CrawlerEvents = {
  /** An infohash no crawler sharing the store had recorded (reported when it is written). */
  infohash: [infoHash: Uint8Array, source: InfoHashSource];
  /** Nothing left to ask right now (frontier empty, nothing due, nothing in flight). */
  idle: [];
  /** A non-fatal problem (store write failed, ...). */
  warning: [err: Error];
};

/** The timing/size settings the crawler reads on every step, defaults applied. */
export interface CrawlerConfig {
  maxInflight: number;
  queryTimeoutMs: number;
  minIntervalMs: number;
  failureBackoffMs: number;
  revisitIdleMs: number;
  idleRetryMs: number;
  flushIntervalMs: number;
  stateSaveIntervalMs: number;
}

export function crawlerConfig(opts: CrawlerOptions): CrawlerConfig {
  return {
    maxInflight: opts.maxInflight ?? 32,
    queryTimeoutMs: opts.queryTimeoutMs ?? 10_000,
    // A node answering interval 0 still gets a minute's rest: BEP 51 allows 0, politeness not.
    minIntervalMs: opts.minIntervalMs ?? 60_000,
    failureBackoffMs: opts.failureBackoffMs ?? 10 * 60_000,
    // BEP 51: "an indexer that sweeps over the keyspace only once every 6 hours will not have
    // to perform bookkeeping of backoff intervals" -- 6 h is also our refresh period.
    revisitIdleMs: opts.revisitIdleMs ?? MAX_SAMPLE_INTERVAL_S * 1000,
    idleRetryMs: opts.idleRetryMs ?? 30_000,
    flushIntervalMs: opts.flushIntervalMs ?? 1_000,
    stateSaveIntervalMs: opts.stateSaveIntervalMs ?? 60_000
  };
}
