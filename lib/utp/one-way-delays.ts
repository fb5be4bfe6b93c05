/**
 * The one-way delays of a uTP connection, both ways (BEP 29 timestamps): the samples the peer
 * reports of our packets (their minimum over the last few acks, less the base, is the queueing
 * delay LEDBAT steers by), and our own sample of theirs, which every packet we send carries
 * back as timestamp_difference_microseconds.
 */
import { DELAY_FILTER_SLOT_MS, DELAY_FILTER_SLOTS, DELAY_SAMPLE_WINDOW } from './constants.js';
import { DelayHistory } from './delay-history.js';
import { u32Diff } from './seq.js';

/** timestamp_difference_microseconds uTorrent sends when it has no sample (libtorrent ignores it). */
const BOGUS_DELAY_SAMPLE = 0x7fffffff;
/** Their base moving down by less than this is clock drift, us. */
const MAX_DRIFT_US = 10_000;

export class OneWayDelays {
  /** Base of the delays the peer measures on our packets (our sending direction). */
  private readonly ours = new DelayHistory();
  /** Base of the delays we measure on theirs. */
  private readonly theirs = new DelayHistory();
  private readonly recent: number[] = new Array<number>(DELAY_SAMPLE_WINDOW).fill(Infinity);
  private recentAt = 0;
  /** Least queueing delay per DELAY_FILTER_SLOT_MS slot, newest at `slotAt`. */
  private readonly slots: number[] = new Array<number>(DELAY_FILTER_SLOTS).fill(Infinity);
  private slotAt = 0;
  /** Clock time the newest slot began, ms. */
  private slotStart = -Infinity;
  /** Our last one-way delay sample of their packets (their timestamp vs our clock), us. */
  private reply = 0;

  /** The value our packets carry as timestamp_difference_microseconds. */
  get replyUs(): number {
    return this.reply;
  }

  /**
   * Queueing delay of our packets, us (Infinity: none yet): the least sample above the base
   * among the last DELAY_SAMPLE_WINDOW and those of the last ~100 ms (constants.ts: a spike
   * from a process waiting for a CPU is not a queue).
   */
  get queueingDelayUs(): number {
    let least = Infinity;
    for (const d of this.recent) if (d < least) least = d;
    for (const d of this.slots) if (d < least) least = d;
    return least;
  }

  /** The peer's sample of our packets, from an ack; false when it carries none. */
  addPeerSample(diffUs: number, now: number): boolean {
    if (diffUs === 0 || diffUs === BOGUS_DELAY_SAMPLE) return false;
    const queued = this.ours.add(diffUs, now);
    this.recent[this.recentAt] = queued;
    this.recentAt = (this.recentAt + 1) % this.recent.length;
    this.addToSlot(queued, now);
    return true;
  }

  private addToSlot(queued: number, now: number): void {
    const n = this.slots.length;
    if (now - this.slotStart >= DELAY_FILTER_SLOT_MS) {
      // Open slots up to now; slots older than the window are emptied.
      const passed = Math.min(n, Math.floor((now - this.slotStart) / DELAY_FILTER_SLOT_MS));
      for (let i = 0; i < passed; i++) {
        this.slotAt = (this.slotAt + 1) % n;
        this.slots[this.slotAt] = Infinity;
      }
      this.slotStart = passed === n ? now : this.slotStart + passed * DELAY_FILTER_SLOT_MS;
    }
    if (queued < this.slots[this.slotAt]!) this.slots[this.slotAt] = queued;
  }

  /** A packet of theirs sent at `timestampUs` (their clock) arrived at `now`. */
  measureTheirs(timestampUs: number, now: number): void {
    this.reply = u32Diff(microseconds(now), timestampUs);
    const prevBase = this.theirs.hasBase ? this.theirs.baseDelay : -1;
    this.theirs.add(this.reply, now);
    if (prevBase === -1) return;
    // Their base moving down a little is clock drift: our samples drift up by as much.
    const change = (this.theirs.baseDelay - prevBase) | 0;
    if (change < 0 && change > -MAX_DRIFT_US) this.ours.adjustBase(-change);
  }
}

/** Clock milliseconds as a 32-bit microsecond timestamp (BEP 29 timestamp_microseconds). */
export function microseconds(ms: number): number {
  return Math.floor(ms * 1000) >>> 0;
}
