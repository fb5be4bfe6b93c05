/**
 * Round-trip estimate and retransmission timeout (BEP 29 "timeouts"):
 *
 *   delta = rtt - packet_rtt;  rtt_var += (|delta| - rtt_var) / 4;  rtt += (packet_rtt - rtt) / 8
 *   timeout = max(rtt + 4 * rtt_var, 500 ms), 1000 ms before the first sample,
 *   doubled for every consecutive timeout.
 *
 * Only packets sent once are sampled (the caller applies Karn's rule).
 */
import { INITIAL_RTO_MS, MAX_RTO_MS, MIN_RTO_MS } from './constants.js';

export class RttEstimator {
  private rtt = 0;
  private rttVar = 0;
  private sampled = false;
  /** Consecutive timeouts since the last packet from the peer. */
  private backoff = 0;

  /** Smoothed round trip, ms (0 before the first sample). */
  get srttMs(): number {
    return this.rtt;
  }

  get hasSample(): boolean {
    return this.sampled;
  }

  sample(packetRttMs: number): void {
    if (!this.sampled) {
      // The first sample sets the mean and half of it as the deviation (RFC 6298), rather than
      // creeping up from 0 an eighth at a time.
      this.rtt = packetRttMs;
      this.rttVar = packetRttMs / 2;
      this.sampled = true;
      return;
    }
    const delta = this.rtt - packetRttMs;
    this.rttVar += (Math.abs(delta) - this.rttVar) / 4;
    this.rtt += (packetRttMs - this.rtt) / 8;
  }

  /** Current retransmission timeout, ms, including the backoff of consecutive timeouts. */
  rtoMs(): number {
    const base = this.sampled ? Math.max(this.rtt + 4 * this.rttVar, MIN_RTO_MS) : INITIAL_RTO_MS;
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
