/**
 * Token bucket on an injected Clock: the engine's byte rate caps (tokens are bytes: taken
 * before a block is sent or requested) and the crawler's query rate (a token per query).
 *
 * Tokens refill continuously at `rate` per second up to `burst`; `delayFor(n)` says how long to
 * wait when the bucket is short. Over any window of T seconds it allows at most
 * burst + rate * T tokens. A rate of 0 (or Infinity) means unlimited. Each owner has its own
 * bucket: no module-level state, so engines or crawlers in one process do not share caps.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Clock } from './clock.js';

export interface TokenBucketOptions {
  /** Tokens per second; 0 or Infinity = unlimited. */
  rate: number;
  /** Largest burst, tokens. Default ceil(rate / 10): smooth at a 100 ms scale. */
  burst?: number;
  /** The burst is never below this (e.g. two blocks for byte caps). Default 1 token. */
  minBurst?: number;
  clock: Clock;
}

export class TokenBucket {
  private rateBps: number;
  private burst: number;
  private tokens: number;
  private last: number;
  private readonly clock: Clock;
  private readonly explicitBurst: number | undefined;
  private readonly minBurst: number;

  constructor(opts: TokenBucketOptions) {
    this.clock = opts.clock;
    this.explicitBurst = opts.burst;
    this.minBurst = opts.minBurst ?? 1;
    this.rateBps = 0;
    this.burst = 0;
    this.tokens = 0;
    this.last = this.clock.now();
    this.setRate(opts.rate);
  }

  get unlimited(): boolean {
    return this.rateBps === 0;
  }

  get rate(): number {
    return this.rateBps;
  }

  /** Change the cap at run time (0 = unlimited). The bucket starts full at the new size. */
  setRate(rate: number): void {
    const r = Number.isFinite(rate) && rate > 0 ? rate : 0;
    this.rateBps = r;
    this.burst = r === 0 ? 0 : Math.max(this.explicitBurst ?? Math.ceil(r / 10), this.minBurst);
    this.tokens = this.burst;
    this.last = this.clock.now();
  }

  /** Take `n` tokens if available now. Always true when unlimited. */
  tryTake(n: number): boolean {
    if (this.rateBps === 0) return true;
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /**
   * Tokens that may be taken now (unlimited: Infinity). Lets a caller size a batch, e.g. how
   * many 16 KiB requests to send.
   */
  available(): number {
    if (this.rateBps === 0) return Infinity;
    this.refill();
    return Math.max(0, this.tokens);
  }

  /** Milliseconds until `n` tokens can be taken (0 if now). `n` above the burst waits for a full bucket. */
  delayFor(n: number): number {
    if (this.rateBps === 0) return 0;
    this.refill();
    const need = Math.min(n, this.burst) - this.tokens;
    return need <= 0 ? 0 : Math.ceil((need / this.rateBps) * 1000);
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = now - this.last;
    if (elapsed <= 0) return; // a clock step backwards never mints tokens
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1000) * this.rateBps);
  }
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
