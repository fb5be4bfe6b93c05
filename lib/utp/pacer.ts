/**
 * Send pacing: data leaves at about the window per round trip instead of in window-sized
 * bursts. Acks come back in batches (a receiver acks once it has drained its socket), and
 * answering each batch at once puts as many packets back to back onto the path; a receiver
 * with a small UDP buffer (libtorrent keeps the OS default, ~200 KB) then drops the tail of the
 * burst although the average rate is one it can take. Measured before this: 1-4% of the
 * datagrams our seeder sent to libtorrent were lost that way, in runs of dozens.
 *
 * A token bucket refilled at `gain * cwnd / srtt` bytes per ms (gain 2 in slow start, so the
 * window can still double per round trip; 1.25 after, so the rate stays above what the window
 * delivers), holding at most `PACING_BURST_MS` of that rate: the clock's timers are whole
 * milliseconds, so a smaller bucket would lose sending time to every late timer. A packet may
 * leave while the bucket is not empty and may take it below zero; the next one then waits
 * until it refills. Pure arithmetic: the connection asks and arms its timer.
 *
 * Pacing starts at a connection's first loss: a path that never dropped a packet gains nothing
 * from it, and between two of our processes on loopback (no loss, the receiver's window the
 * limit) pacing from the start cost ~15% of the throughput when the CPU was contended, the
 * bucket losing the time the process waited for a core.
 */
import { PACING_BURST_MS, PACING_GAIN, PACING_GAIN_SLOW_START } from './constants.js';

export class Pacer {
  /** Bytes that may leave now (negative: owed by the last packet). */
  private tokens = 0;
  private lastAt: number;
  /** Refill rate, bytes per ms (Infinity: no round trip measured yet, no pacing). */
  private rate = Infinity;
  private active = false;

  constructor(now: number) {
    this.lastAt = now;
  }

  /** Pace from now on (a packet was lost). */
  start(): void {
    this.active = true;
  }

  /** The rate from the current window and smoothed round trip (0: not measured yet). */
  setRate(cwnd: number, srttMs: number, slowStart: boolean): void {
    this.rate =
      this.active && srttMs > 0
        ? ((slowStart ? PACING_GAIN_SLOW_START : PACING_GAIN) * cwnd) / srttMs
        : Infinity;
  }

  /** Whether a packet may leave now; if so, its bytes are taken. */
  take(bytes: number, now: number): boolean {
    if (this.rate === Infinity) return true;
    this.refill(now);
    if (this.tokens <= 0) return false;
    this.tokens -= bytes;
    return true;
  }

  /** When the next packet may leave (call after `take` refused), ms. */
  readyAt(now: number): number {
    if (this.rate === Infinity || this.tokens > 0) return now;
    return now + Math.max(1, Math.ceil((1 - this.tokens) / this.rate));
  }

  private refill(now: number): void {
    const elapsed = now - this.lastAt;
    this.lastAt = now;
    if (elapsed <= 0) return;
    const burst = Math.max(this.rate * PACING_BURST_MS, 1);
    this.tokens = Math.min(this.tokens + elapsed * this.rate, burst);
  }
}
