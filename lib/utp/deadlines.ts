/**
 * The deadlines of one uTP connection behind a single timer: the retransmission timeout, the
 * tail-loss probe, the moment a packet sent before an acknowledged one becomes overdue, the pacer's next slot, the
 * keep-alive, the linger after our FIN was acked, and an accepted
 * connection's wait for the dialer's first packet.
 *
 * The timer is re-armed lazily. Deadlines move later on nearly every ack (the RTO restarts), and
 * cancelling and creating a timer per packet would cost more than the packet; so moving a
 * deadline later leaves the armed timer alone, and the timer, firing early, finds nothing due
 * and is re-armed for the earliest deadline. Only a deadline earlier than the armed one re-arms
 * at once. What to do when a deadline is due is the connection's business (`onFire`).
 */
import type { Clock, TimerHandle } from '../util/clock.js';

export class Deadlines {
  /** Retransmission timeout, ms (Infinity: none). */
  rtoAt = Infinity;
  /** No ack for two round trips with data outstanding: probe then. */
  probeAt = Infinity;
  /** A packet sent before an acknowledged one is declared lost then, unless acknowledged. */
  lateAt = Infinity;
  /** The pacer held data back until then. */
  paceAt = Infinity;
  /** Nothing sent since long enough that a keep-alive is due. */
  keepaliveAt = Infinity;
  /** Our FIN was acknowledged; the connection is released then. */
  lingerAt = Infinity;
  /** An accepted connection whose dialer never spoke gives up then. */
  synRecvAt = Infinity;

  private timer: TimerHandle | null = null;
  private timerAt = Infinity;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    /** Called when the timer fires, with the time; the callback re-arms (`arm`) as it needs. */
    private readonly onFire: (now: number) => void
  ) {}

  /** The earliest deadline, ms (Infinity: none). */
  next(): number {
    return Math.min(
      this.rtoAt,
      this.probeAt,
      this.lateAt,
      this.paceAt,
      this.keepaliveAt,
      this.lingerAt,
      this.synRecvAt
    );
  }

  /** Make sure the timer fires no later than the earliest deadline. */
  arm(now: number): void {
    if (this.stopped) return;
    const at = this.next();
    if (at === Infinity || (this.timer !== null && this.timerAt <= at)) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.clock.setTimeout(this.fire, Math.max(0, at - now));
  }

  /** Cancel the timer for good (the connection is closed). */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.timerAt = Infinity;
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.timerAt = Infinity;
    if (this.stopped) return;
    this.onFire(this.clock.now());
  };
}
