/**
 * Token bucket for byte rate caps (upload and download), on an injected Clock.
 *
 * Tokens are bytes. They refill continuously at `rate` bytes/s up to `burst`; the engine takes
 * tokens before it sends a block (upload) or a request (download), and asks `delayFor(n)` how
 * long to wait when the bucket is short. A rate of 0 (or Infinity) means unlimited. One bucket
 * per engine and direction: no module-level state, so engines in one process do not share caps.
 */
import type { Clock } from '../util/clock.js';

export interface TokenBucketOptions {
  /** Bytes per second; 0 or Infinity = unlimited. */
  rate: number;
  /** Largest burst, bytes. Default max(rate / 10, 2 blocks): smooth at a 100 ms scale. */
  burst?: number;
  clock: Clock;
}

const MIN_BURST = 2 * 16 * 1024;

export class TokenBucket {
  private rateBps: number;
  private burst: number;
  private tokens: number;
  private last: number;
  private readonly clock: Clock;
  private readonly explicitBurst: number | undefined;

  constructor(opts: TokenBucketOptions) {
    this.clock = opts.clock;
    this.explicitBurst = opts.burst;
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
    this.burst = r === 0 ? 0 : Math.max(this.explicitBurst ?? r / 10, MIN_BURST);
    this.tokens = this.burst;
    this.last = this.clock.now();
  }

  /** Take `n` bytes if available now. Always true when unlimited. */
  tryTake(n: number): boolean {
    if (this.rateBps === 0) return true;
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /**
   * Bytes that may be taken now (unlimited: Infinity). Lets a caller size a batch, e.g. how
   * many 16 KiB requests to send.
   */
  available(): number {
    if (this.rateBps === 0) return Infinity;
    this.refill();
    return Math.max(0, this.tokens);
  }

  /** Milliseconds until `n` bytes can be taken (0 if now). `n` above the burst waits for a full bucket. */
  delayFor(n: number): number {
    if (this.rateBps === 0) return 0;
    this.refill();
    const need = Math.min(n, this.burst) - this.tokens;
    return need <= 0 ? 0 : Math.ceil((need / this.rateBps) * 1000);
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = now - this.last;
    if (elapsed <= 0) return;
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1000) * this.rateBps);
  }
}
