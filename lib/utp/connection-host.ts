/**
 * The contract between a uTP socket and its connections: what a connection needs from the
 * socket that owns it, what it is created with, and the snapshot it reports.
 */
import type { Address } from '../net/address.js';
import type { Clock } from '../util/clock.js';
import type { UtpStats } from './stats.js';

/** What a connection (`C`: UtpConnection) needs from the socket that owns it. */
export interface ConnectionHost<C> {
  readonly clock: Clock;
  readonly stats: UtpStats;
  /**
   * Send one datagram gathered from `parts` (header, then payload views). `unchecked`: a
   * refusal by the system may go unreported (see Transport.send).
   */
  send(parts: readonly Uint8Array[], to: Address, unchecked: boolean): void;
  /** Call `flush()` on this connection at the end of the current turn. */
  requestFlush(conn: C): void;
  /** The connection is over: forget it (later packets for it are answered with RESET). */
  release(conn: C): void;
}

export interface ConnectionParams {
  remote: Address;
  recvId: number;
  sendId: number;
  /** Our first sequence number (random). */
  firstSeq: number;
  /** Largest datagram, header included. */
  packetSize: number;
  /** Receive buffer we advertise, bytes. */
  recvWindow: number;
  /** Queued bytes at which write() reports backpressure. */
  highWaterMark: number;
  /** Most bytes in flight, whatever the windows say (bounds memory per connection). */
  maxSendWindow: number;
}

export type ConnectionState = 'syn-sent' | 'syn-recv' | 'connected' | 'closed';

/** A snapshot for tests, benchmarks and diagnostics. */
export interface ConnectionInfo {
  state: ConnectionState;
  cwnd: number;
  slowStart: boolean;
  bytesInFlight: number;
  peerWindow: number;
  rttMs: number;
  rtoMs: number;
  /** Latest queueing delay estimate of our packets, microseconds (Infinity: none yet). */
  queueingDelayUs: number;
  queuedBytes: number;
  heldOutOfOrder: number;
}
