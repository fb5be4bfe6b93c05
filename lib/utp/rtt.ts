/**
 * Round-trip estimate and retransmission timeout (BEP 29 "timeouts"):
 *
 *   delta = rtt - packet_rtt;  rtt_var += (|delta| - rtt_var) / 4;  rtt += (packet_rtt - rtt) / 8
 *   timeout = max(rtt + 4 * rtt_var, 500 ms), 1000 ms before the first sample,
 *   doubled for every consecutive timeout.
 *
 * Only packets sent once are sampled (the caller applies Karn's rule).
 */
import { SmoothedRtt } from '../util/smoothed-rtt.js';
import { INITIAL_RTO_MS, MAX_RTO_MS, MIN_RTO_MS } from './constants.js';

export class RttEstimator {
  private readonly rtt = new SmoothedRtt();
  /** Consecutive timeouts since the last packet from the peer. */
  private backoff = 0;
  private latest = Infinity;

  /** Smoothed round trip, ms (0 before the first sample). */
  get srttMs(): number {
    return this.rtt.srtt;
  }

  get hasSample(): boolean {
    return this.rtt.samples > 0;
  }

  sample(packetRttMs: number): void {
    this.rtt.sample(packetRttMs);
    this.latest = packetRttMs;
  }

  /**
   * The round trip to pace over, ms: the smoothed one, or the latest sample when lower. A queue
   * that drains (a competing flow left) shows in the latest sample at once and in the average
   * only after many; pacing over the stale average would hold the sender below its window.
   * At least 1 ms, the clock's resolution (a 0 ms sample is a loopback round trip); 0 before
   * the first sample.
   */
  get pacingRttMs(): number {
    return this.hasSample ? Math.max(1, Math.min(this.rtt.srtt, this.latest)) : 0;
  }

  /** Current retransmission timeout, ms, including the backoff of consecutive timeouts. */
  rtoMs(): number {
    const { srtt, rttvar } = this.rtt;
    const base = this.hasSample ? Math.max(srtt + 4 * rttvar, MIN_RTO_MS) : INITIAL_RTO_MS;
    return Math.min(base * 2 ** this.backoff, MAX_RTO_MS);
  }

  /** A timeout fired: the next timeout waits twice as long. */
  timedOut(): void {
    if (this.backoff < 16) this.backoff++;
  }

  /** Consecutive timeouts so far. */
  get timeouts(): number {
    return this.backoff;
  }

  /** The peer answered: back to the plain estimate. */
  heard(): void {
    this.backoff = 0;
  }
}
