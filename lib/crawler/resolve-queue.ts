/**
 * Bounded metadata resolution: at most `concurrency` resolutions at once, each aborted after
 * `timeoutMs`. Work is *claimed* from the store (CrawlerStore.claimUnresolved) rather than
 * pushed by discovery, so crawlers sharing a database never resolve the same infohash at once,
 * an infohash found while resolution lags behind simply waits in the database, and the claims
 * of a crawler that died expire with their lease and go to whoever asks next.
 *
 * The resolver itself is pluggable (types.ts MetadataResolver): the crawler does not know
 * whether metadata comes from ut_metadata peers, a cache or a test double.
 */
import type { Clock } from '../util/clock.js';
import type { MetadataResolver, TorrentMetadata } from './types.js';

export interface ResolveQueueOptions {
  resolver: MetadataResolver;
  clock: Clock;
  /** Hand out up to `max` infohashes to resolve, each leased for `leaseMs`. */
  claim: (max: number, leaseMs: number) => Promise<Uint8Array[]>;
  concurrency?: number;
  timeoutMs?: number;
  /** Called once per resolved infohash with its metadata. */
  onResolved: (infoHash: Uint8Array, meta: TorrentMetadata) => void;
  /** Called when a resolution gave up, failed or timed out (not when stopped). */
  onFailed: (infoHash: Uint8Array) => void;
  /** A claim failed (database down...): reported, retried at the next refill(). */
  onError: (err: unknown) => void;
}

export interface ResolveStats {
  inflight: number;
  /** Infohashes handed to this crawler by the store. */
  claimed: number;
  resolved: number;
  /** Resolver gave up (null) or threw. */
  failed: number;
  timedOut: number;
}

export class ResolveQueue {
  private readonly opts: ResolveQueueOptions & { concurrency: number; timeoutMs: number };
  private readonly active = new Map<string, AbortController>();
  private readonly settled = new Set<Promise<void>>();
  private readonly counters = { claimed: 0, resolved: 0, failed: 0, timedOut: 0 };
  private claiming = false;
  private stopped = false;

  constructor(opts: ResolveQueueOptions) {
    this.opts = { concurrency: 4, timeoutMs: 30_000, ...opts };
  }

  /** Claim work for every free slot (no-op while a claim is pending or when stopped). */
  refill(): void {
    const free = this.opts.concurrency - this.active.size;
    if (this.stopped || this.claiming || free <= 0) return;
    this.claiming = true;
    // The lease outlives the timeout, so a claim is never handed out twice while it runs.
    const claimed = this.opts.claim(free, this.opts.timeoutMs * 2 + 60_000).then(
      (list) => {
        this.claiming = false;
        for (const ih of list) {
          this.counters.claimed++;
          if (this.stopped) return;
          this.start(ih);
        }
      },
      (err: unknown) => {
        this.claiming = false;
        this.opts.onError(err);
      }
    );
    this.settled.add(claimed);
    void claimed.finally(() => this.settled.delete(claimed));
  }

  /** Resolutions that could start now. */
  idleSlots(): number {
    return this.stopped ? 0 : Math.max(0, this.opts.concurrency - this.active.size);
  }

  stats(): ResolveStats {
    return { inflight: this.active.size, ...this.counters };
  }

  /** Abort running resolutions (their leases expire) and wait for them to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const c of this.active.values()) c.abort();
    while (this.settled.size > 0) await Promise.allSettled([...this.settled]);
  }

  private start(infoHash: Uint8Array): void {
    const key = Buffer.from(infoHash).toString('hex');
    const controller = new AbortController();
    this.active.set(key, controller);
    let timedOut = false;
    const timer = this.opts.clock.setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.opts.timeoutMs);
    // `run` is read in its own finally block, which always runs after at least one await.
    let run: Promise<void> = Promise.resolve();
    run = (async () => {
      try {
        // Through a promise so a resolver that throws synchronously is handled the same way.
        const meta = await Promise.resolve().then(() =>
          this.opts.resolver.resolve(infoHash, controller.signal)
        );
        if (timedOut) this.counters.timedOut++;
        else if (meta && !this.stopped) {
          this.counters.resolved++;
          this.opts.onResolved(infoHash, meta);
        } else if (!this.stopped) this.counters.failed++;
        if (timedOut || (!meta && !this.stopped)) this.opts.onFailed(infoHash);
      } catch {
        if (timedOut) this.counters.timedOut++;
        else if (!this.stopped) this.counters.failed++;
        if (timedOut || !this.stopped) this.opts.onFailed(infoHash);
      } finally {
        timer.cancel();
        this.active.delete(key);
        this.settled.delete(run);
        this.refill();
      }
    })();
    this.settled.add(run);
  }
}
