/**
 * One uTP connection (BEP 29) as the byte stream the peer wire runs over (`WireStream`).
 *
 * It composes the pure parts: SendWindow (what is in flight, acks, which packets are lost),
 * ReceiveBuffer (ack_nr, reordering, FIN, selective acks), Ledbat (the window), RttEstimator
 * (the retransmission timeout), OneWayDelays (timestamps both ways) and StreamListeners (the
 * reader's callbacks and data held until one listens). This file
 * adds the state machine, packetisation, and when to send (packet-output.ts builds and sends
 * the datagrams):
 *
 * - Setup: the dialer sends SYN with connection_id = its receive id and sends with id + 1; the
 *   acceptor answers STATE carrying the sequence number its first DATA will use, and sends no
 *   data until the dialer's first packet shows the STATE arrived (libtorrent and libutp behave
 *   the same way; the dialer speaks first in BitTorrent and MSE anyway).
 * - Sending: writes queue without copying; full packets leave while the window
 *   (min(cwnd, peer's wnd_size)) has room, paced to about the window per round trip once the path has lost a packet (pacer.ts);
 *   a partial packet waits for the end of the turn (`flush`, asked of the host), so a tick's
 *   small messages share a packet.
 * - Receiving: in-order payload is joined per turn (delivery-batch.ts) and handed to the reader
 *   at the end of the turn, so a 16 KiB block is one chunk, not a dozen.
 * - Acks: a STATE at the end of the turn in which data arrived, or at once every
 *   ACK_EVERY_PACKETS packets; it carries a selective ack while packets are held out of order.
 *   DATA packets carry ack_nr too, so a busy two-way stream sends few STATEs.
 * - Loss: loss-recovery.ts decides what is lost and resends it (fast retransmit, lost by time,
 *   tail-loss probe, retransmission timeout); this file says how a packet is resent and when
 *   the connection gives up.
 * - Close: `close()` sends the queued data, then FIN; the stream reports closed when the FIN is
 *   acked or the peer's FIN arrives (then ours answers it). The connection lingers briefly to
 *   re-ack a retransmitted FIN, then releases itself from the host.
 *
 * Its deadlines (retransmission, pacing, keep-alive, linger, the acceptor's wait) share one
 * lazily re-armed timer (deadlines.ts); this file decides what each does when due.
 */
import { TimeoutError, TrackerlessError, type SendError } from '../errors.js';
import type { Address } from '../net/address.js';
import type { WireStream } from '../net/stream.js';
import {
  HEADER_SIZE,
  KEEPALIVE_MS,
  LINGER_MS,
  MAX_DATA_RESENDS,
  MAX_FIN_SENDS,
  MAX_SACK_BYTES,
  MAX_SYN_SENDS,
  ST_DATA,
  ST_FIN,
  ST_RESET,
  ST_STATE,
  ST_SYN
} from './constants.js';
import { Deadlines } from './deadlines.js';
import { Ledbat } from './ledbat.js';
import type { Packet } from './packet.js';
import { OneWayDelays } from './one-way-delays.js';
import { PacketOutput, type OutputHost } from './packet-output.js';
import { Pacer } from './pacer.js';
import { ReceiveBuffer } from './receive-buffer.js';
import { RttEstimator } from './rtt.js';
import { SendQueue } from './send-queue.js';
import { SendWindow, type SentPacket } from './send-window.js';
import { LossRecovery, type RecoveryHost } from './loss-recovery.js';
import { seqAdd } from './seq.js';
import { StreamListeners } from './stream-listeners.js';
import { WrittenNotices } from './written-notices.js';
import type { ConnectionHost, ConnectionInfo, ConnectionParams, ConnectionState } from './connection-host.js';

/**
 * Acknowledge at once after this many data packets, rather than at the end of the turn. The
 * end of the turn is the usual ack (one per read burst: libuv reads at most 32 datagrams per
 * wake-up), so this only bounds bursts delivered some other way. Each ack costs both ends a
 * datagram system call (~7 us of CPU each on loopback); at 16, a burst of 17-32 took two.
 */
const ACK_EVERY_PACKETS = 64;
/** An acceptor whose dialer never speaks gives up after this long, ms. */
const SYN_RECV_TIMEOUT_MS = 10_000;

/** parts[0] of a DATA packet until the output writes its header there. */
const NO_HEADER = new Uint8Array(0);

export class UtpConnection implements WireStream {
  readonly transport = 'utp' as const;
  readonly remoteAddress: Address;
  readonly recvId: number;
  readonly sendId: number;
  private stateNow: ConnectionState;
  private readonly host: ConnectionHost<UtpConnection>;
  private readonly mss: number;
  private readonly recvWindow: number;
  private readonly highWaterMark: number;
  private readonly maxSendWindow: number;

  private readonly win: SendWindow;
  private recv: ReceiveBuffer;
  private readonly queue = new SendQueue();
  /** Bytes ever written: the stream offset past the last write. */
  private writtenBytes = 0;
  private readonly written = new WrittenNotices();
  private readonly cc: Ledbat;
  private readonly rtt = new RttEstimator();
  private readonly delays = new OneWayDelays();
  private readonly pacer: Pacer;
  private readonly recovery: LossRecovery;
  private peerWindow: number;
  private synSeq = -1;

  private ackPending = false;
  private receivedSinceAck = 0;
  private closeRequested = false;
  private finSeq = -1;
  private remoteEnded = false;
  private needDrain = false;
  private readonly listeners = new StreamListeners();

  private readonly out: PacketOutput;
  private closeErr: TrackerlessError | null = null;
  private readonly deadlines: Deadlines;

  private connectCb: ((err: Error | null) => void) | null = null;

  private readonly deliver = (chunk: Uint8Array): void => {
    this.host.stats.payloadIn += chunk.length;
    this.listeners.deliver(chunk);
  };

  private constructor(
    host: ConnectionHost<UtpConnection>,
    p: ConnectionParams,
    state: ConnectionState,
    ackNr: number
  ) {
    this.host = host;
    this.remoteAddress = p.remote;
    this.recvId = p.recvId;
    this.sendId = p.sendId;
    this.stateNow = state;
    this.mss = p.packetSize - HEADER_SIZE;
    this.recvWindow = p.recvWindow;
    this.highWaterMark = p.highWaterMark;
    this.maxSendWindow = p.maxSendWindow;
    this.win = new SendWindow(p.firstSeq);
    this.recv = new ReceiveBuffer(ackNr);
    this.cc = new Ledbat(this.mss);
    this.peerWindow = p.recvWindow;
    const now = host.clock.now();
    // What the output reads from this connection as each packet leaves.
    const output: OutputHost = {
      stats: host.stats,
      send: (parts, to, unchecked) => host.send(parts, to, unchecked),
      ackNr: () => this.recv.ackNr,
      replyUs: () => this.delays.replyUs,
      advertisedWindow: () => this.advertisedWindow(),
      sent: (at) => this.recovery.sent(at)
    };
    this.out = new PacketOutput(output, this.win, p.remote, p.recvId, p.sendId, now);
    this.pacer = new Pacer(now);
    this.deadlines = new Deadlines(host.clock, (now) => this.onTimer(now));
    this.recovery = new LossRecovery(this.recoveryHost, {
      win: this.win,
      cc: this.cc,
      rtt: this.rtt,
      pacer: this.pacer,
      deadlines: this.deadlines,
      stats: host.stats
    });
  }

  /** A dialing connection; `open()` sends the SYN. `onConnect` is called once, with null on success. */
  static dial(
    host: ConnectionHost<UtpConnection>,
    p: ConnectionParams,
    onConnect: (err: Error | null) => void
  ): UtpConnection {
    const c = new UtpConnection(host, p, 'syn-sent', 0);
    c.connectCb = onConnect;
    return c;
  }

  /** Send the SYN (BEP 29: connection_id is our receive id; we send with id + 1). */
  open(): void {
    if (this.stateNow !== 'syn-sent' || this.synSeq !== -1) return;
    const now = this.host.clock.now();
    this.synSeq = this.out.syn(now);
    this.armTimer(now);
  }

  /** Accept a SYN: answer with STATE. */
  static accept(host: ConnectionHost<UtpConnection>, p: ConnectionParams, syn: Packet): UtpConnection {
    const c = new UtpConnection(host, p, 'syn-recv', syn.seqNr);
    const now = host.clock.now();
    if (syn.timestampUs !== 0) c.delays.measureTheirs(syn.timestampUs, now);
    c.deadlines.synRecvAt = now + SYN_RECV_TIMEOUT_MS;
    c.sendState(now);
    c.armTimer(now);
    return c;
  }

  get state(): ConnectionState {
    return this.stateNow;
  }

  /**
   * Why the connection ended, if not by a clean close: ERR_CONNECTION_RESET, ERR_TIMEOUT,
   * ERR_SEND_FAILED (the system refused to send to the peer), ERR_ABORTED; null otherwise.
   */
  get error(): TrackerlessError | null {
    return this.closeErr;
  }

  /** Closed (read through a getter: callbacks may close the connection mid-method). */
  private get ended(): boolean {
    return this.stateNow === 'closed';
  }

  info(): ConnectionInfo {
    return {
      state: this.stateNow,
      cwnd: this.cc.cwnd,
      slowStart: this.cc.slowStart,
      bytesInFlight: this.win.inFlight,
      peerWindow: this.peerWindow,
      rttMs: this.rtt.srttMs,
      rtoMs: this.rtt.rtoMs(),
      queueingDelayUs: this.delays.queueingDelayUs,
      queuedBytes: this.queue.bytes,
      heldOutOfOrder: this.recv.bufferedPackets
    };
  }

  // ---- WireStream ----

  write(data: Uint8Array): boolean {
    if (this.stateNow === 'closed' || this.closeRequested) return false;
    this.queue.push(data);
    this.writtenBytes += data.length;
    return this.afterWrite();
  }

  /** `onWritten`: called once the peer acknowledged every byte of `chunks` (or the connection ended). */
  writev(chunks: readonly Uint8Array[], onWritten?: () => void): boolean {
    if (this.stateNow === 'closed' || this.closeRequested) {
      onWritten?.();
      return false;
    }
    for (const c of chunks) {
      this.queue.push(c);
      this.writtenBytes += c.length;
    }
    if (onWritten) this.written.add(this.writtenBytes, onWritten);
    return this.afterWrite();
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.listeners.onData(cb);
    // Data that arrived before anyone listened goes out on a later turn, like a socket's.
    if (this.listeners.hasEarly) this.host.requestFlush(this);
  }

  onDrain(cb: () => void): void {
    this.listeners.onDrain(cb);
  }

  onClose(cb: () => void): void {
    this.listeners.onClose(cb);
  }

  close(): void {
    if (this.stateNow === 'closed' || this.closeRequested) return;
    this.closeRequested = true;
    const now = this.host.clock.now();
    if (this.stateNow !== 'connected') {
      // Nothing was exchanged yet: tell the peer and stop.
      if (this.stateNow === 'syn-recv') this.sendReset(now);
      this.fail(new TrackerlessError('ERR_ABORTED', 'uTP connection closed before it was established'));
      return;
    }
    this.host.requestFlush(this);
  }

  // ---- driven by the socket ----

  /** A decoded packet addressed to this connection. */
  receive(pkt: Packet): void {
    if (this.stateNow === 'closed') return;
    const stats = this.host.stats;
    const now = this.host.clock.now();
    if (pkt.type === ST_RESET) {
      stats.resetsReceived++;
      this.fail(new TrackerlessError('ERR_CONNECTION_RESET', 'uTP connection reset by peer'));
      return;
    }
    if (pkt.type === ST_SYN) {
      // A retransmitted SYN: our STATE was lost.
      if (this.stateNow === 'syn-recv' && pkt.seqNr === this.recv.ackNr) this.sendState(now);
      else stats.invalid++;
      return;
    }

    let justConnected = false;
    if (this.stateNow === 'syn-sent') {
      if (pkt.ackNr !== this.synSeq || (pkt.type !== ST_STATE && pkt.type !== ST_DATA)) {
        stats.invalid++;
        return;
      }
      // The acceptor's STATE carries the sequence number of its first DATA.
      this.recv = new ReceiveBuffer(seqAdd(pkt.seqNr, -1));
      this.stateNow = 'connected';
      justConnected = true;
    } else if (!this.win.validAck(pkt.ackNr)) {
      stats.invalid++;
      return;
    }
    if (this.stateNow === 'syn-recv') {
      this.stateNow = 'connected';
      this.deadlines.synRecvAt = Infinity;
    }

    if (pkt.timestampUs !== 0) this.delays.measureTheirs(pkt.timestampUs, now);
    this.peerWindow = pkt.wndSize;
    this.onAck(pkt, now);

    if (pkt.type === ST_DATA || pkt.type === ST_FIN) this.onDataPacket(pkt, now);
    if (this.ended) return;
    if (this.written.pending) {
      this.written.release(this.win.ackedOffset);
      if (this.ended) return;
    }

    if (this.finSeq !== -1 && this.win.unacked === 0 && this.deadlines.lingerAt === Infinity)
      this.onFinAcked(now);
    this.pump(false, now);
    if (this.queue.bytes > 0 || this.ackPending || this.listeners.hasPending) this.host.requestFlush(this);
    if (justConnected) {
      const cb = this.connectCb;
      this.connectCb = null;
      cb?.(null);
    }
    this.maybeDrain();
    this.armTimer(now);
  }

  /**
   * End of a turn: deliver the data that arrived (early data first), then send what waited (a
   * partial packet, an ack), with what the reader wrote in response.
   */
  flush(): void {
    if (this.stateNow === 'closed') return;
    const now = this.host.clock.now();
    if (this.listeners.hasEarly && this.listeners.listening) {
      this.listeners.deliverEarly();
      if (this.ended) return;
    }
    this.listeners.deliverPending();
    if (this.ended) return;
    this.pump(true, now);
    if (this.ackPending) this.sendState(now);
    this.maybeDrain();
    this.armTimer(now);
  }

  /** The system refused to send to the peer (no route, a firewall rule): end now. */
  unreachable(err: SendError): void {
    if (this.stateNow === 'closed') return;
    this.fail(err);
  }

  /** Abort: RESET the peer and end now (the socket is closing). */
  destroy(): void {
    if (this.stateNow === 'closed') return;
    if (this.stateNow !== 'syn-sent') this.sendReset(this.host.clock.now());
    this.fail(new TrackerlessError('ERR_ABORTED', 'uTP socket closed'));
  }

  // ---- receiving ----

  private onAck(pkt: Packet, now: number): void {
    const haveDelay = this.delays.addPeerSample(pkt.timestampDiffUs, now);
    const inFlightBefore = this.win.inFlight;
    const out = this.win.onAck(pkt.ackNr, pkt.sack, pkt.type === ST_STATE, now);
    if (Number.isFinite(out.minRttMs)) this.rtt.sample(out.minRttMs);
    if (haveDelay && out.ackedBytes > 0 && inFlightBefore > 0) {
      let delay = this.delays.queueingDelayUs;
      // One-way queueing cannot exceed the round trip: clamp noise from clock steps.
      if (Number.isFinite(out.minRttMs)) delay = Math.min(delay, out.minRttMs * 1000);
      const saturated = inFlightBefore + this.mss > this.cc.cwnd;
      this.cc.onAck(out.ackedBytes, delay, inFlightBefore, saturated, this.rtt.srttMs);
    }
    this.recovery.onAck(out, pkt.sack !== null, now);
  }

  private onDataPacket(pkt: Packet, now: number): void {
    const stats = this.host.stats;
    const isFin = pkt.type === ST_FIN;
    if (!isFin && !this.listeners.listening && this.listeners.earlyBytes >= this.recvWindow) {
      stats.invalid++; // nobody reads and the window is exhausted: not acked, the peer resends
      return;
    }
    const result = this.recv.receive(pkt.seqNr, isFin ? null : pkt.payload, this.deliver);
    if (this.stateNow === 'closed') return;
    if (result === 'duplicate') stats.duplicates++;
    else if (result === 'buffered') stats.outOfOrder++;
    else if (result === 'beyond-window') stats.beyondWindow++;
    else if (result === 'after-fin') stats.invalid++;
    this.ackPending = true;
    this.receivedSinceAck++;
    if (this.recv.eof && !this.remoteEnded) {
      this.onRemoteEnd(now);
      return;
    }
    if (this.receivedSinceAck >= ACK_EVERY_PACKETS || result !== 'delivered') this.sendState(now);
  }

  /** Everything up to the peer's FIN arrived: the stream is closed; answer with our FIN. */
  private onRemoteEnd(now: number): void {
    this.remoteEnded = true;
    this.closeRequested = true;
    this.queue.clear();
    this.sendState(now);
    this.listeners.emitClose();
    if (this.finSeq === -1) this.sendFin(now);
  }

  /** Our FIN is acknowledged: linger to re-ack a late FIN, then go. */
  private onFinAcked(now: number): void {
    this.listeners.emitClose();
    this.deadlines.rtoAt = Infinity;
    this.deadlines.lingerAt = now + LINGER_MS;
  }

  // ---- sending ----

  private afterWrite(): boolean {
    const now = this.host.clock.now();
    if (this.stateNow === 'connected') this.pump(false, now);
    if (this.queue.bytes > 0) this.host.requestFlush(this);
    this.armTimer(now);
    if (this.queue.bytes >= this.highWaterMark) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  /**
   * Send what the window allows: packets a timeout declared lost first, then new data (only
   * full packets unless `partial`) as the pacer lets it go, then the FIN once the queue is
   * empty after close().
   */
  private pump(partial: boolean, now: number): void {
    if (this.stateNow !== 'connected') return;
    this.deadlines.paceAt = Infinity;
    this.pacer.setRate(this.cc.cwnd, this.rtt.pacingRttMs, this.cc.slowStart);
    const limit = Math.min(this.cc.cwnd, this.peerWindow, this.maxSendWindow);
    for (let p = this.win.peekResend(); p !== undefined; p = this.win.peekResend()) {
      if (this.win.inFlight > 0 && this.win.inFlight + p.payloadBytes > limit) return;
      this.retransmit(p, now);
    }
    if (this.finSeq !== -1) return;
    while (this.queue.bytes > 0) {
      const size = Math.min(this.queue.bytes, this.mss);
      if (size < this.mss && !partial) break;
      // One packet may always be in flight, so a window below one packet still moves (BEP 29).
      if (this.win.inFlight > 0 && this.win.inFlight + size > limit) break;
      if (!this.pacer.take(size, now)) {
        this.deadlines.paceAt = this.pacer.readyAt(now);
        break;
      }
      this.sendData(size, now);
    }
    if (this.closeRequested && this.queue.bytes === 0) this.sendFin(now);
  }

  private sendData(size: number, now: number): void {
    const parts: Uint8Array[] = [NO_HEADER];
    this.queue.take(parts, size);
    this.out.data(parts, size, now);
    // A DATA packet carries our ack_nr; a selective ack still needs a STATE.
    if (this.recv.bufferedPackets === 0) {
      this.ackPending = false;
      this.receivedSinceAck = 0;
    }
  }

  private sendFin(now: number): void {
    this.finSeq = this.out.fin(now);
  }

  private sendState(now: number): void {
    this.out.state(this.recv.sack(MAX_SACK_BYTES), now);
    this.ackPending = false;
    this.receivedSinceAck = 0;
  }

  private sendReset(now: number): void {
    this.out.reset(now);
  }

  private retransmit(p: SentPacket, now: number): void {
    this.out.resend(p, p.seq === this.synSeq && this.stateNow === 'syn-sent', now);
  }

  private advertisedWindow(): number {
    return Math.max(0, this.recvWindow - this.recv.bufferedBytes - this.listeners.earlyBytes);
  }

  private maybeDrain(): void {
    if (!this.needDrain || this.queue.bytes > this.highWaterMark / 2 || this.stateNow === 'closed') return;
    this.needDrain = false;
    this.listeners.emitDrain();
  }

  // ---- timers ----

  /** When a keep-alive is due: only an open connection sends them. */
  private keepaliveAt(): number {
    return this.stateNow === 'connected' && !this.closeRequested
      ? this.out.lastSendAt + KEEPALIVE_MS
      : Infinity;
  }

  private armTimer(now: number): void {
    this.deadlines.keepaliveAt = this.keepaliveAt();
    this.deadlines.arm(now);
  }

  private onTimer(now: number): void {
    if (this.stateNow === 'closed') return;
    const d = this.deadlines;
    if (now >= d.lingerAt) {
      this.finish();
      return;
    }
    if (now >= d.synRecvAt) {
      this.fail(new TimeoutError('uTP dialer never confirmed the connection'));
      return;
    }
    if (now >= d.rtoAt) this.recovery.onRetransmitTimeout(now);
    if (this.ended) return;
    if (now >= d.probeAt) this.recovery.probe(now);
    if (now >= d.lateAt) {
      this.recovery.detectLate(now);
      this.pump(false, now);
      if (this.ended) return;
    }
    if (now >= d.paceAt) {
      // The end of a turn has passed since the data was held back: partial packets may go.
      this.pump(true, now);
      this.maybeDrain();
      if (this.ended) return;
    }
    if (now >= this.keepaliveAt()) this.sendState(now);
    this.armTimer(now);
  }

  /** What loss recovery may ask of this connection. */
  private readonly recoveryHost: RecoveryHost = {
    connected: () => this.stateNow === 'connected',
    retransmit: (p, now) => this.retransmit(p, now),
    maxTransmissions: (p) =>
      this.stateNow === 'syn-sent'
        ? MAX_SYN_SENDS
        : p.seq === this.finSeq
          ? MAX_FIN_SENDS
          : MAX_DATA_RESENDS + 1,
    giveUp: (p) => {
      if (p.seq === this.finSeq) this.finish();
      else
        this.fail(
          new TimeoutError(`uTP peer ${this.remoteAddress.host}:${this.remoteAddress.port} timed out`)
        );
    }
  };

  // ---- ending ----

  private fail(err: TrackerlessError): void {
    this.closeErr ??= err;
    const cb = this.connectCb;
    this.connectCb = null;
    this.finish();
    cb?.(err);
  }

  private finish(): void {
    if (this.stateNow === 'closed') return;
    this.stateNow = 'closed';
    this.deadlines.stop();
    this.win.clear();
    this.recv.clear();
    this.queue.clear();
    this.written.releaseAll();
    this.host.release(this);
    this.listeners.emitClose();
  }
}
