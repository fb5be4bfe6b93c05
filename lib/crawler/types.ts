/**
 * Types shared by the BEP 51 crawler core, its stores and its metadata resolvers.
 *
 * The core (crawler.ts) never touches a socket, a timer API or a database directly: the query,
 * the clock, the random source and the store are injected, so the same code crawls the real
 * DHT through a DHT instance and thousands of simulated nodes in virtual time.
 */
import type { Address } from '../net/address.js';
import type { NodeInfo } from '../krpc/types.js';

/** How an infohash was found: sampled (BEP 51), or seen passively in a query to our node. */
export type InfoHashSource = 'sample' | 'get_peers' | 'announce_peer';

export const INFOHASH_SOURCES: readonly InfoHashSource[] = ['sample', 'get_peers', 'announce_peer'];

/**
 * One node's answer to `sample_infohashes`, as the query function reports it. Fields are
 * optional because a node that does not implement BEP 51 may answer like find_node (libtorrent
 * forward compatibility): `samples` absent means "unsupported", not "empty".
 */
export interface SampleReply {
  id: Uint8Array;
  samples?: Uint8Array[];
  num?: number;
  /** Seconds before this node should be asked again (BEP 51: 0..21600). */
  interval?: number;
  nodes: NodeInfo[];
}

/**
 * Send one `sample_infohashes` query to `node` with `target`. Rejects on timeout or error.
 * The crawler calls it only after its own politeness checks passed.
 */
export type SampleQuery = (node: Address, target: Uint8Array, signal: AbortSignal) => Promise<SampleReply>;

/** A node the crawler may visit. `id` is unknown for bootstrap addresses. */
export interface Candidate extends Address {
  id?: Uint8Array;
}

/** Resolved torrent metadata (from the verified info dictionary). */
export interface TorrentMetadata {
  name: string;
  /** Total payload size, bytes. */
  size: number;
  files: Array<{ path: string; size: number }>;
}

/**
 * Fetches metadata for an infohash (e.g. DHT get_peers + BEP 9 ut_metadata). Resolves null when
 * no peer delivered it; must stop promptly and reject or resolve null once `signal` aborts.
 */
export interface MetadataResolver {
  resolve(infoHash: Uint8Array, signal: AbortSignal): Promise<TorrentMetadata | null>;
}

/** A node the crawler must not query before `nextAllowedMs` (per-node schedule entry). */
export interface ScheduleEntry {
  key: string;
  nextAllowedMs: number;
}

/** A frontier entry as persisted: `dueMs` 0 = never visited, else the planned revisit time. */
export interface PersistedCandidate extends Candidate {
  dueMs: number;
}

export interface CrawlerState {
  schedule: ScheduleEntry[];
  frontier: PersistedCandidate[];
}

/** What one flush wrote. */
export interface FlushResult {
  /** Infohashes this flush inserted: no writer (this process or another) had recorded them. */
  inserted: Array<{ infoHash: Uint8Array; source: InfoHashSource }>;
  /** Rows the size cap removed during this flush. */
  evicted: number;
}

/**
 * Persistence seen by the crawler. Sightings and metadata are buffered in memory (the crawler
 * records from its hot path, synchronously); flush() writes them in one batch. Several
 * crawlers may share one store (PostgreSQL): every write is an idempotent upsert, and
 * resolution work is handed out by claims with a lease, so a crashed crawler's claims expire.
 */
export interface CrawlerStore {
  /** Buffer one sighting. */
  record(infoHash: Uint8Array, source: InfoHashSource, atMs: number): void;
  /** Buffer resolved metadata of a recorded infohash. */
  recordMetadata(infoHash: Uint8Array, meta: TorrentMetadata, atMs: number): void;
  /**
   * Buffer a failed resolution at `atMs`: the infohash is offered again after a delay that
   * grows with its attempts, and never after RESOLVE_MAX_ATTEMPTS (store/policy.ts).
   */
  recordResolveFailure(infoHash: Uint8Array, atMs: number): void;
  /** Write what is buffered (a failed write keeps it for the next flush). */
  flush(): Promise<FlushResult>;
  /**
   * Claim up to `max` unresolved infohashes for metadata resolution: each is handed to no
   * other claimer until `nowMs + leaseMs` (then it is offered again, e.g. after a crash).
   */
  claimUnresolved(max: number, nowMs: number, leaseMs: number): Promise<Uint8Array[]>;
  /** Crawler state saved by a previous run (entries already expired at `nowMs` left out). */
  loadState(nowMs: number): Promise<CrawlerState>;
  /**
   * Persist the crawler state: `schedule` holds the entries changed since the last save
   * (others are kept; expired ones may be dropped), `frontier` replaces the saved frontier.
   */
  saveState(state: CrawlerState, nowMs: number): Promise<void>;
}
