/**
 * The receiving half of a connection: the ack_nr we advertise, out-of-order packets held until
 * the hole before them fills, the FIN's position, and the selective ack describing what we hold.
 * In-order payload is handed to the consumer at once (zero copy: the datagram's own bytes), so
 * only out-of-order packets occupy the receive window. Pure: no clock, no sockets.
 */
import { MAX_REORDER_PACKETS } from './constants.js';
import { SeqRing } from './seq-ring.js';
import { seqAdd, seqDiff, seqLess } from './seq.js';

export type ReceiveResult =
  /** It was the next expected packet: it and any packets it unblocked were delivered. */
  | 'delivered'
  /** Held out of order. */
  | 'buffered'
  /** Already delivered or already held. */
  | 'duplicate'
  /** Too far ahead of ack_nr for the reorder buffer (dropped). */
  | 'beyond-window'
  /** At or after the FIN, or the stream already ended (dropped). */
  | 'after-fin';

/** The FIN's slot in the reorder buffer (a FIN carries no payload). */
const FIN_MARK = new Uint8Array(0);

export class ReceiveBuffer {
  /** Sequence number of the last packet received in order: the ack_nr we send. */
  ackNr: number;
  private finSeq = -1;
  private ended = false;
  private readonly held = new SeqRing<Uint8Array>(16);
  private heldBytes = 0;
  /** Highest sequence number held (meaningful while something is held). */
  private heldLast = 0;

  constructor(
    initialAckNr: number,
    private readonly maxReorder = MAX_REORDER_PACKETS
  ) {
    this.ackNr = initialAckNr;
  }

  /** True once everything up to and including the FIN was delivered. */
  get eof(): boolean {
    return this.ended;
  }

  /** Bytes held out of order (they count against the window we advertise). */
  get bufferedBytes(): number {
    return this.heldBytes;
  }

  /** Packets held out of order. */
  get bufferedPackets(): number {
    return this.held.size;
  }

  /**
   * Take a DATA payload, or the FIN (`payload` null), numbered `seq`. In-order payload goes to
   * `deliver` before this returns, followed by whatever it unblocked.
   */
  receive(seq: number, payload: Uint8Array | null, deliver: (chunk: Uint8Array) => void): ReceiveResult {
    if (this.ended) return 'after-fin';
    const ahead = seqDiff(seq, this.ackNr);
    if (ahead === 0 || ahead > 0x8000) return 'duplicate';
    if (this.finSeq !== -1 && (seqLess(this.finSeq, seq) || (seq === this.finSeq && payload !== null))) {
      return 'after-fin';
    }
    if (ahead > this.maxReorder) return 'beyond-window';
    if (payload === null) {
      if (this.finSeq === -1) this.finSeq = seq;
      else if (this.finSeq !== seq) return 'after-fin';
    }
    if (ahead !== 1) {
      if (this.held.has(seq)) return 'duplicate';
      this.held.set(seq, payload ?? FIN_MARK);
      this.heldBytes += payload?.length ?? 0;
      if (this.held.size === 1 || seqLess(this.heldLast, seq)) this.heldLast = seq;
      return 'buffered';
    }
    this.ackNr = seq;
    this.take(payload ?? FIN_MARK, deliver);
    while (!this.ended && this.held.size > 0) {
      const next = seqAdd(this.ackNr, 1);
      const p = this.held.delete(next);
      if (p === undefined) break;
      this.heldBytes -= p.length;
      this.ackNr = next;
      this.take(p, deliver);
    }
    return 'delivered';
  }

  /**
   * The selective ack bitmask for what is held, or null when nothing is: bit i (least significant
   * first) of byte j stands for ack_nr + 2 + 8j + i. Whole 32-bit words, as BEP 29 asks, at most
   * `maxBytes` long.
   */
  sack(maxBytes: number): Uint8Array | null {
    if (this.held.size === 0) return null;
    const first = seqAdd(this.ackNr, 2);
    const bits = seqDiff(this.heldLast, first) + 1;
    const bytes = Math.min(maxBytes, Math.ceil(bits / 32) * 4);
    const mask = new Uint8Array(bytes);
    const limit = Math.min(bits, bytes * 8);
    for (let i = 0; i < limit; i++) {
      if (this.held.has(seqAdd(first, i))) mask[i >> 3]! |= 1 << (i & 7);
    }
    return mask;
  }

  /** Drop everything held (the connection ended). */
  clear(): void {
    this.held.clear();
    this.heldBytes = 0;
  }

  private take(p: Uint8Array, deliver: (chunk: Uint8Array) => void): void {
    if (p === FIN_MARK && this.ackNr === this.finSeq) {
      this.ended = true;
      this.clear();
      return;
    }
    if (p.length > 0) deliver(p);
  }
}
