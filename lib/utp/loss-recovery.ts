/**
 * Loss recovery of one uTP connection: which sent packets are lost, when to resend them, and
 * what a loss does to the window and the timers.
 *
 * - Fast retransmit: the send window reports packets lost to 3 duplicate acks or a selective
 *   ack with 3 packets past a hole; they are resent at once.
 * - Lost by time (RACK, RFC 8985): a packet sent before an acknowledged one and overdue by a
 *   reordering allowance goes back to the send queue (`detectLate`).
 * - Tail-loss probe: acks stopped with data outstanding; the newest packet is sent once more.
 * - Retransmission timeout: the oldest packet is resent, the window collapses to one packet,
 *   the timeout doubles; too many timeouts end the connection.
 *
 * Each loss cuts the LEDBAT window at most once per window of packets (`lossSeq`). It works on
 * the connection's send window, LEDBAT, RTT estimator, pacer and deadlines, and asks the
 * connection (`RecoveryHost`) only to resend a packet and to give up.
 */
import { seqAdd, seqLess } from './seq.js';
import type { Deadlines } from './deadlines.js';
import type { Ledbat } from './ledbat.js';
import type { Pacer } from './pacer.js';
import type { RttEstimator } from './rtt.js';
import type { AckOutcome, SendWindow, SentPacket } from './send-window.js';
import type { UtpStats } from './stats.js';

/**
 * A packet sent before an acknowledged one is lost once this many smoothed round trips passed
 * since it was sent (RACK's reordering allowance: RFC 8985 adds a quarter of the minimum RTT).
 */
const LATE_AFTER_RTTS = 1.25;
/** ... and at least this long, ms (the clock's resolution, and loopback's round trips of 0-1 ms). */
const LATE_MIN_MS = 2;
/**
 * With data outstanding and no ack for this many smoothed round trips, the newest packet is sent
 * once more (a tail-loss probe, RFC 8985), at least PROBE_MIN_MS after the last ack.
 */
const PROBE_AFTER_RTTS = 2;
const PROBE_MIN_MS = 10;

/** What loss recovery needs from its connection. */
export interface RecoveryHost {
  /** Established: data flows, so losses cut the window and late packets and probes apply. */
  connected(): boolean;
  /** Send `p` again now, behind a fresh header. */
  retransmit(p: SentPacket, now: number): void;
  /** How many times `p` may be sent before the connection gives up (SYN, FIN and data differ). */
  maxTransmissions(p: SentPacket): number;
  /** `p` went unanswered `maxTransmissions` times: end the connection. */
  giveUp(p: SentPacket): void;
}

/** The connection's parts loss recovery reads and drives. */
export interface RecoveryParts {
  readonly win: SendWindow;
  readonly cc: Ledbat;
  readonly rtt: RttEstimator;
  readonly pacer: Pacer;
  readonly deadlines: Deadlines;
  readonly stats: UtpStats;
}

export class LossRecovery {
  /** Losses of packets up to this one were already answered with a window cut. */
  private lossSeq: number;
  /** A tail-loss probe went out since the last ack that acknowledged something. */
  private probed = false;

  constructor(
    private readonly host: RecoveryHost,
    private readonly parts: RecoveryParts
  ) {
    this.lossSeq = parts.win.ackedSeq;
  }

  /** A datagram left: make sure a timeout and a probe watch what is outstanding. */
  sent(now: number): void {
    const { win, deadlines: d } = this.parts;
    if (win.unacked === 0) return;
    if (d.rtoAt === Infinity) d.rtoAt = now + this.parts.rtt.rtoMs();
    if (d.probeAt === Infinity && !this.probed) d.probeAt = now + this.probeDelay();
  }

  /**
   * An ack was processed by the send window (`out`; `hasSack`: it carried a selective ack):
   * restart the timers if it acknowledged something, resend what it showed lost.
   */
  onAck(out: AckOutcome, hasSack: boolean, now: number): void {
    const { win, rtt, deadlines: d, stats } = this.parts;
    if (out.ackedPackets > 0) {
      rtt.heard();
      d.rtoAt = win.unacked > 0 ? now + rtt.rtoMs() : Infinity;
      this.probed = false;
      d.probeAt = win.unacked > 0 ? now + this.probeDelay() : Infinity;
    }
    if (seqLess(this.lossSeq, win.ackedSeq)) this.lossSeq = win.ackedSeq;
    if (out.lost.length > 0) this.parts.pacer.start();
    for (const p of out.lost) {
      this.onLost(p, now);
      stats.fastRetransmits++;
      this.host.retransmit(p, now);
    }
    if (hasSack) this.detectLate(now);
  }

  /**
   * Packets sent before an acknowledged one and overdue are lost (send-window.ts `detectLate`):
   * they go back to the send queue, and the connection resends them as the window allows.
   * Looked at when an ack carries a selective ack (a hole exists) and when the next one becomes
   * overdue (`deadlines.lateAt`).
   */
  detectLate(now: number): void {
    const { win, rtt, deadlines: d } = this.parts;
    d.lateAt = Infinity;
    if (!rtt.hasSample || !this.host.connected()) return;
    const lost: SentPacket[] = [];
    const allowance = Math.max(LATE_MIN_MS, LATE_AFTER_RTTS * rtt.srttMs);
    d.lateAt = win.detectLate(now, allowance, lost);
    if (lost.length === 0) return;
    this.parts.pacer.start();
    this.parts.stats.lateLosses += lost.length;
    for (const p of lost) this.onLost(p, now);
  }

  /**
   * Acks stopped while data is outstanding (`deadlines.probeAt`): the tail of a burst may have
   * been lost whole (a receiver's full socket buffer drops everything it is sent), and then
   * nothing is left to ack and only the retransmission timeout (>= 500 ms) would notice. Sending
   * the newest packet again makes the receiver answer, its selective ack showing what is
   * missing, and everything sent before it is then found lost by time (detectLate) and resent
   * at once. Once per silence; the window is left alone (the timeout still collapses it if this
   * goes unanswered).
   */
  probe(now: number): void {
    this.parts.deadlines.probeAt = Infinity;
    if (!this.host.connected() || this.probed) return;
    const p = this.parts.win.newest();
    if (p === undefined || p.needResend) return;
    this.probed = true;
    this.parts.stats.probes++;
    this.host.retransmit(p, now);
  }

  /**
   * The retransmission timer fired (`deadlines.rtoAt`): resend the oldest packet, collapse the
   * window, double the timeout; give up once the oldest packet was sent too often.
   */
  onRetransmitTimeout(now: number): void {
    const { win, rtt, deadlines: d } = this.parts;
    const oldest = win.oldest();
    if (oldest === undefined) {
      d.rtoAt = Infinity;
      return;
    }
    this.parts.stats.timeouts++;
    if (oldest.transmissions >= this.host.maxTransmissions(oldest)) {
      this.host.giveUp(oldest);
      return;
    }
    if (this.host.connected()) {
      this.parts.pacer.start();
      // Consecutive timeouts without word from the peer: this one resends a resent packet.
      this.parts.cc.onTimeout(win.inFlight, rtt.timeouts > 0);
      this.lossSeq = seqAdd(win.nextSeq, -1);
    }
    rtt.timedOut();
    win.onTimeout();
    d.rtoAt = now + rtt.rtoMs();
    const p = win.peekResend();
    if (p !== undefined) this.host.retransmit(p, now);
  }

  /** A packet was lost: cut the window, once per window of packets. */
  private onLost(p: SentPacket, now: number): void {
    if (seqLess(this.lossSeq, p.seq) && this.parts.cc.onLoss(now))
      this.lossSeq = seqAdd(this.parts.win.nextSeq, -1);
  }

  private probeDelay(): number {
    const rtt = this.parts.rtt;
    if (!rtt.hasSample) return Infinity;
    return Math.max(PROBE_MIN_MS, PROBE_AFTER_RTTS * rtt.srttMs);
  }
}
