/**
 * The datagram output of one uTP connection: builds each packet's header from the connection's
 * current state, records new packets and retransmissions in the send window, and hands the
 * datagram to the socket. The connection decides what to send and when; this file decides
 * what the bytes are.
 *
 * - DATA goes out as [header, views of the queued chunks] (scatter-gather): the payload is
 *   never copied on our side, and the same views are sent again behind a fresh header.
 * - SYN, STATE, FIN and RESET are headers alone (a STATE with a selective ack when packets are
 *   held out of order).
 * - Every datagram carries our clock, the one-way delay we last measured of the peer's packets,
 *   our free receive window and our ack_nr (BEP 29), read from the host at the moment it leaves.
 */
import type { Address } from '../net/address.js';
import { HEADER_SIZE, ST_DATA, ST_FIN, ST_RESET, ST_STATE, ST_SYN, type PacketType } from './constants.js';
import { microseconds } from './one-way-delays.js';
import { encodeControl, restampHeader, writeHeader, type PacketHeader } from './packet.js';
import type { SendWindow, SentPacket } from './send-window.js';
import type { UtpStats } from './stats.js';

/**
 * New data and acks are sent unchecked (see Transport.send) but one datagram in this many, and
 * every SYN, FIN, RESET and retransmission, asks the system to report a refusal: a peer that
 * became unreachable is noticed within a few dozen datagrams, or at the next resend.
 */
const CHECK_EVERY = 32;

/** What the output needs from its connection (and, through it, the socket). */
export interface OutputHost {
  readonly stats: UtpStats;
  /** Send one datagram gathered from `parts`; `unchecked`: a refusal may go unreported. */
  send(parts: readonly Uint8Array[], to: Address, unchecked: boolean): void;
  /** The last sequence number received in order (our ack_nr). */
  ackNr(): number;
  /** The one-way delay of the peer's latest packet, microseconds (timestamp_difference). */
  replyUs(): number;
  /** Our free receive buffer, bytes (wnd_size). */
  advertisedWindow(): number;
  /** A datagram left at `now` (loss recovery arms its timers). */
  sent(now: number): void;
}

export class PacketOutput {
  /** Clock time of the latest datagram, ms (keep-alives are due a while after it). */
  lastSendAt: number;
  /** Datagrams sent: every CHECK_EVERY-th one asks the system to report a refusal. */
  private sendCount = 0;

  constructor(
    private readonly host: OutputHost,
    private readonly win: SendWindow,
    private readonly remote: Address,
    /** Our receive id (the SYN's connection_id) and send id (every later packet's). */
    private readonly recvId: number,
    private readonly sendId: number,
    now: number
  ) {
    this.lastSendAt = now;
  }

  /** Send the SYN (connection_id = our receive id); returns its sequence number. */
  syn(now: number): number {
    const seq = this.win.nextSeq;
    const syn = [encodeControl(this.header(ST_SYN, this.recvId, seq, 0, now))];
    this.win.add(syn, 0, now);
    this.transmit(syn, HEADER_SIZE, now, true);
    return seq;
  }

  /**
   * Send a new DATA packet of `size` payload bytes: `parts` holds the payload views from
   * index 1 on; index 0 is filled with the header here.
   */
  data(parts: Uint8Array[], size: number, now: number): void {
    const head = Buffer.allocUnsafe(HEADER_SIZE);
    writeHeader(head, this.header(ST_DATA, this.sendId, this.win.nextSeq, this.host.ackNr(), now));
    parts[0] = head;
    this.win.add(parts, size, now);
    this.host.stats.payloadOut += size;
    this.transmit(parts, HEADER_SIZE + size, now, false);
  }

  /** Send our FIN; returns its sequence number. */
  fin(now: number): number {
    const seq = this.win.nextSeq;
    const fin = [encodeControl(this.header(ST_FIN, this.sendId, seq, this.host.ackNr(), now))];
    this.win.add(fin, 0, now);
    this.transmit(fin, HEADER_SIZE, now, true);
    return seq;
  }

  /** Send a STATE (an ack), with the selective ack `sack` if not null. */
  state(sack: Uint8Array | null, now: number): void {
    const state = encodeControl(
      this.header(ST_STATE, this.sendId, this.win.nextSeq, this.host.ackNr(), now),
      sack
    );
    this.host.stats.acksOut++;
    this.transmit([state], state.length, now, false);
  }

  /** Send a RESET. */
  reset(now: number): void {
    this.host.stats.resetsSent++;
    const reset = encodeControl(this.header(ST_RESET, this.sendId, this.win.nextSeq, this.host.ackNr(), now));
    this.transmit([reset], HEADER_SIZE, now, true);
  }

  /** Send `p` again; `isSyn`: it is our unanswered SYN (its ack_nr stays 0). */
  resend(p: SentPacket, isSyn: boolean, now: number): void {
    // A fresh header: the previous datagram may still sit in the socket's send queue. The
    // payload views are sent again as they are.
    const head = Buffer.from(p.parts[0]!);
    restampHeader(
      head,
      microseconds(now),
      this.host.replyUs(),
      this.host.advertisedWindow(),
      isSyn ? 0 : this.host.ackNr()
    );
    p.parts = [head, ...p.parts.slice(1)];
    this.win.resent(p, now);
    this.host.stats.retransmits++;
    this.transmit(p.parts, head.length + p.payloadBytes, now, true);
  }

  /** Send one datagram of `bytes` bytes gathered from `parts`; `check`: have a refusal reported. */
  private transmit(parts: readonly Uint8Array[], bytes: number, now: number, check: boolean): void {
    const stats = this.host.stats;
    stats.packetsOut++;
    stats.bytesOut += bytes;
    this.lastSendAt = now;
    this.host.sent(now);
    const unchecked = !check && this.sendCount++ % CHECK_EVERY !== 0;
    this.host.send(parts, this.remote, unchecked);
  }

  private header(
    type: PacketType,
    connectionId: number,
    seqNr: number,
    ackNr: number,
    now: number
  ): PacketHeader {
    return {
      type,
      connectionId,
      timestampUs: microseconds(now),
      timestampDiffUs: this.host.replyUs(),
      wndSize: this.host.advertisedWindow(),
      seqNr,
      ackNr
    };
  }
}
