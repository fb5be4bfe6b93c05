/**
 * Base delay for LEDBAT (BEP 29 "congestion control"): one-way delay samples are the receiver's
 * clock minus the sender's timestamp, meaningless alone (the clocks are not synchronised) but
 * comparable with each other. The base delay is the smallest sample of the last two minutes,
 * kept as minimums of one-minute slots; a sample minus the base is the queueing delay.
 *
 * Values are 32-bit microsecond differences and may wrap, so comparisons are modular.
 */
import { DELAY_HISTORY_SLOTS, DELAY_HISTORY_SLOT_MS } from './constants.js';
import { u32Diff, u32Less } from './seq.js';

export class DelayHistory {
  private readonly slots: number[] = [];
  private base = 0;
  private slotStart = 0;
  private initialized = false;

  get hasBase(): boolean {
    return this.initialized;
  }

  /** The current base delay (valid once a sample was added). */
  get baseDelay(): number {
    return this.base;
  }

  /** Add a raw sample taken at `nowMs`; returns the sample minus the base delay, microseconds. */
  add(sample: number, nowMs: number): number {
    if (!this.initialized) {
      this.initialized = true;
      this.slots.push(sample);
      this.base = sample;
      this.slotStart = nowMs;
      return 0;
    }
    if (nowMs - this.slotStart >= DELAY_HISTORY_SLOT_MS) {
      this.slotStart = nowMs;
      this.slots.push(sample);
      if (this.slots.length > DELAY_HISTORY_SLOTS) this.slots.shift();
      this.base = this.slots.reduce((m, v) => (u32Less(v, m) ? v : m));
    }
    const last = this.slots.length - 1;
    if (u32Less(sample, this.slots[last]!)) this.slots[last] = sample;
    if (u32Less(sample, this.base)) this.base = sample;
    return u32Diff(sample, this.base);
  }

  /**
   * Move the base up by `us` (the peer's clock runs slower than ours, so their base went down by
   * as much: ours would otherwise creep up and read as queueing).
   */
  adjustBase(us: number): void {
    if (!this.initialized) return;
    this.base = (this.base + us) >>> 0;
    for (let i = 0; i < this.slots.length; i++)
      if (u32Less(this.slots[i]!, this.base)) this.slots[i] = this.base;
  }
}
