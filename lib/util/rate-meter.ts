/**
 * Transfer rate over a sliding window of one-second slots, on an injected Clock. Used for the
 * choker (who uploads to us fastest) and for progress reports. O(1) per `add`.
 */
import type { Clock } from './clock.js';

export class RateMeter {
  private readonly slots: Float64Array;
  private readonly clock: Clock;
  /** Absolute second of slot `head`. */
  private headSecond: number;
  private head = 0;
  private readonly createdAt: number;
  total = 0;

  /** `windowSeconds` = how far back the rate looks (default 5 s). */
  constructor(clock: Clock, windowSeconds = 5) {
    this.clock = clock;
    this.slots = new Float64Array(Math.max(1, Math.floor(windowSeconds)) + 1);
    this.createdAt = clock.now();
    this.headSecond = Math.floor(this.createdAt / 1000);
  }

  add(bytes: number): void {
    this.advance();
    this.slots[this.head] = (this.slots[this.head] ?? 0) + bytes;
    this.total += bytes;
  }

  /** Bytes per second over the window (the current, partial second included). */
  rate(): number {
    this.advance();
    let sum = 0;
    for (const v of this.slots) sum += v;
    const now = this.clock.now();
    // Window length: the full slots plus the elapsed part of the current second, but never
    // more than the meter's age (a young meter would otherwise report too low a rate).
    const windowMs = (this.slots.length - 1) * 1000 + (now % 1000);
    const span = Math.max(1000, Math.min(windowMs, now - this.createdAt));
    return (sum * 1000) / span;
  }

  private advance(): void {
    const second = Math.floor(this.clock.now() / 1000);
    let steps = second - this.headSecond;
    if (steps <= 0) return;
    if (steps > this.slots.length) steps = this.slots.length;
    for (let i = 0; i < steps; i++) {
      this.head = (this.head + 1) % this.slots.length;
      this.slots[this.head] = 0;
    }
    this.headSecond = second;
  }
}
