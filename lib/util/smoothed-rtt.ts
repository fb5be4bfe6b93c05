/**
 * RFC 6298's smoothed round-trip time and its mean deviation, the estimate both the DHT (when
 * a query counts as slow) and uTP (BEP 29's retransmission timeout) build on:
 *
 *   first sample: srtt = r, rttvar = r / 2
 *   then:         rttvar += (|srtt - r| - rttvar) / 4;  srtt += (r - srtt) / 8
 *
 * Samples that are negative or not finite are ignored.
 */
export class SmoothedRtt {
  private s = 0;
  private v = 0;
  private n = 0;

  /** Smoothed round trip, ms (0 before the first sample). */
  get srtt(): number {
    return this.s;
  }

  /** Mean deviation of the round trip, ms (0 before the first sample). */
  get rttvar(): number {
    return this.v;
  }

  /** Samples taken so far. */
  get samples(): number {
    return this.n;
  }

  sample(rttMs: number): void {
    if (!(rttMs >= 0) || !Number.isFinite(rttMs)) return;
    if (this.n++ === 0) {
      // The first sample sets the mean and half of it as the deviation, rather than creeping
      // up from 0 an eighth at a time.
      this.s = rttMs;
      this.v = rttMs / 2;
      return;
    }
    this.v += (Math.abs(this.s - rttMs) - this.v) / 4;
    this.s += (rttMs - this.s) / 8;
  }
}
