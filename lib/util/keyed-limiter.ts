/**
 * One token bucket per key (a source IP, a peer), with a bound on how many keys are remembered:
 * the least recently seen key is forgotten first, and a forgotten key starts again with a full
 * bucket. Time is passed in; no timers.
 */
import { TokenBucket } from './token-bucket.js';

export interface KeyedLimiterOptions {
  /** Tokens per second refilled for each key. */
  ratePerSecond: number;
  /** Tokens a key may spend at once. */
  burst: number;
  /** Keys remembered at once. */
  maxKeys: number;
}

export class KeyedLimiter {
  /** Insertion order is recency order: a key is re-inserted whenever it is used. */
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly o: KeyedLimiterOptions) {}

  /** Take one token for `key`; false when its bucket is empty. */
  take(key: string, nowMs: number): boolean {
    let bucket = this.buckets.get(key);
    if (bucket) this.buckets.delete(key);
    else {
      bucket = new TokenBucket({ ratePerSecond: this.o.ratePerSecond, burst: this.o.burst, nowMs });
      if (this.buckets.size >= this.o.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(key, bucket);
    return bucket.take(nowMs);
  }

  get size(): number {
    return this.buckets.size;
  }
}
