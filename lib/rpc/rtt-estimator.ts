/**
 * Round-trip time estimate over all the answers a node receives (RFC 6298's smoothed RTT and
 * variance), and the wait it implies before a query counts as slow: long enough for nearly
 * every live node to answer, short enough that a dead one costs a fraction of the timeout.
 */

/** Slow-after before any answer was measured, ms (libtorrent's fixed short timeout). */
export const INITIAL_SLOW_AFTER_MS = 1000;

export class RttEstimator {
  private srtt = 0;
  private rttvar = 0;
  private count = 0;

  /** Answers measured so far. */
  get samples(): number {
    return this.count;
  }

  /** Smoothed round trip, ms (0 before the first sample). */
  get smoothed(): number {
    return this.srtt;
  }

  sample(rttMs: number): void {
    if (!(rttMs >= 0) || !Number.isFinite(rttMs)) return;
    if (this.count++ === 0) {
      this.srtt = rttMs;
      this.rttvar = rttMs / 2;
      return;
    }
    this.rttvar += (Math.abs(this.srtt - rttMs) - this.rttvar) / 4;
    this.srtt += (rttMs - this.srtt) / 8;
  }

  /**
   * How long to wait before treating a query as slow: srtt + 4 * rttvar (the RFC's
   * retransmission timeout), or, when we know the node's own smoothed RTT, the larger of 3x
   * that and that plus 4 * rttvar; clamped to
   * [minMs, maxMs]. Before the first sample: INITIAL_SLOW_AFTER_MS (clamped).
   */
  slowAfter(minMs: number, maxMs: number, nodeRtt = 0): number {
    const base =
      nodeRtt > 0
        ? Math.max(3 * nodeRtt, nodeRtt + 4 * this.rttvar)
        : this.count === 0
          ? INITIAL_SLOW_AFTER_MS
          : this.srtt + 4 * this.rttvar;
    return Math.round(Math.min(maxMs, Math.max(minMs, base)));
  }
}
