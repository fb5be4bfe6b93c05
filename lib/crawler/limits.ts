/**
 * The crawler's two rate limits, as small pure units with time passed in (no timers), so the
 * crawler can compute when to wake up and tests can drive them with plain numbers.
 *
 * Each crawler instance owns its own limiters: no module-level state shared between crawlers.
 */
import { InvalidArgumentError } from '../errors.js';

/**
 * Global query rate: a token bucket refilled at `ratePerSecond`, holding at most `burst`
 * tokens. Over any window of T seconds it allows at most burst + rate * T queries, so a small
 * burst (default: a tenth of a second's worth) keeps the traffic smooth.
 */
export class TokenBucket {
  private readonly rate: number;
  private readonly burst: number;
  private tokens: number;
  private at: number;

  constructor(opts: { ratePerSecond: number; burst?: number; nowMs: number }) {
    this.rate = positive(opts.ratePerSecond, 'ratePerSecond');
    this.burst = positive(opts.burst ?? Math.max(1, Math.ceil(this.rate / 10)), 'burst');
    this.tokens = this.burst;
    this.at = opts.nowMs;
  }

  /** Take one token if available. */
  take(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is available (0 when one is). */
  waitMs(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.rate);
  }

  private refill(nowMs: number): void {
    const elapsed = nowMs - this.at;
    if (elapsed <= 0) return; // a clock step backwards never mints tokens
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
    this.at = nowMs;
  }
}

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

function positive(v: number, name: string): number {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) {
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `${name} must be a positive number, got ${String(v)}`
    );
  }
  return v;
}
