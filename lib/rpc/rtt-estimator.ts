/**
 * Round-trip time estimate over all the answers a node receives (RFC 6298's smoothed RTT and
 * variance), and the wait it implies before a query counts as slow: long enough for nearly
 * every live node to answer, short enough that a dead one costs a fraction of the timeout.
 */
import { SmoothedRtt } from '../util/smoothed-rtt.js';

/** Slow-after before any answer was measured, ms (libtorrent's fixed short timeout). */
export const INITIAL_SLOW_AFTER_MS = 1000;

/** A SmoothedRtt (its samples: the answers measured so far) with the wait it implies. */
export class RttEstimator extends SmoothedRtt {
  /** Smoothed round trip, ms (0 before the first sample). */
  get smoothed(): number {
    return this.srtt;
  }

  /**
   * How long to wait before treating a query as slow: srtt + 4 * rttvar (the RFC's
   * retransmission timeout), or, when we know the node's own smoothed RTT, the larger of 3x
   * that and that plus 4 * rttvar; clamped to
   * [minMs, maxMs]. Before the first sample: INITIAL_SLOW_AFTER_MS (clamped).
   */
  slowAfter(minMs: number, maxMs: number, nodeRtt = 0): number {
    const { srtt, rttvar, samples } = this;
    const base =
      nodeRtt > 0
        ? Math.max(3 * nodeRtt, nodeRtt + 4 * rttvar)
        : samples === 0
          ? INITIAL_SLOW_AFTER_MS
          : srtt + 4 * rttvar;
    return Math.round(Math.min(maxMs, Math.max(minMs, base)));
  }
}
