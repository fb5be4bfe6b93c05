/** Counters of one crawler run (what the CLI prints and the benchmark divides). */
import type { AnomalyKind, RejectReason } from './validate.js';
import type { ResolveStats } from './resolve-queue.js';

export interface CrawlerStats {
  running: boolean;
  /** Time since start(), ms (on the crawler's clock). */
  elapsedMs: number;
  queriesSent: number;
  /** Replies accepted (not rejected). */
  replies: number;
  /** Timeouts and transport errors. */
  failures: number;
  /** KRPC errors received (e.g. 204 from nodes without BEP 51). */
  remoteErrors: number;
  /** Nodes that answered for the first time (within the schedule's memory). */
  nodesVisited: number;
  /** Replies without `samples`: the node does not implement BEP 51. */
  unsupported: number;
  /** Infohashes received in samples, repeats included. */
  samples: number;
  /** Infohashes this crawler inserted: no crawler sharing the store had recorded them. */
  newInfoHashes: number;
  /** Rows the store's size cap removed. */
  evicted: number;
  /** Nodes not added because their IP belongs to another crawler's shard. */
  outOfShard: number;
  passive: { get_peers: number; announce_peer: number };
  /** Replies dropped, by reason. */
  rejected: Record<RejectReason, number>;
  /** Problems repaired in replies that were used, by kind. */
  anomalies: Record<AnomalyKind, number>;
  /** Queries postponed because their IP was asked less than a gap ago. */
  deferredPerIp: number;
  /** Queries postponed because the per-node schedule was full of live entries. */
  scheduleFull: number;
  revisitsDropped: number;
  frontierEvicted: number;
  storeErrors: number;
  inflight: number;
  frontier: number;
  schedule: number;
  revisits: number;
  /** What start() restored from the store. */
  restored: { schedule: number; frontier: number; revisits: number };
  resolve?: ResolveStats;
}

export function emptyStats(): CrawlerStats {
  return {
    running: false,
    elapsedMs: 0,
    queriesSent: 0,
    replies: 0,
    failures: 0,
    remoteErrors: 0,
    nodesVisited: 0,
    unsupported: 0,
    samples: 0,
    newInfoHashes: 0,
    evicted: 0,
    outOfShard: 0,
    passive: { get_peers: 0, announce_peer: 0 },
    rejected: { 'bad-id': 0, 'too-many-samples': 0, 'bad-sample': 0, 'lying-num': 0 },
    anomalies: {
      'duplicate-samples': 0,
      'missing-num': 0,
      'missing-interval': 0,
      'interval-out-of-range': 0,
      'bad-node': 0,
      'too-many-nodes': 0
    },
    deferredPerIp: 0,
    scheduleFull: 0,
    revisitsDropped: 0,
    frontierEvicted: 0,
    storeErrors: 0,
    inflight: 0,
    frontier: 0,
    schedule: 0,
    revisits: 0,
    restored: { schedule: 0, frontier: 0, revisits: 0 }
  };
}
