/**
 * BEP 51 crawler core: walks the DHT keyspace asking nodes for `sample_infohashes`, politely.
 *
 * Politeness is enforced before every query, in this order, and none of it can be skipped:
 * 1. per-node schedule (schedule.ts): a node is never asked again before the `interval` it
 *    gave us (clamped to BEP 51's 0..21600 s, floored at `minIntervalMs`); the slot is reserved
 *    *before* sending, so a reply racing a revisit cannot cause a double query;
 * 2. per-IP gap (limits.ts): at most `perIpQueriesPerSecond` to one IP, whatever the port;
 * 3. global token bucket: at most `queriesPerSecond` overall, plus `maxInflight` outstanding.
 *
 * Walk: the frontier (frontier.ts) is bucketed by id prefix and drained round-robin, so a sweep
 * moves across the keyspace in order; query targets (targets.ts) alternate between the queried
 * node's neighbourhood and an evenly spread sweep of the id space. Replies feed the frontier;
 * nodes with more infohashes than they sent (`num` > samples) or due for a periodic refresh
 * go to the revisit queue. Options and defaults: options.ts.
 *
 * Several crawlers on one database split the node keyspace by target IP (shard.ts): each IP
 * belongs to one crawler, so the per-IP limit holds for the whole fleet, not per process.
 *
 * Persistence: sightings are buffered by the store and flushed every `flushIntervalMs`; the
 * schedule is snapshotted *before* each flush and saved after it, so every saved "visited"
 * mark has its samples already written: a crash loses at most unsaved visits (asked again
 * after restart), never samples of a node marked visited.
 *
 * Pure: query, clock, random source and store are injected; no sockets, no wall-clock timers,
 * so the same code runs against the real DHT and against thousands of simulated nodes.
 */
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { cryptoRandom, type RandomSource } from '../util/random.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { RemoteError } from '../errors.js';
import { Frontier, type Eligibility } from './frontier.js';
import { NodeSchedule } from './schedule.js';
import { PerIpLimiter } from './limits.js';
import { TokenBucket } from '../util/token-bucket.js';
import { RevisitQueue } from './revisit-queue.js';
import { ResolveQueue } from './resolve-queue.js';
import { MAX_SAMPLE_INTERVAL_S, sanitizeReply, type AnomalyKind, type RejectReason } from './validate.js';
import { emptyStats, type CrawlerStats } from './stats.js';
import { crawlerConfig, type CrawlerConfig, type CrawlerEvents, type CrawlerOptions } from './options.js';
import { TargetPicker } from './targets.js';
import { inShard } from './shard.js';
import type {
  Candidate,
  CrawlerState,
  CrawlerStore,
  FlushResult,
  InfoHashSource,
  SampleQuery,
  SampleReply
} from './types.js';
import { formatAddress } from '../net/address.js';

const ID_LEN = 20;
/** Delay of the early flush that feeds an idle resolver, ms. */
const EARLY_FLUSH_MS = 100;

/** A query about to be sent: the node, whether it is a first visit, failures so far. */
interface Visit {
  node: Candidate;
  first: boolean;
  failures: number;
}

export class Crawler extends TypedEmitter<CrawlerEvents> {
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly store: CrawlerStore;
  private readonly query: SampleQuery;
  private readonly cfg: CrawlerConfig;
  private readonly opts: CrawlerOptions;
  private readonly frontier: Frontier;
  private readonly schedule: NodeSchedule;
  private readonly revisits: RevisitQueue;
  private readonly perIp: PerIpLimiter;
  private readonly bucket: TokenBucket;
  private readonly resolveQueue: ResolveQueue | null;
  private readonly inflight = new Map<
    string,
    { node: Candidate; controller: AbortController; done: Promise<void> }
  >();
  private readonly counters: CrawlerStats = emptyStats();
  private readonly targets: TargetPicker;
  private running = false;
  private pumping = false;
  private wake: TimerHandle | null = null;
  private wakeAt = Infinity;
  private housekeeping: TimerHandle | null = null;
  /** The flush (and state save) running now; the next one waits for it. */
  private persisting: Promise<void> = Promise.resolve();
  private earlyFlush: TimerHandle | null = null;
  private lastSave = 0;
  private lastSeeding = -Infinity;
  private idleAnnounced = false;
  private startedAt = 0;
  private unsubscribe: (() => void) | null = null;

  constructor(opts: CrawlerOptions) {
    super();
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? cryptoRandom;
    this.store = opts.store;
    this.query = opts.query;
    this.cfg = crawlerConfig(opts);
    this.targets = new TargetPicker(this.random);
    this.frontier = new Frontier({ capacity: opts.frontierCapacity ?? 50_000 });
    this.schedule = new NodeSchedule({ capacity: opts.scheduleCapacity ?? 1_000_000 });
    this.revisits = new RevisitQueue(opts.revisitCapacity ?? 100_000);
    this.perIp = new PerIpLimiter({ queriesPerSecond: opts.perIpQueriesPerSecond ?? 1 });
    this.bucket = new TokenBucket({
      ratePerSecond: opts.queriesPerSecond ?? 20,
      ...(opts.burst !== undefined ? { burst: opts.burst } : {}),
      nowMs: this.clock.now()
    });
    this.resolveQueue = opts.resolver
      ? new ResolveQueue({
          resolver: opts.resolver,
          clock: this.clock,
          ...(opts.resolveConcurrency ? { concurrency: opts.resolveConcurrency } : {}),
          ...(opts.resolveTimeoutMs ? { timeoutMs: opts.resolveTimeoutMs } : {}),
          claim: (max, leaseMs) => this.store.claimUnresolved(max, this.clock.now(), leaseMs),
          onResolved: (ih, meta) => this.safely(() => this.store.recordMetadata(ih, meta, this.clock.now())),
          onFailed: (ih) => this.safely(() => this.store.recordResolveFailure(ih, this.clock.now())),
          onError: (err) => this.warn(err)
        })
      : null;
  }

  /** Load the saved state, add the bootstrap nodes, and start querying. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    let now = this.clock.now();
    this.startedAt = now;
    const state = await this.store.loadState(now);
    if (!this.running) return; // stopped while loading
    now = this.clock.now();
    this.lastSave = now;
    for (const e of state.schedule) this.schedule.restore(e, now);
    for (const c of state.frontier) {
      const node = { host: c.host, port: c.port, ...(c.id ? { id: c.id } : {}) };
      if (c.dueMs > now) this.revisits.push({ dueMs: c.dueMs, node });
      else this.addCandidate(node, now);
    }
    this.counters.restored = {
      schedule: this.schedule.size(),
      frontier: this.frontier.size(),
      revisits: this.revisits.size()
    };
    this.unsubscribe = this.opts.passive?.((ih, kind) => this.recordPassive(ih, kind)) ?? null;
    this.seed(now);
    this.scheduleHousekeeping();
    this.resolveQueue?.refill();
    // The per-IP record is not persisted: wait one gap first, so a quick restart cannot ask an
    // IP twice within the gap (the previous run may have just queried it).
    this.wakeIn(Math.ceil(this.perIp.gapMs));
  }

  /** Stop querying, wait for queries in flight, then flush records and save the state. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.cancel();
    this.wake = null;
    this.housekeeping?.cancel();
    this.housekeeping = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const q of this.inflight.values()) q.controller.abort();
    await Promise.allSettled([...this.inflight.values()].map((q) => q.done));
    await this.resolveQueue?.stop();
    this.earlyFlush?.cancel();
    this.earlyFlush = null;
    await this.persistInTurn(true);
  }

  /** Record an infohash seen passively (an incoming get_peers / announce_peer). */
  recordPassive(infoHash: Uint8Array, kind: 'get_peers' | 'announce_peer'): void {
    if (!(infoHash instanceof Uint8Array) || infoHash.length !== ID_LEN) return;
    this.counters.passive[kind]++;
    this.record(infoHash, kind, this.clock.now());
  }

  stats(): CrawlerStats {
    return {
      ...this.counters,
      passive: { ...this.counters.passive },
      rejected: { ...this.counters.rejected },
      anomalies: { ...this.counters.anomalies },
      running: this.running,
      elapsedMs: this.clock.now() - this.startedAt,
      inflight: this.inflight.size,
      frontier: this.frontier.size(),
      schedule: this.schedule.size(),
      revisits: this.revisits.size(),
      frontierEvicted: this.frontier.evicted,
      ...(this.resolveQueue ? { resolve: this.resolveQueue.stats() } : {})
    };
  }

  // --- the query loop ------------------------------------------------------------------

  private pump(): void {
    if (!this.running || this.pumping) return;
    this.pumping = true;
    try {
      while (this.running && this.inflight.size < this.cfg.maxInflight) {
        const now = this.clock.now();
        const tokenWait = this.bucket.waitMs(now);
        if (tokenWait > 0) return this.wakeIn(tokenWait);
        const next = this.pickNext(now);
        if (next === null) return this.nothingToDo(now);
        this.bucket.take(now);
        this.send(next, now);
      }
    } finally {
      this.pumping = false;
    }
  }

  /**
   * The next node that passes every politeness check, with its schedule slot reserved.
   * `first`: we hold no schedule entry for it, i.e. no visit within the schedule's memory.
   */
  private pickNext(now: number): Visit | null {
    let ipWait = Infinity;
    // Due revisits first: they were promised a slot. Bounded work per call.
    for (let i = 0; i < 64; i++) {
      const r = this.revisits.popDue(now);
      if (!r) break;
      const key = formatAddress(r.node);
      const allowedAt = this.schedule.nextAllowed(key);
      // Not allowed yet: another path (the frontier) visited it since this was planned, and
      // that visit planned its own revisit. Drop the stale entry instead of duplicating it.
      if (allowedAt > now) continue;
      if (!this.perIp.allowed(r.node.host, now)) {
        this.counters.deferredPerIp++;
        this.requeue(r.node, now + Math.max(1, this.perIp.waitMs(r.node.host, now)), r.failures);
      } else if (this.reserve(key, now)) {
        return { node: r.node, first: allowedAt === -Infinity, failures: r.failures ?? 0 };
      } else {
        this.requeue(r.node, now + 1000, r.failures);
        return null;
      }
    }
    const verdict = (c: Candidate, key: string): Eligibility => {
      if (this.opts.isSelf?.(c) || !this.schedule.canQuery(key, now)) return 'drop';
      if (!this.perIp.allowed(c.host, now)) {
        this.counters.deferredPerIp++;
        ipWait = Math.min(ipWait, Math.max(1, this.perIp.waitMs(c.host, now)));
        return 'skip';
      }
      return 'take';
    };
    const c = this.frontier.take(verdict);
    if (c === null) {
      if (ipWait < Infinity) this.wakeIn(ipWait);
      return null;
    }
    const key = formatAddress(c);
    const first = this.schedule.nextAllowed(key) === -Infinity;
    if (this.reserve(key, now)) return { node: c, first, failures: 0 };
    this.frontier.add(c); // schedule full of live entries: wait for some to expire
    this.wakeIn(1000);
    return null;
  }

  private reserve(key: string, now: number): boolean {
    // Provisional: while in flight and until a reply says otherwise, back off as for a failure.
    if (this.schedule.reserve(key, now + this.cfg.failureBackoffMs, now)) return true;
    this.counters.scheduleFull++;
    return false;
  }

  private send(visit: Visit, now: number): void {
    const node = visit.node;
    const key = formatAddress(node);
    this.perIp.record(node.host, now);
    this.counters.queriesSent++;
    const controller = new AbortController();
    const guard = this.clock.setTimeout(() => controller.abort(), this.cfg.queryTimeoutMs);
    const target = this.targetFor(node);
    const done = this.query({ host: node.host, port: node.port }, target, controller.signal)
      .then(
        (reply) => this.onReply(visit, key, reply),
        (err: unknown) => this.onFailure(visit, key, err)
      )
      .finally(() => {
        guard.cancel();
        this.inflight.delete(key);
        this.pump();
      });
    this.inflight.set(key, { node, controller, done });
  }

  private targetFor(node: Candidate): Uint8Array {
    return this.targets.next(node, this.frontier.size() < this.cfg.maxInflight * 4);
  }

  private onReply(visit: Visit, key: string, raw: SampleReply): void {
    const node = visit.node;
    const now = this.clock.now();
    const result = sanitizeReply(raw, {
      acceptNode: (n) => !this.opts.isSelf?.(n) && (this.opts.acceptNode?.(n) ?? true)
    });
    const known: Candidate = {
      host: node.host,
      port: node.port,
      ...(raw.id?.length === ID_LEN ? { id: raw.id } : {})
    };
    if (!result.ok) {
      this.counters.rejected[result.reason as RejectReason]++;
      // Not believed: leave it alone for the longest interval BEP 51 allows.
      this.schedule.update(key, now + MAX_SAMPLE_INTERVAL_S * 1000, now);
      for (const n of result.nodes) this.addCandidate(n, now);
      return;
    }
    const reply = result.reply;
    this.counters.replies++;
    if (visit.first) this.counters.nodesVisited++;
    for (const a of reply.anomalies) this.counters.anomalies[a as AnomalyKind]++;
    const intervalMs = Math.max(this.cfg.minIntervalMs, reply.intervalS * 1000);
    // The schedule holds the *planned* next visit, which is never before the node's interval:
    // - more stored than sampled (num > samples): as soon as the interval allows;
    // - it gave us everything: a periodic refresh (revisitIdleMs), so that frontier mentions
    //   do not pull it back every interval for nothing new;
    // - no BEP 51 support: only after the longest interval BEP 51 allows.
    let nextVisit = now + intervalMs;
    if (!reply.supported) {
      this.counters.unsupported++;
      nextVisit = now + Math.max(intervalMs, MAX_SAMPLE_INTERVAL_S * 1000);
    } else {
      this.counters.samples += reply.samples.length;
      for (const ih of reply.samples) this.record(ih, 'sample', now);
      if (reply.samples.length > 0) this.flushSoonForResolver();
      const more = reply.num > reply.samples.length;
      if (!more) nextVisit = now + Math.max(intervalMs, this.cfg.revisitIdleMs);
      if (more || this.cfg.revisitIdleMs > 0) this.requeue(known, nextVisit);
    }
    this.schedule.update(key, nextVisit, now);
    for (const n of reply.nodes) this.addCandidate(n, now);
  }

  private onFailure(visit: Visit, key: string, err: unknown): void {
    if (!this.running && !(err instanceof RemoteError)) return; // aborted by stop()
    const now = this.clock.now();
    if (err instanceof RemoteError) {
      // It answered, with an error (e.g. 204 method unknown): it will not sample for us.
      this.counters.remoteErrors++;
      this.schedule.update(key, now + MAX_SAMPLE_INTERVAL_S * 1000, now);
    } else {
      this.counters.failures++;
      this.schedule.update(key, now + this.cfg.failureBackoffMs, now);
      // One more try after the backoff (a datagram may just have been lost), then let it go.
      if (visit.failures < 1) this.requeue(visit.node, now + this.cfg.failureBackoffMs, visit.failures + 1);
    }
  }

  private addCandidate(c: Candidate, now: number): void {
    if (this.opts.shard && !inShard(c.host, this.opts.shard)) {
      this.counters.outOfShard++;
      return;
    }
    const key = formatAddress(c);
    if (this.opts.isSelf?.(c) || !this.schedule.canQuery(key, now) || this.inflight.has(key)) return;
    if (this.frontier.add(c)) this.idleAnnounced = false;
  }

  private requeue(node: Candidate, dueMs: number, failures?: number): void {
    if (!this.revisits.push(failures ? { dueMs, node, failures } : { dueMs, node }))
      this.counters.revisitsDropped++;
  }

  private record(infoHash: Uint8Array, source: InfoHashSource, now: number): void {
    this.safely(() => this.store.record(infoHash, source, now));
  }

  /** Nothing eligible now: refill from seeds if starved, and sleep until something is due. */
  private nothingToDo(now: number): void {
    if (
      this.frontier.size() === 0 &&
      this.inflight.size === 0 &&
      now - this.lastSeeding >= this.cfg.idleRetryMs
    ) {
      if (this.seed(now) > 0) return this.wakeIn(1);
    }
    const due = this.revisits.peekDue();
    if (
      this.frontier.size() === 0 &&
      this.inflight.size === 0 &&
      due > now + this.cfg.idleRetryMs &&
      !this.idleAnnounced
    ) {
      this.idleAnnounced = true;
      this.emit('idle');
    }
    const seedRetry = this.frontier.size() === 0 ? this.lastSeeding + this.cfg.idleRetryMs - now : Infinity;
    const wait = Math.min(due - now, seedRetry, this.frontier.size() > 0 ? 1000 : Infinity);
    if (Number.isFinite(wait)) this.wakeIn(Math.max(1, wait));
  }

  /** Add bootstrap and seed nodes to the frontier; returns how many were new. */
  private seed(now: number): number {
    this.lastSeeding = now;
    const before = this.frontier.size();
    for (const c of this.opts.bootstrap ?? []) this.addCandidate(c, now);
    for (const c of this.opts.seeds?.() ?? []) this.addCandidate(c, now);
    return this.frontier.size() - before;
  }

  private wakeIn(ms: number): void {
    const at = this.clock.now() + ms;
    if (this.wake && this.wakeAt <= at) return;
    this.wake?.cancel();
    this.wakeAt = at;
    this.wake = this.clock.setTimeout(() => {
      this.wake = null;
      this.wakeAt = Infinity;
      this.pump();
    }, ms);
  }

  // --- persistence ------------------------------------------------------------------------

  private scheduleHousekeeping(): void {
    this.housekeeping = this.clock.setTimeout(() => {
      this.housekeeping = null;
      if (!this.running) return;
      const save = this.clock.now() - this.lastSave >= this.cfg.stateSaveIntervalMs;
      void this.persistInTurn(save).finally(() => {
        if (this.running) this.scheduleHousekeeping();
      });
    }, this.cfg.flushIntervalMs);
  }

  /**
   * New samples while the resolver has idle slots: write them within ~100 ms instead of at the
   * next regular flush, so their resolution (claimed from the store) starts without waiting.
   */
  private flushSoonForResolver(): void {
    if (!this.resolveQueue || this.earlyFlush || this.resolveQueue.idleSlots() === 0) return;
    this.earlyFlush = this.clock.setTimeout(() => {
      this.earlyFlush = null;
      if (this.running) void this.persistInTurn(false);
    }, EARLY_FLUSH_MS);
  }

  /** One persist at a time, in call order. */
  private persistInTurn(save: boolean): Promise<void> {
    const run = this.persisting.then(() => this.persist(save));
    this.persisting = run;
    return run;
  }

  /** Flush the store's buffer, then (if `save`) the state snapshotted before the flush. */
  private async persist(save: boolean): Promise<void> {
    const now = this.clock.now();
    const state = save ? this.snapshotState() : null;
    try {
      this.flushed(await this.store.flush());
      if (state) {
        this.lastSave = now;
        await this.store.saveState(state, now);
      }
    } catch (err) {
      this.warn(err);
    }
    this.resolveQueue?.refill();
  }

  private flushed(result: FlushResult): void {
    this.counters.evicted += result.evicted;
    for (const { infoHash, source } of result.inserted) {
      this.counters.newInfoHashes++;
      this.emit('infohash', infoHash, source);
    }
  }

  private snapshotState(): CrawlerState {
    const frontier = [...this.frontier.entries()].map((c) => ({ ...c, dueMs: 0 }));
    for (const r of this.revisits.entries()) frontier.push({ ...r.node, dueMs: r.dueMs });
    // A query in flight holds only a provisional reservation, and its reply (with the nodes it
    // leads to) is not in yet: save the node as still to visit, not as visited, or a crash now
    // would lose it and everything only it leads to. Its entry is saved with its outcome.
    for (const q of this.inflight.values()) frontier.push({ ...q.node, dueMs: 0 });
    const schedule = this.schedule.takeDirty().filter((e) => !this.inflight.has(e.key));
    return { schedule, frontier };
  }

  private warn(err: unknown): void {
    this.counters.storeErrors++;
    this.emit('warning', err instanceof Error ? err : new Error(String(err)));
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.warn(err);
    }
  }
}
