/**
 * A token bucket on an injected clock: `rate` tokens per second, at most `burst` saved up.
 * Tokens are whatever the owner counts (queries, bytes). Used by the RPC socket for its
 * outbound query rate and its outbound byte budget, and by the inbound limiter for the global
 * cap. `rate` Infinity = unlimited.
 */
import type { Clock } from '../util/clock.js';

export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly clock: Clock,
    readonly rate: number,
    readonly burst: number = rate
  ) {
    this.tokens = burst;
    this.at = clock.now();
  }

  get unlimited(): boolean {
    return this.rate === Infinity;
  }

  /** Take `n` tokens if there are that many now. */
  take(n = 1): boolean {
    if (this.rate === Infinity) return true;
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Take `n` tokens even if that leaves a debt (what was sent is spent). */
  spend(n: number): void {
    if (this.rate === Infinity) return;
    this.refill();
    this.tokens -= n;
  }

  /** Is anything left (no debt)? */
  hasAny(): boolean {
    if (this.rate === Infinity) return true;
    this.refill();
    return this.tokens > 0;
  }

  /** Milliseconds until `n` tokens are there (0 if now). */
  waitFor(n = 1): number {
    if (this.rate === Infinity) return 0;
    this.refill();
    const need = Math.min(n, this.burst) - this.tokens;
    return need <= 0 ? 0 : Math.max(1, Math.ceil((need * 1000) / this.rate));
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = now - this.at;
    if (elapsed <= 0) return;
    this.at = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
  }
}
