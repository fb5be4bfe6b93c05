/**
 * The sending half of a connection's reliability (BEP 29 "packet loss", "timeouts"): the
 * packets sent and not yet acknowledged, bytes in flight, cumulative and selective acks,
 * duplicate-ack counting and which packets to retransmit. Pure: times are passed in, nothing is
 * sent from here; the connection decides when and what to transmit.
 */
import { DUP_ACK_LIMIT } from './constants.js';
import { SeqRing } from './seq-ring.js';
import { seqAdd, seqDiff, seqLess } from './seq.js';

export interface SentPacket {
  readonly seq: number;
  /**
   * The datagram as sent, in parts: the header (parts[0], replaced by a restamped copy on every
   * retransmission) and views of the application's chunks (never copied, never changed).
   */
  parts: readonly Uint8Array[];
  readonly payloadBytes: number;
  /** Stream offset just past this packet's payload (payload bytes of every packet up to it). */
  readonly end: number;
  /** Clock time of the last transmission, ms. */
  sentAt: number;
  /** Position of the last transmission among all of this window's transmissions. */
  order: number;
  /** Position of the first transmission. */
  readonly firstOrder: number;
  transmissions: number;
  /** Declared lost by a timeout: not counted in flight until retransmitted. */
  needResend: boolean;
  acked: boolean;
}

export interface AckOutcome {
  /** Payload bytes newly acknowledged, cumulatively or selectively. */
  ackedBytes: number;
  /** Packets newly acknowledged (including zero-payload SYN/FIN). */
  ackedPackets: number;
  /** Smallest round trip among newly acked packets sent only once (Karn), ms; Infinity if none. */
  minRttMs: number;
  /** Packets to retransmit now: 3 duplicate acks, or 3 packets selectively acked past them. */
  lost: SentPacket[];
}

/** At most this many fast retransmissions are triggered by one selective ack. */
const MAX_FAST_RESENDS_PER_ACK = 8;

export class SendWindow {
  /** Sequence number of the next new packet. */
  nextSeq: number;
  /** Every packet up to and including this one is acknowledged. */
  ackedSeq: number;
  /** Payload bytes sent, not acknowledged and not declared lost. */
  inFlight = 0;
  private readonly packets = new SeqRing<SentPacket>(64);
  /** Packets before this one are not fast-retransmitted again. */
  private fastResendSeq: number;
  private dupAcks = 0;
  /** What `onAck` returns, one object rewritten by every call: an ack per received datagram. */
  private readonly outcome: AckOutcome = { ackedBytes: 0, ackedPackets: 0, minRttMs: Infinity, lost: [] };
  /** Packets a timeout declared lost, in sequence order, to retransmit as the window allows. */
  private resendQueue: SentPacket[] = [];
  private resendHead = 0;
  /** Payload bytes ever added: the stream offset past the newest packet. */
  private sentBytes = 0;
  /** Transmissions so far (the `order` of the next one). */
  private transmissions = 0;
  /**
   * The latest first transmission (`firstOrder`) among packets acknowledged: anything sent
   * before it had time to arrive. An ack of a packet sent more than once may be for its first
   * copy (Karn's ambiguity, as for round trips), so only the first copy's position is certain:
   * crediting the latest copy declared every packet sent between the two lost, though they were
   * only queued at the receiver. Against libtorrent that cascade was a third of our resends
   * (each spurious resend, acked through its original, seeding the next); see docs/utp.md,
   * "Resends to libtorrent".
   */
  private deliveredOrder = -1;

  constructor(firstSeq: number) {
    this.nextSeq = firstSeq;
    this.ackedSeq = seqAdd(firstSeq, -1);
    this.fastResendSeq = firstSeq;
  }

  /** Packets sent and not yet acknowledged. */
  get unacked(): number {
    return this.packets.size;
  }

  /**
   * The stream offset before which every payload byte is acknowledged (cumulatively, or
   * selectively with everything before it).
   */
  get ackedOffset(): number {
    const p = this.oldest();
    return p === undefined ? this.sentBytes : p.end - p.payloadBytes;
  }

  /** The oldest unacknowledged packet. */
  oldest(): SentPacket | undefined {
    return this.packets.get(seqAdd(this.ackedSeq, 1));
  }

  /** The newest unacknowledged packet. */
  newest(): SentPacket | undefined {
    if (this.packets.size === 0) return undefined;
    for (let s = seqAdd(this.nextSeq, -1); s !== this.ackedSeq; s = seqAdd(s, -1)) {
      const p = this.packets.get(s);
      if (p !== undefined) return p;
    }
    return undefined;
  }

  /**
   * Could the peer have sent this ack_nr? Not past our last packet, and not far behind what it
   * already acknowledged (a few duplicates late is reordering). Anything else is forged or stale.
   */
  validAck(ackNr: number): boolean {
    return (
      !seqLess(seqAdd(this.nextSeq, -1), ackNr) && !seqLess(ackNr, seqAdd(this.ackedSeq, -DUP_ACK_LIMIT))
    );
  }

  /** Record a packet just sent for the first time; it takes the next sequence number. */
  add(parts: readonly Uint8Array[], payloadBytes: number, now: number): SentPacket {
    this.sentBytes += payloadBytes;
    const p: SentPacket = {
      seq: this.nextSeq,
      parts,
      payloadBytes,
      end: this.sentBytes,
      sentAt: now,
      order: this.transmissions,
      firstOrder: this.transmissions++,
      transmissions: 1,
      needResend: false,
      acked: false
    };
    this.packets.set(p.seq, p);
    this.nextSeq = seqAdd(this.nextSeq, 1);
    this.inFlight += payloadBytes;
    return p;
  }

  /**
   * Process the ack_nr and selective ack of a valid incoming packet. `countsAsDuplicate`: the
   * packet is a STATE (a DATA packet repeats its ack_nr for reasons of its own). The outcome
   * is valid until the next call (the same object is reused).
   */
  onAck(ackNr: number, sack: Uint8Array | null, countsAsDuplicate: boolean, now: number): AckOutcome {
    const out = this.outcome;
    out.ackedBytes = 0;
    out.ackedPackets = 0;
    out.minRttMs = Infinity;
    out.lost.length = 0;
    if (ackNr === this.ackedSeq && countsAsDuplicate && this.packets.size > 0) this.dupAcks++;

    if (seqLess(this.ackedSeq, ackNr)) {
      for (let s = seqAdd(this.ackedSeq, 1); ; s = seqAdd(s, 1)) {
        if (s === this.fastResendSeq) this.fastResendSeq = seqAdd(s, 1);
        const p = this.packets.delete(s);
        if (p !== undefined) this.acknowledge(p, now, out);
        if (s === ackNr) break;
      }
      this.ackedSeq = ackNr;
      this.dupAcks = 0;
      this.advanceAcked();
    }

    if (sack !== null) this.onSack(ackNr, sack, now, out);

    if (
      this.dupAcks >= DUP_ACK_LIMIT &&
      seqAdd(this.ackedSeq, 1) === this.fastResendSeq &&
      seqLess(this.fastResendSeq, this.nextSeq)
    ) {
      const p = this.packets.get(this.fastResendSeq);
      this.fastResendSeq = seqAdd(this.fastResendSeq, 1);
      if (p !== undefined && p.transmissions === 1 && !p.needResend) out.lost.push(p);
    }
    if (this.packets.size === 0) this.dupAcks = 0;
    return out;
  }

  /**
   * A timeout: every packet in flight is presumed lost (BEP 29: the window collapses to one
   * packet). They are queued for retransmission in order; the caller resends the oldest now.
   */
  onTimeout(): void {
    this.resendQueue = [];
    this.resendHead = 0;
    for (let s = seqAdd(this.ackedSeq, 1); s !== this.nextSeq; s = seqAdd(s, 1)) {
      const p = this.packets.get(s);
      if (p === undefined) continue;
      if (!p.needResend) {
        p.needResend = true;
        this.inFlight -= p.payloadBytes;
      }
      this.resendQueue.push(p);
    }
  }

  /** The next packet a timeout left to retransmit, if any (skipping ones acked since). */
  peekResend(): SentPacket | undefined {
    while (this.resendHead < this.resendQueue.length) {
      const p = this.resendQueue[this.resendHead]!;
      if (!p.acked && p.needResend) return p;
      this.resendHead++;
    }
    if (this.resendQueue.length > 0) {
      this.resendQueue = [];
      this.resendHead = 0;
    }
    return undefined;
  }

  /** Note a retransmission of `p` at `now` (it counts in flight again). */
  resent(p: SentPacket, now: number): void {
    if (p.needResend) {
      p.needResend = false;
      this.inFlight += p.payloadBytes;
    }
    p.transmissions++;
    p.sentAt = now;
    p.order = this.transmissions++;
  }

  /**
   * Time-based loss detection (RACK, RFC 8985, simplified): a packet sent before one that was
   * acknowledged, and sent at least `reorderMs` ago, is lost: had it merely been reordered it
   * would have arrived by then. This catches what counting acks cannot: a lost retransmission
   * (the acks past it were counted when the original was lost) and a hole with fewer than three
   * packets acked after it. Lost packets are queued for retransmission as the window allows and
   * stop counting in flight (as after a timeout). Returns when the next packet sent before an
   * acknowledged one becomes overdue (Infinity: none waits), so the caller can look again then.
   */
  detectLate(now: number, reorderMs: number, lost: SentPacket[]): number {
    let nextAt = Infinity;
    if (this.packets.size === 0) return nextAt;
    for (let s = seqAdd(this.ackedSeq, 1); s !== this.nextSeq; s = seqAdd(s, 1)) {
      const p = this.packets.get(s);
      if (p === undefined || p.needResend || p.order >= this.deliveredOrder) continue;
      const dueAt = p.sentAt + reorderMs;
      if (now < dueAt) {
        if (dueAt < nextAt) nextAt = dueAt;
        continue;
      }
      p.needResend = true;
      this.inFlight -= p.payloadBytes;
      if (this.resendHead === this.resendQueue.length) {
        this.resendQueue = [];
        this.resendHead = 0;
      }
      this.resendQueue.push(p);
      lost.push(p);
    }
    return nextAt;
  }

  /** Forget everything (the connection ended). */
  clear(): void {
    this.packets.clear();
    this.resendQueue = [];
    this.resendHead = 0;
    this.inFlight = 0;
  }

  private acknowledge(p: SentPacket, now: number, out: AckOutcome): void {
    p.acked = true;
    if (!p.needResend) this.inFlight -= p.payloadBytes;
    if (p.firstOrder > this.deliveredOrder) this.deliveredOrder = p.firstOrder;
    out.ackedBytes += p.payloadBytes;
    out.ackedPackets++;
    if (p.transmissions === 1) {
      const rtt = now - p.sentAt;
      if (rtt >= 0 && rtt < out.minRttMs) out.minRttMs = rtt;
    }
  }

  /** Move ackedSeq over packets that selective acks already removed. */
  private advanceAcked(): void {
    for (;;) {
      const next = seqAdd(this.ackedSeq, 1);
      if (next === this.nextSeq || this.packets.has(next)) break;
      if (this.fastResendSeq === next) this.fastResendSeq = seqAdd(next, 1);
      this.ackedSeq = next;
      this.dupAcks = 0;
    }
  }

  /**
   * BEP 29: each packet acked by the bitmask counts as a duplicate ack; a packet not acked with
   * at least DUP_ACK_LIMIT acked packets after it is lost. ack_nr + 1 is missing by definition.
   */
  private onSack(ackNr: number, sack: Uint8Array, now: number, out: AckOutcome): void {
    const first = seqAdd(ackNr, 2);
    const span = seqDiff(this.nextSeq, first);
    if (span === 0 || span > 0x8000) return; // nothing of ours is past ack_nr + 1
    const bits = Math.min(sack.length * 8, span);
    let setTotal = 0;
    for (let i = 0; i < bits; i++) if ((sack[i >> 3]! >> (i & 7)) & 1) setTotal++;

    const candidates: number[] = [];
    const consider = (seq: number, setAfter: number): void => {
      if (setAfter < DUP_ACK_LIMIT || candidates.length >= MAX_FAST_RESENDS_PER_ACK) return;
      if (seqLess(seq, this.fastResendSeq)) return;
      // A packet sent again (or queued to be) is declared lost again only by time (detectLate).
      const p = this.packets.get(seq);
      if (p === undefined || p.transmissions > 1 || p.needResend) return;
      candidates.push(seq);
    };
    consider(seqAdd(ackNr, 1), setTotal);
    let setSoFar = 0;
    for (let i = 0; i < bits; i++) {
      const seq = seqAdd(first, i);
      if ((sack[i >> 3]! >> (i & 7)) & 1) {
        setSoFar++;
        const p = this.packets.delete(seq);
        if (p !== undefined) this.acknowledge(p, now, out);
      } else {
        consider(seq, setTotal - setSoFar);
      }
    }
    this.advanceAcked();
    for (const seq of candidates) {
      const p = this.packets.get(seq);
      if (p === undefined) continue;
      out.lost.push(p);
      if (!seqLess(seq, this.fastResendSeq)) this.fastResendSeq = seqAdd(seq, 1);
    }
  }
}
