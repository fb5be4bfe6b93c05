/**
 * A token bucket as a small pure unit with time passed in (no timers): callers compute when to
 * wake up, and tests drive it with plain numbers. Tokens are whatever the owner counts: queries
 * (crawler, DHT outbound rate, the index server's per-client requests), replies owed to
 * strangers (uTP resets, the DHT's inbound cap), bytes (the DHT's outbound budget, the
 * engine's upload and download caps). Each owner has its own: no module-level state.
 */
import { InvalidArgumentError } from '../errors.js';

/**
 * A token bucket refilled at `ratePerSecond`, holding at most `burst`
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

  /** Take `n` tokens if there are that many. */
  take(nowMs: number, n = 1): boolean {
    this.refill(nowMs);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Take `n` tokens even if that leaves a debt: what was already sent is spent. */
  spend(nowMs: number, n: number): void {
    this.refill(nowMs);
    this.tokens -= n;
  }

  /** The refill rate, tokens per second. */
  get ratePerSecond(): number {
    return this.rate;
  }

  /** Tokens that may be taken now (0 when in debt): lets a caller size a batch. */
  available(nowMs: number): number {
    this.refill(nowMs);
    return Math.max(0, this.tokens);
  }

  /** Is anything left (no debt)? */
  hasAny(nowMs: number): boolean {
    this.refill(nowMs);
    return this.tokens > 0;
  }

  /** Milliseconds until `n` tokens (at most a full bucket) are available (0 when they are). */
  waitMs(nowMs: number, n = 1): number {
    this.refill(nowMs);
    const need = Math.min(n, this.burst) - this.tokens;
    return need <= 0 ? 0 : Math.ceil((need * 1000) / this.rate);
  }

  private refill(nowMs: number): void {
    const elapsed = nowMs - this.at;
    if (elapsed <= 0) return; // a clock step backwards never mints tokens
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
    this.at = nowMs;
  }
}

/**
 * A byte-rate cap for a rate that may change at run time: no bucket (unlimited) for a rate of
 * 0 or Infinity, else a full bucket with a burst of a tenth of a second's worth, never below
 * `minBurst` (e.g. two blocks, so a block always fits).
 */
export function rateCap(rate: number, minBurst: number, nowMs: number): TokenBucket | undefined {
  if (!(Number.isFinite(rate) && rate > 0)) return undefined;
  return new TokenBucket({ ratePerSecond: rate, burst: Math.max(Math.ceil(rate / 10), minBurst), nowMs });
}

/** `v` if it is a finite number > 0, else InvalidArgumentError naming `name`. */
export function positive(v: number, name: string): number {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) {
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `${name} must be a positive number, got ${String(v)}`
    );
  }
  return v;
}
