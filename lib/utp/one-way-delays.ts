/**
 * The one-way delays of a uTP connection, both ways (BEP 29 timestamps): the samples the peer
 * reports of our packets (their minimum over the last few acks, less the base, is the queueing
 * delay LEDBAT steers by), and our own sample of theirs, which every packet we send carries
 * back as timestamp_difference_microseconds.
 */
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
  private readonly recent = [Infinity, Infinity, Infinity];
  private recentAt = 0;
  /** Our last one-way delay sample of their packets (their timestamp vs our clock), us. */
  private reply = 0;

  /** The value our packets carry as timestamp_difference_microseconds. */
  get replyUs(): number {
    return this.reply;
  }

  /** Queueing delay of our packets: the least of the recent samples above the base (Infinity: none yet), us. */
  get queueingDelayUs(): number {
    return Math.min(...this.recent);
  }

  /** The peer's sample of our packets, from an ack; false when it carries none. */
  addPeerSample(diffUs: number, now: number): boolean {
    if (diffUs === 0 || diffUs === BOGUS_DELAY_SAMPLE) return false;
    this.recent[this.recentAt] = this.ours.add(diffUs, now);
    this.recentAt = (this.recentAt + 1) % this.recent.length;
    return true;
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
