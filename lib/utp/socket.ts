/**
 * A uTP socket: many connections over one datagram Transport (BEP 29). It routes each packet by
 * (remote address, connection id) to its connection, accepts SYNs within limits, dials, and
 * answers packets for unknown connections with RESET, at a bounded rate and never more bytes
 * than it received (no amplification). Malformed datagrams are counted and dropped.
 *
 * Limits (all options): total connections, connections per remote IP, half-open accepted
 * connections (SYN received, dialer not heard from since), resets per second.
 *
 * The socket also batches the end-of-turn work of its connections (deferred acks, partial
 * packets): one setImmediate per turn for all of them, as libtorrent sends its deferred acks
 * once the UDP socket is drained.
 */
import { AbortError, InvalidArgumentError, SendError, TimeoutError, TrackerlessError } from '../errors.js';
import type { Address } from '../net/address.js';
import type { Transport } from '../net/transport.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { cryptoRandom, type RandomSource } from '../util/random.js';
import { TokenBucket } from '../util/token-bucket.js';
import {
  HEADER_SIZE,
  MAX_PACKET_SIZE,
  MIN_PACKET_SIZE,
  PACKET_SIZE_V4,
  PACKET_SIZE_V6,
  RECV_WINDOW_BYTES,
  SEND_HIGH_WATER_MARK,
  ST_RESET,
  ST_SYN
} from './constants.js';
import { UtpConnection } from './connection.js';
import type { ConnectionHost, ConnectionParams } from './connection-host.js';
import { decodePacketInto, emptyPacket, encodeControl, type Packet } from './packet.js';
import { seqAdd } from './seq.js';
import { emptyUtpStats, type UtpStats } from './stats.js';

export interface UtpSocketOptions {
  clock?: Clock;
  random?: RandomSource;
  /**
   * Largest datagram, header included. Default 1402 bytes to IPv4 peers and 1382 to IPv6 ones
   * (see constants.ts); between 150 and 1500.
   */
  packetSize?: number;
  /** Receive buffer advertised per connection, bytes. Default 1 MiB. */
  recvWindow?: number;
  /** Queued bytes per connection at which write() reports backpressure. Default 1 MiB. */
  highWaterMark?: number;
  /** Default 1000. */
  maxConnections?: number;
  /** Default 64 (many peers can share a NAT or, in tests, 127.0.0.1). */
  maxConnectionsPerIp?: number;
  /** Accepted connections whose dialer has not spoken yet. Default 128. */
  maxHalfOpen?: number;
  /** RESETs to strangers per second. Default 50. */
  resetsPerSecond?: number;
}

export interface UtpConnectOptions {
  signal?: AbortSignal;
  /** Give up after this long, ms. Default 10 s (SYN resends alone give up after ~7 s). */
  timeoutMs?: number;
}

/** Default time to establish an outgoing connection, ms (as for TCP). */
export const UTP_CONNECT_TIMEOUT_MS = 10_000;

/** Most bytes in flight on one connection, whatever the windows say (bounds send memory). */
const MAX_SEND_WINDOW = 4 * 1024 * 1024;

export class UtpSocket {
  readonly stats: UtpStats = emptyUtpStats();
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly packetSize: number | undefined;
  private readonly recvWindow: number;
  private readonly highWaterMark: number;
  private readonly maxConnections: number;
  private readonly maxPerIp: number;
  private readonly maxHalfOpen: number;
  private readonly resets: TokenBucket;

  /** "host|port|recvId" -> connection. */
  private readonly conns = new Map<string, UtpConnection>();
  private readonly perIp = new Map<string, number>();
  /** The connection of the last packet: consecutive packets mostly belong to one. */
  private last: UtpConnection | null = null;
  private acceptHandler: ((conn: UtpConnection) => void) | null = null;
  private readonly flushSet = new Set<UtpConnection>();
  /** Every datagram is decoded into this one Packet; see `handle`. */
  private readonly scratch: Packet = emptyPacket();
  /** A datagram is being handled (a transport that delivers from inside a send re-enters). */
  private handling = false;
  private flushTimer: TimerHandle | null = null;
  private closed = false;
  private readonly host: ConnectionHost<UtpConnection>;

  constructor(transport: Transport, options: UtpSocketOptions = {}) {
    this.transport = transport;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? cryptoRandom;
    if (options.packetSize !== undefined) {
      const s = options.packetSize;
      if (!Number.isInteger(s) || s < MIN_PACKET_SIZE || s > MAX_PACKET_SIZE) {
        throw new InvalidArgumentError(
          'ERR_INVALID_ARGUMENT',
          `packetSize must be an integer in [${MIN_PACKET_SIZE}, ${MAX_PACKET_SIZE}], got ${String(s)}`
        );
      }
    }
    this.packetSize = options.packetSize;
    this.recvWindow = options.recvWindow ?? RECV_WINDOW_BYTES;
    this.highWaterMark = options.highWaterMark ?? SEND_HIGH_WATER_MARK;
    this.maxConnections = options.maxConnections ?? 1000;
    this.maxPerIp = options.maxConnectionsPerIp ?? 64;
    this.maxHalfOpen = options.maxHalfOpen ?? 128;
    this.resets = new TokenBucket({ ratePerSecond: options.resetsPerSecond ?? 50, nowMs: this.clock.now() });
    this.host = {
      clock: this.clock,
      stats: this.stats,
      send: (parts, to, unchecked) =>
        parts.length === 1
          ? this.transport.send(parts[0]!, to, unchecked)
          : this.transport.sendv(parts, to, unchecked),
      requestFlush: (conn) => this.requestFlush(conn),
      release: (conn) => this.release(conn)
    };
    transport.onMessage((data, from) => this.handle(data, from));
    transport.onError((err) => this.onTransportError(err));
  }

  /** Open connections (any state). */
  get connectionCount(): number {
    return this.conns.size;
  }

  /** Accept incoming connections with `handler`. Without one, SYNs are refused with RESET. */
  onConnection(handler: (conn: UtpConnection) => void): void {
    this.acceptHandler = handler;
  }

  /** Dial `address`. Rejects with ERR_TIMEOUT, ERR_ABORTED, or ERR_CONNECTION_RESET (refused). */
  connect(address: Address, options: UtpConnectOptions = {}): Promise<UtpConnection> {
    const { signal } = options;
    if (this.closed) return Promise.reject(new TrackerlessError('ERR_DESTROYED', 'uTP socket is closed'));
    if (signal?.aborted) return Promise.reject(new AbortError());
    if (this.conns.size >= this.maxConnections || this.countIp(address.host) >= this.maxPerIp) {
      return Promise.reject(new TrackerlessError('ERR_TOO_MANY_INFLIGHT', 'uTP connection limit reached'));
    }
    const recvId = this.freeDialId(address);
    if (recvId === -1) {
      return Promise.reject(new TrackerlessError('ERR_TOO_MANY_INFLIGHT', 'no free uTP connection id'));
    }
    this.stats.dialed++;
    const params = this.params(address, recvId, (recvId + 1) & 0xffff);
    return new Promise<UtpConnection>((resolve, reject) => {
      let cause: 'timeout' | 'abort' | null = null;
      const onAbort = (): void => {
        cause ??= 'abort';
        conn.destroy();
      };
      const conn = UtpConnection.dial(this.host, params, (err) => {
        deadline.cancel();
        signal?.removeEventListener('abort', onAbort);
        if (err === null) resolve(conn);
        else if (cause === 'abort') reject(new AbortError());
        else if (cause === 'timeout' || err instanceof TimeoutError) {
          reject(new TimeoutError(`uTP connect to ${address.host}:${address.port} timed out`));
        } else reject(err);
      });
      const deadline = this.clock.setTimeout(() => {
        cause ??= 'timeout';
        conn.destroy();
      }, options.timeoutMs ?? UTP_CONNECT_TIMEOUT_MS);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.add(conn);
      conn.open();
    });
  }

  /**
   * Stop: every connection is reset (peers need not wait for timeouts) and later datagrams are
   * ignored. The transport belongs to the caller, who closes it.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flushTimer?.cancel();
    this.flushTimer = null;
    this.flushSet.clear();
    for (const conn of [...this.conns.values()]) conn.destroy();
  }

  /**
   * The system refused a datagram: if it says the address cannot be reached (no route, a
   * firewall rule), its connections end now with the SendError instead of after their timeouts.
   * The shared port reports the DHT's failed sends here too; they match no connection.
   */
  private onTransportError(err: Error): void {
    if (!(err instanceof SendError) || !err.unreachable || this.conns.size === 0) return;
    const { host, port } = err.to;
    for (const conn of [...this.conns.values()]) {
      if (conn.remoteAddress.host !== host || conn.remoteAddress.port !== port) continue;
      this.stats.unreachable++;
      conn.unreachable(err);
    }
  }

  // ---- inbound ----

  private handle(data: Uint8Array, from: Address): void {
    if (this.closed) return;
    const stats = this.stats;
    stats.packetsIn++;
    stats.bytesIn += data.length;
    // One Packet reused per datagram (nothing keeps a Packet past `receive`), a fresh one only
    // when a datagram arrives while another is still being handled.
    const pkt = this.handling ? emptyPacket() : this.scratch;
    const malformed = decodePacketInto(data, pkt);
    if (malformed !== null) {
      stats.malformed[malformed]++;
      return;
    }
    if (pkt !== this.scratch) {
      this.route(pkt, from);
      return;
    }
    this.handling = true;
    try {
      this.route(pkt, from);
    } finally {
      this.handling = false;
    }
  }

  private route(pkt: Packet, from: Address): void {
    const last = this.last;
    if (
      last !== null &&
      last.recvId === pkt.connectionId &&
      last.remoteAddress.port === from.port &&
      last.remoteAddress.host === from.host &&
      pkt.type !== ST_SYN
    ) {
      last.receive(pkt);
      return;
    }
    if (pkt.type === ST_SYN) {
      this.onSyn(pkt, from);
      return;
    }
    const conn =
      this.conns.get(key(from, pkt.connectionId)) ??
      (pkt.type === ST_RESET ? this.resetTarget(pkt, from) : undefined);
    if (conn !== undefined) {
      this.last = conn;
      conn.receive(pkt);
      return;
    }
    if (pkt.type !== ST_RESET) this.sendReset(pkt, from);
  }

  private onSyn(syn: Packet, from: Address): void {
    const recvId = (syn.connectionId + 1) & 0xffff;
    const existing = this.conns.get(key(from, recvId));
    if (existing !== undefined) {
      existing.receive(syn); // a retransmitted SYN: the connection re-sends its STATE
      return;
    }
    if (
      this.acceptHandler === null ||
      this.conns.size >= this.maxConnections ||
      this.countIp(from.host) >= this.maxPerIp ||
      this.halfOpen() >= this.maxHalfOpen
    ) {
      this.stats.synsRefused++;
      this.sendReset(syn, from);
      return;
    }
    const conn = UtpConnection.accept(this.host, this.params(from, recvId, syn.connectionId), syn);
    this.add(conn);
    this.stats.accepted++;
    this.acceptHandler(conn);
  }

  /**
   * The connection a RESET is for. A stranger's RESET echoes the id it received from us (libutp
   * does so), which is our send id: recv id - 1 if we accepted, + 1 if we dialed.
   */
  private resetTarget(pkt: Packet, from: Address): UtpConnection | undefined {
    for (const recvId of [(pkt.connectionId + 1) & 0xffff, (pkt.connectionId - 1) & 0xffff]) {
      const c = this.conns.get(key(from, recvId));
      if (c !== undefined && c.sendId === pkt.connectionId) return c;
    }
    return undefined;
  }

  /**
   * Answer a packet that belongs to no connection (BEP 29 "ST_RESET": "the remote host does not
   * have any state for this connection"). Rate limited; the 20-byte reply is never larger than
   * the packet it answers. The id is the one received, as libutp sends it.
   */
  private sendReset(pkt: Packet, to: Address): void {
    if (!this.resets.take(this.clock.now())) {
      this.stats.resetsSuppressed++;
      return;
    }
    this.stats.resetsSent++;
    this.stats.packetsOut++;
    this.stats.bytesOut += HEADER_SIZE;
    this.transport.send(
      encodeControl({
        type: ST_RESET,
        connectionId: pkt.connectionId,
        timestampUs: Math.floor(this.clock.now() * 1000) >>> 0,
        timestampDiffUs: 0,
        wndSize: 0,
        seqNr: this.random.int(0x10000),
        ackNr: pkt.seqNr
      }),
      to
    );
  }

  // ---- bookkeeping ----

  private params(remote: Address, recvId: number, sendId: number): ConnectionParams {
    const v6 = remote.host.includes(':');
    return {
      remote: { host: remote.host, port: remote.port },
      recvId,
      sendId,
      firstSeq: this.random.int(0x10000),
      packetSize: this.packetSize ?? (v6 ? PACKET_SIZE_V6 : PACKET_SIZE_V4),
      recvWindow: this.recvWindow,
      highWaterMark: this.highWaterMark,
      maxSendWindow: MAX_SEND_WINDOW
    };
  }

  /** A random receive id free for this peer, also as the id an accepted SYN would take. */
  private freeDialId(to: Address): number {
    for (let i = 0; i < 16; i++) {
      const id = this.random.int(0x10000);
      if (!this.conns.has(key(to, id)) && !this.conns.has(key(to, seqAdd(id, 1)))) return id;
    }
    return -1;
  }

  private add(conn: UtpConnection): void {
    this.conns.set(key(conn.remoteAddress, conn.recvId), conn);
    const ip = conn.remoteAddress.host;
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
  }

  private release(conn: UtpConnection): void {
    const k = key(conn.remoteAddress, conn.recvId);
    if (this.conns.get(k) !== conn) return;
    this.conns.delete(k);
    const ip = conn.remoteAddress.host;
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
    this.flushSet.delete(conn);
    if (this.last === conn) this.last = null;
  }

  private countIp(host: string): number {
    return this.perIp.get(host) ?? 0;
  }

  private halfOpen(): number {
    let n = 0;
    for (const c of this.conns.values()) if (c.state === 'syn-recv') n++;
    return n;
  }

  private requestFlush(conn: UtpConnection): void {
    this.flushSet.add(conn);
    // setImmediate, not a 0 ms timer (Node makes that 1 ms): the turn's acks and partial
    // packets leave right after the I/O callbacks that produced them.
    this.flushTimer ??= this.clock.setImmediate(() => this.flushAll());
  }

  private flushAll(): void {
    this.flushTimer = null;
    const due = [...this.flushSet];
    this.flushSet.clear();
    for (const conn of due) conn.flush();
  }
}

function key(a: Address, id: number): string {
  return `${a.host}|${a.port}|${id}`;
}

/** The packet size a socket uses towards `host` by default (exported for documentation/tests). */
export function defaultPacketSize(host: string): number {
  return host.includes(':') ? PACKET_SIZE_V6 : PACKET_SIZE_V4;
}
