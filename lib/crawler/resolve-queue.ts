/**
 * Bounded metadata resolution for discovered infohashes: at most `concurrency` resolutions at
 * once, each aborted after `timeoutMs`, and at most `capacity` infohashes waiting (the newest
 * are dropped when full: the crawl outpaces resolution by orders of magnitude, and a dropped
 * infohash stays in the store, unresolved, for a later pass).
 *
 * The resolver itself is pluggable (types.ts MetadataResolver): the crawler does not know
 * whether metadata comes from ut_metadata peers, a cache or a test double.
 */
import type { Clock } from '../util/clock.js';
import type { MetadataResolver, TorrentMetadata } from './types.js';

export interface ResolveQueueOptions {
  resolver: MetadataResolver;
  clock: Clock;
  concurrency?: number;
  timeoutMs?: number;
  capacity?: number;
  /** Called once per resolved infohash with its metadata. */
  onResolved: (infoHash: Uint8Array, meta: TorrentMetadata) => void;
}

export interface ResolveStats {
  queued: number;
  inflight: number;
  resolved: number;
  /** Resolver gave up (null) or threw. */
  failed: number;
  timedOut: number;
  /** Not queued because the queue was full or stopped. */
  dropped: number;
}

export class ResolveQueue {
  private readonly opts: Required<Omit<ResolveQueueOptions, 'onResolved' | 'resolver' | 'clock'>> &
    ResolveQueueOptions;
  private readonly waiting: Uint8Array[] = [];
  private readonly keys = new Set<string>();
  private readonly active = new Map<string, AbortController>();
  private readonly settled = new Set<Promise<void>>();
  private readonly counters = { resolved: 0, failed: 0, timedOut: 0, dropped: 0 };
  private stopped = false;

  constructor(opts: ResolveQueueOptions) {
    this.opts = { concurrency: 4, timeoutMs: 30_000, capacity: 10_000, ...opts };
  }

  /** Queue an infohash (ignored when already queued or running). */
  enqueue(infoHash: Uint8Array): void {
    const key = Buffer.from(infoHash).toString('hex');
    if (this.keys.has(key)) return;
    if (this.stopped || this.waiting.length >= this.opts.capacity) {
      this.counters.dropped++;
      return;
    }
    this.keys.add(key);
    this.waiting.push(infoHash);
    this.pump();
  }

  stats(): ResolveStats {
    return { queued: this.waiting.length, inflight: this.active.size, ...this.counters };
  }

  /** Abort running resolutions, forget the waiting ones, and wait for the running to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.counters.dropped += this.waiting.length;
    this.waiting.length = 0;
    for (const c of this.active.values()) c.abort();
    await Promise.allSettled([...this.settled]);
  }

  private pump(): void {
    while (!this.stopped && this.active.size < this.opts.concurrency && this.waiting.length > 0) {
      this.start(this.waiting.shift()!);
    }
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
      } catch {
        if (timedOut) this.counters.timedOut++;
        else if (!this.stopped) this.counters.failed++;
      } finally {
        timer.cancel();
        this.active.delete(key);
        this.keys.delete(key);
        this.settled.delete(run);
        this.pump();
      }
    })();
    this.settled.add(run);
  }
}
