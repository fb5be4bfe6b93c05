/**
 * The crawler's per-IP rate limit, a small pure unit with time passed in (no timers), so the
 * crawler can compute when to wake up and tests can drive it with plain numbers. (The global
 * query rate is a util/token-bucket.ts TokenBucket on the crawler's clock.)
 *
 * Each crawler instance owns its own limiters: no module-level state shared between crawlers.
 */
import { positive } from '../util/token-bucket.js';

/**
 * Per-IP politeness: at most one query per `gapMs` to any one IP address, whatever its ports
 * (many nodes behind one address are one host to be polite to).
 *
 * Memory is bounded by `capacity`. An entry older than gapMs constrains nothing, so only those
 * are ever dropped; if the map is full of live entries, queries to new IPs are refused until
 * some expire. In practice the global rate bounds the live entries (rate * gap).
 */
export class PerIpLimiter {
  readonly gapMs: number;
  private readonly capacity: number;
  /** host -> time of the last query. Re-inserted on every query: insertion order = time order. */
  private readonly last = new Map<string, number>();

  constructor(opts: { queriesPerSecond: number; capacity?: number }) {
    this.gapMs = 1000 / positive(opts.queriesPerSecond, 'queriesPerSecond');
    this.capacity = Math.max(1, Math.floor(opts.capacity ?? 100_000));
  }

  /** True if a query to `host` now respects the gap (and there is room to remember it). */
  allowed(host: string, nowMs: number): boolean {
    const t = this.last.get(host);
    if (t !== undefined) return nowMs - t >= this.gapMs;
    if (this.last.size < this.capacity) return true;
    this.prune(nowMs);
    return this.last.size < this.capacity;
  }

  /** Milliseconds until `host` may be queried again (0 = now). */
  waitMs(host: string, nowMs: number): number {
    const t = this.last.get(host);
    return t === undefined ? 0 : Math.max(0, Math.ceil(t + this.gapMs - nowMs));
  }

  /** Note a query sent to `host` now. Call only after allowed() said yes. */
  record(host: string, nowMs: number): void {
    this.last.delete(host);
    this.last.set(host, nowMs);
    if (this.last.size > this.capacity) this.prune(nowMs);
  }

  size(): number {
    return this.last.size;
  }

  /** Drop entries that no longer constrain anything (oldest first: the map is time-ordered). */
  private prune(nowMs: number): void {
    for (const [host, t] of this.last) {
      if (nowMs - t < this.gapMs) return;
      this.last.delete(host);
    }
  }
}
