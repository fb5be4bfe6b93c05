/**
 * LEDBAT congestion window, in bytes. Below the 100 ms target, BEP 29's rule (with libtorrent's
 * gain in bytes):
 *
 *   delay_factor  = (target - our_delay) / target
 *   window_factor = acked_bytes / bytes_in_flight
 *   max_window   += MAX_CWND_INCREASE_BYTES_PER_RTT * delay_factor * window_factor
 *
 * so the window grows by up to 3000 bytes per round trip. Above the target the window shrinks
 * in proportion to itself, by cwnd * (delay / target - 1) per round trip, at most half
 * (LEDBAT++, draft-irtf-iccrg-ledbat-plus-plus; RFC 6817 caps the decrease at halving): BEP 29's
 * additive decrease of a few KB per round trip takes tens of seconds to drain a queue a large
 * window built, so a yielding transport would sit far over its target meanwhile (measured in
 * namespaces: 240 ms for ~30 s after slow start at 20 Mbit/s).
 *
 * Slow start (the window grows by the bytes acked, doubling per round trip) ends when the delay
 * passes 3/4 of the target (LEDBAT++; the delay is measured a round trip late, so waiting for
 * the full target overshoots it) or on loss; ssthresh makes a restart after a timeout stop
 * before overshooting. Loss halves the window at most once per LOSS_CUT_INTERVAL_MS.
 *
 * Loss ceiling. BEP 29's growth is per round trip, so on a path of a millisecond (loopback, a
 * LAN) the window regains a halving in tens of milliseconds and finds the same loss again:
 * libtorrent leaves its UDP receive buffer at the OS default (~90 of our datagrams), the delay
 * its queue adds (a few ms) stays far under the target, and the window grew past that buffer
 * every ~100 ms, each time losing dozens of datagrams while libtorrent's thread waited for a
 * CPU. So the window at the last loss is remembered (CUBIC's W_max, RFC 9438), and from
 * CEILING_NEAR of it on, the window grows per unit of time as it would on a CEILING_RTT_MS path
 * (the growth per round trip scaled by srtt / CEILING_RTT_MS): it stays near the level that
 * lost for a while, then probes past it slowly. A window that grows CEILING_FORGET past it
 * without loss forgets it (the path changed). Paths of CEILING_RTT_MS or more are unaffected.
 * Pure arithmetic: the connection feeds it.
 */
import {
  INITIAL_CWND_PACKETS,
  LOSS_CUT_INTERVAL_MS,
  LOSS_FACTOR,
  MAX_CWND_INCREASE_BYTES_PER_RTT,
  MIN_CWND_PACKETS,
  TARGET_DELAY_US
} from './constants.js';

/** Slow start ends at this fraction of the target delay (LEDBAT++: 3/4). */
const SLOW_START_EXIT = 0.75;
/** Growth slows from this fraction of the window at the last loss on. */
const CEILING_NEAR = 0.8;
/** ... to the growth per unit of time of a path with this round trip, ms. */
const CEILING_RTT_MS = 25;
/** A window this many times the one at the last loss, reached without loss, forgets it. */
const CEILING_FORGET = 1.5;

export class Ledbat {
  /** Bytes allowed in flight. */
  cwnd: number;
  slowStart = true;
  /** Slow start ends when the window would pass this, bytes. */
  ssthresh = Infinity;
  /** The window when the last loss cut it, bytes (Infinity: none yet, or forgotten). */
  ceiling = Infinity;
  private nextCutAt = -Infinity;

  constructor(
    /** Largest payload per packet, bytes. */
    private readonly mss: number,
    private readonly targetUs = TARGET_DELAY_US
  ) {
    this.cwnd = INITIAL_CWND_PACKETS * mss;
  }

  private get floor(): number {
    return MIN_CWND_PACKETS * this.mss;
  }

  /**
   * Acknowledged bytes with the current queueing delay estimate. `inFlightBefore`: bytes in
   * flight before this ack; `saturated`: the sender was limited by the window (an application
   * that sends less than the window allows says nothing about the path, so the window stays);
   * `srttMs`: the smoothed round trip (the growth near the loss ceiling depends on it).
   */
  onAck(
    ackedBytes: number,
    delayUs: number,
    inFlightBefore: number,
    saturated: boolean,
    srttMs = Infinity
  ): void {
    if (ackedBytes <= 0 || inFlightBefore <= 0) return;
    if (delayUs >= SLOW_START_EXIT * this.targetUs && this.slowStart) {
      this.slowStart = false;
      this.ssthresh = this.cwnd;
    }
    if (!saturated) return;
    const windowFactor = Math.min(1, ackedBytes / inFlightBefore);
    const perRtt =
      delayUs <= this.targetUs
        ? (MAX_CWND_INCREASE_BYTES_PER_RTT * (this.targetUs - delayUs)) / this.targetUs
        : -Math.min(this.cwnd * (delayUs / this.targetUs - 1), this.cwnd / 2);
    let gain = perRtt * windowFactor;
    if (this.slowStart) {
      if (this.cwnd + ackedBytes > this.ssthresh) this.slowStart = false;
      else gain = Math.max(gain, ackedBytes);
    } else if (gain > 0 && this.cwnd >= CEILING_NEAR * this.ceiling) {
      if (this.cwnd >= CEILING_FORGET * this.ceiling) this.ceiling = Infinity;
      // The clock counts whole milliseconds: a loopback round trip reads as 0 or 1.
      else gain *= Math.min(1, Math.max(srttMs, 1) / CEILING_RTT_MS);
    }
    this.cwnd = Math.max(this.cwnd + gain, this.floor);
  }

  /** A packet was lost. Returns true if the window was cut (at most once per interval). */
  onLoss(nowMs: number): boolean {
    if (nowMs < this.nextCutAt) return false;
    this.nextCutAt = nowMs + LOSS_CUT_INTERVAL_MS;
    this.ceiling = this.cwnd;
    this.cwnd = Math.max(this.cwnd * LOSS_FACTOR, this.floor);
    if (this.slowStart) {
      this.slowStart = false;
      this.ssthresh = this.cwnd;
    }
    return true;
  }

  /**
   * The retransmission timer fired with `flightBytes` outstanding: the path dropped a window.
   * Restart from one packet in slow start (BEP 29), and end slow start at half the flight that
   * was lost (RFC 5681 eq. 4, ssthresh = max(FlightSize / 2, 2 packets), which RFC 6817 defers
   * to), so the restart does not overshoot into the same loss. A timeout of a packet the timer
   * already resent (`repeated`) keeps ssthresh (RFC 5681 3.1): the flight then says nothing.
   */
  onTimeout(flightBytes: number, repeated: boolean): void {
    if (!repeated) this.ssthresh = Math.max(flightBytes / 2, 2 * this.mss);
    this.cwnd = this.floor;
    this.slowStart = true;
  }
}
