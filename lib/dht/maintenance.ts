/**
 * Periodic upkeep of a DHT node, on the injected clock:
 * - refresh buckets idle for 15 minutes with a find_node into their range (BEP 5);
 * - ping the nodes silent for longest, a few at a time, PROBES_PER_INTERVAL times per interval,
 *   so dead ones leave the table within a minute or two instead of being handed out until they
 *   turn questionable (a query answered by no one is asked twice before it counts: see
 *   `probe`): nodes silent for a minute, and in a bucket with replacements waiting (a dead
 *   entry there has a live node ready to take its slot) after 30 s. The ping budget decides
 *   how fast a dead entry is found: at 5% churn a minute (simulated, 300 nodes), 8 pings a
 *   minute after 5 minutes of silence left ~16% of the entries dead, 18 a minute ~12%, 24
 *   ~4.4%, 30 ~2.5%. 30 pings a minute cost ~75 bytes/s each way;
 * - expire stored peers; save the state file now and then.
 */
import type { Clock, TimerHandle } from '../util/clock.js';
import type { RandomSource } from '../util/random.js';
import type { RoutingTable } from '../routing/routing-table.js';
import type { Address } from '../net/address.js';
import { randomIdWithPrefix } from '../id/node-id.js';

/** At most this many bucket refresh lookups per tick (keeps bursts small). */
const MAX_REFRESH_PER_TICK = 4;
/** Liveness probe rounds per maintenance interval (every 10 s with the default 1 minute). */
const PROBES_PER_INTERVAL = 6;
/** At most this many liveness pings per probe round (30 a minute by default). */
const MAX_PINGS_PER_PROBE = 5;
/** Nodes silent this long are probed (libtorrent pings its least recently queried node every 5 s). */
const PROBE_AFTER_MS = 60_000;
/** ... and this long when their bucket has replacements waiting. */
const PROBE_REPLACEABLE_AFTER_MS = 30_000;
/** Below this many nodes the table re-runs the self lookup every tick. */
const SMALL_TABLE = 16;

/** What upkeep needs from its node (node-core.ts). */
export interface MaintenanceHost {
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly table: RoutingTable;
  /** A find_node lookup of `target`. */
  refresh(target: Uint8Array): Promise<void>;
  /** Ping `node`; resolves if it answered with `expectedId`. */
  ping(node: Address, expectedId: Uint8Array): Promise<unknown>;
  /** Expire stored peers. */
  pruneStores(): void;
  warn(err: Error): void;
}

export class Maintenance {
  /** One timer for both rounds (a timer costs ~250 bytes, and every idle node has this one). */
  private timer: TimerHandle | null = null;
  /** Probe rounds so far: every PROBES_PER_INTERVAL-th is also a tick. */
  private rounds = 0;
  private lastSave: number;
  private stopped = false;

  /** `save` writes the state file (null: no state file of ours). */
  constructor(
    private readonly host: MaintenanceHost,
    private readonly intervalMs: number,
    private readonly saveIntervalMs: number,
    private readonly save: (() => Promise<void>) | null
  ) {
    // Only a node with a state file reads it (a time stored in a field is a 16-byte box).
    this.lastSave = save ? host.clock.now() : 0;
  }

  start(): void {
    if (this.stopped || this.timer) return;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  /** One round of upkeep (also callable directly in tests). */
  tick(): void {
    const { host } = this;
    const { table, clock, random } = host;
    // A small table means we joined a young network (or lost our neighbours): look again.
    if (table.size() < SMALL_TABLE) host.refresh(table.localId).catch(() => {});
    for (const prefix of table.bucketsToRefresh().slice(0, MAX_REFRESH_PER_TICK)) {
      table.touchBucket(prefix);
      host.refresh(randomIdWithPrefix(table.localId, prefix, random)).catch(() => {});
    }
    host.pruneStores();
    if (this.save && clock.now() - this.lastSave >= this.saveIntervalMs) {
      this.lastSave = clock.now();
      this.save().catch((err: Error) => host.warn(err));
    }
  }

  /** One round of liveness pings (also callable directly in tests). */
  probe(): void {
    const { host } = this;
    const { table } = host;
    const stale = table.stalest(MAX_PINGS_PER_PROBE - 1, PROBE_AFTER_MS, PROBE_REPLACEABLE_AFTER_MS);
    if (stale.length === 0) return;
    // A silence counts against a node only if someone answered us meanwhile (dht.ts: our own
    // link may be down). After a mass departure every stale node may be dead, and a round of
    // them alone would never count: the most recently seen node goes along as evidence.
    const fresh = table
      .all()
      .reduce<(typeof stale)[number] | null>(
        (best, c) => (best === null || c.lastSeen > best.lastSeen ? c : best),
        null
      );
    if (fresh && !stale.includes(fresh)) stale.push(fresh);
    for (const node of stale) {
      // Failures are recorded by the query path; a second try covers a lost datagram, so a live
      // node is not dropped for one loss, and a dead one reaches NODE_BAD_FAILURES at once.
      host
        .ping(node, node.id)
        .catch(() => host.ping(node, node.id))
        .catch(() => {});
    }
  }

  /** Every interval / PROBES_PER_INTERVAL a probe round; every interval a tick before it. */
  private schedule(): void {
    this.timer = this.host.clock.setTimeout(() => {
      this.timer = null;
      if (this.stopped) return;
      if (++this.rounds % PROBES_PER_INTERVAL === 0) this.tick();
      this.probe();
      this.schedule();
    }, this.intervalMs / PROBES_PER_INTERVAL);
  }
}
