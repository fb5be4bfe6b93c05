import { validatePort, type Address } from '../net/address.js';
import { InvalidArgumentError } from '../errors.js';
import { ID_LENGTH } from '../constants.js';
import type { NodeInfo } from '../krpc/types.js';
import type { Transport } from '../net/transport.js';
import type { Clock } from '../util/clock.js';
import type { RandomSource } from '../util/random.js';
import type { ProtectionOptions } from './protections.js';

/**
 * Options of {@link DHT}. Every field is optional; defaults follow BEP 5 and libtorrent. The
 * protections (inbound limits, IP diversity, BEP 42, outbound budget) are described in
 * protections.ts and docs/security.md.
 */
export interface DhtOptions extends ProtectionOptions {
  /** Address to bind the UDP socket to (default '0.0.0.0'). Ignored with `transport`. */
  host?: string;
  /** UDP port (default 0 = any free port). Ignored with `transport`. */
  port?: number;
  /** Our node id (20 bytes or 40 hex chars); default random, or the one in `statePath`. */
  nodeId?: Uint8Array | string;
  /**
   * Bootstrap nodes as "host:port" or {host, port}. `undefined` means the public routers
   * (for real use only); pass `[]` to start alone (tests, private networks).
   */
  bootstrap?: ReadonlyArray<string | Address>;
  /** A ready transport (e.g. from SimNetwork). The DHT closes it on destroy(). */
  transport?: Transport;
  clock?: Clock;
  random?: RandomSource;
  /** Bucket size and lookup width (default 8). */
  k?: number;
  /** Queries in flight per lookup (default 3). */
  alpha?: number;
  /**
   * Per-query timeout in ms (default 2000). Lookups stop waiting for a node much earlier: after
   * a few of its round trips, or srtt + 4 rttvar of all answers (at most half this timeout).
   */
  queryTimeoutMs?: number;
  /** Outstanding queries cap (default 256). */
  maxInflight?: number;
  /** Outbound query rate cap, queries/s (default 400). */
  maxQueriesPerSecond?: number;
  /** BEP 43 read-only mode: we query but others must not store us; we answer nothing. */
  readOnly?: boolean;
  /**
   * Save/restore id and routing table here (atomic writes; the directory is created). One
   * node at a time owns the file (`<file>.lock`); another node started on it meanwhile uses
   * its nodes under an id of its own and does not save.
   */
  statePath?: string;
  /**
   * Nodes to start from, taken as a state file's are (questionable until they answer), for an
   * application that keeps the routing table itself; with `statePath`, both are used.
   */
  knownNodes?: ReadonlyArray<NodeInfo>;
  /**
   * Wait this long (ms, on `clock`) before joining (the self lookup and the refresh of sparse
   * buckets); the node answers queries meanwhile. Spreads the joins of many nodes started at
   * once (default 0). `ready` resolves after the join.
   */
  joinDelayMs?: number;
  /** How often the state is saved while running, ms (default 5 min). */
  saveIntervalMs?: number;
  /** Maintenance tick (bucket refresh, liveness pings, expiry), ms (default 60 s). */
  maintenanceIntervalMs?: number;
  /** Peer store limits. */
  maxStoredInfoHashes?: number;
  maxPeersPerInfoHash?: number;
  peerTtlMs?: number;
  /** BEP 44 item store limits (defaults: 1000 items, 1 MiB, 100 per source IP, 2 h lifetime). */
  itemStore?: { maxItems?: number; maxBytes?: number; maxItemsPerSource?: number; ttlMs?: number };
  /** Token secret rotation, ms (default 5 min: tokens live 5-10 min). */
  tokenRotateMs?: number;
  /** BEP 51 `interval` we advertise, seconds (default 21600). */
  sampleIntervalSeconds?: number;
}

export interface LookupOptionsPublic {
  signal?: AbortSignal;
}

export interface AnnounceOptions extends LookupOptionsPublic {
  /** BEP 5 implied_port: peers should use our UDP source port (for uTP/NAT setups). */
  impliedPort?: boolean;
  /** BEP 33 seed flag. */
  seed?: boolean;
}

/** The options checked before anything starts: a bad one throws from the constructor. */
export function validateStartOptions(opts: DhtOptions): void {
  if (opts.port !== undefined) validatePort(opts.port, 'port', true);
  for (const n of opts.knownNodes ?? []) {
    if (!(n.id instanceof Uint8Array) || n.id.length !== ID_LENGTH)
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'knownNodes: a node id is 20 bytes');
    validatePort(n.port, 'knownNodes port');
  }
  if (opts.joinDelayMs !== undefined && !(opts.joinDelayMs >= 0))
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `joinDelayMs must be >= 0, got ${opts.joinDelayMs}`
    );
}
