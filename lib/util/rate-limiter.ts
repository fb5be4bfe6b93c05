/**
 * A byte-rate cap that can change at run time and can sit under a parent cap shared with
 * other owners: a torrent's own upload cap under a client's global one. Bytes pass only when
 * every cap on the chain has the tokens, and are charged to all of them, so the torrents of a
 * client together never exceed the global rate while each stays within its own.
 *
 * libtorrent does the same with peer classes (a connection draws from every bandwidth
 * channel it belongs to: its torrent's, its class's, the session's).
 */
import { rateCap, type TokenBucket } from './token-bucket.js';
import type { Clock } from './clock.js';

export interface RateLimiterOptions {
  /** Bytes/s; 0 or Infinity = unlimited. */
  rate: number;
  /** Smallest burst (e.g. two blocks, so a block always fits). */
  minBurst: number;
  clock: Clock;
  /** A cap shared with other owners that these bytes also count against. */
  parent?: RateLimiter;
}

export class RateLimiter {
  private readonly minBurst: number;
  private readonly clock: Clock;
  private readonly parent: RateLimiter | undefined;
  private bucket: TokenBucket | undefined;
  private _rate = 0;

  constructor(options: RateLimiterOptions) {
    this.minBurst = options.minBurst;
    this.clock = options.clock;
    this.parent = options.parent;
    this.setRate(options.rate);
  }

  /** This cap alone, bytes/s (0 = unlimited). */
  get rate(): number {
    return this._rate;
  }

  /** A new rate, effective at once (a full bucket at the new rate). */
  setRate(rate: number): void {
    this.bucket = rateCap(rate, this.minBurst, this.clock.now());
    this._rate = this.bucket ? rate : 0;
  }

  /** Some cap on the chain limits the rate. */
  get limited(): boolean {
    return this.bucket !== undefined || (this.parent?.limited ?? false);
  }

  /** The tightest rate on the chain, bytes/s (Infinity when unlimited). */
  get effectiveRate(): number {
    const own = this.bucket ? this._rate : Infinity;
    return Math.min(own, this.parent?.effectiveRate ?? Infinity);
  }

  /** Bytes that may pass now (Infinity when unlimited, 0 when any cap is in debt). */
  available(nowMs: number): number {
    const own = this.bucket ? this.bucket.available(nowMs) : Infinity;
    return Math.min(own, this.parent?.available(nowMs) ?? Infinity);
  }

  /** Let `n` bytes pass if every cap has them (all or nothing). */
  take(nowMs: number, n: number): boolean {
    if (this.available(nowMs) < n) return false;
    this.charge(nowMs, n);
    return true;
  }

  /** Milliseconds until `n` bytes may pass (0 when they may). */
  waitMs(nowMs: number, n: number): number {
    return Math.max(this.bucket?.waitMs(nowMs, n) ?? 0, this.parent?.waitMs(nowMs, n) ?? 0);
  }

  private charge(nowMs: number, n: number): void {
    this.bucket?.spend(nowMs, n);
    this.parent?.charge(nowMs, n);
  }
}
