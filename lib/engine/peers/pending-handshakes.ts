/**
 * The part of accepting a peer that does not depend on the transport: admission through the
 * InboundGate, the handshake timeout, reading the first bytes until they name a torrent (the
 * 48-byte plaintext handshake head up to the infohash, or a Message Stream Encryption
 * responder that finds the torrent by SKEY), and handing the connection to that torrent's
 * handler. The TCP and the uTP listener each wrap their connections as an `IncomingConnection`
 * and feed it their bytes; everything else is here, once.
 */
import type { Address } from '../../net/address.js';
import type { WireStream } from '../../net/stream.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { HANDSHAKE_HEAD_LENGTH } from '../../wire/constants.js';
import { decodeHandshakeHead } from '../../wire/messages.js';
import { DEFAULT_ENCRYPTION, type EncryptionPolicy } from '../../wire/mse.js';
import { InboundGate, type InboundLimits, type InboundTicket } from './inbound-gate.js';
import { handshakeStart, IncomingRoutes } from './incoming-routes.js';

/**
 * Default time an incoming connection has to send the first 48 handshake bytes (or finish MSE),
 * ms: a few round trips even on a slow link, and short enough that an idle connection does
 * not hold a slot for long.
 */
export const INCOMING_HANDSHAKE_TIMEOUT_MS = 5_000;

export interface ListenerStats {
  accepted: number;
  /** Of those, arrived with Message Stream Encryption. */
  encrypted: number;
  /** Closed before routing: bad handshake, unknown infohash, timeout, shed, or over a limit. */
  refused: number;
}

/** Options every peer listener takes, whatever its transport. */
export interface HandshakeOptions {
  /** Incoming encryption (MSE): which handshakes are accepted, what is selected. Default 'enabled'. */
  encryption?: EncryptionPolicy;
  /** Time source of the handshake timeout. Default the system clock. */
  clock?: Clock;
  /** Time to be routed (plaintext handshake head, or MSE done), ms. Default 5 s. */
  handshakeTimeoutMs?: number;
  /** Admission limits (inbound-gate.ts DEFAULT_INBOUND_LIMITS) when no `gate` is shared. */
  limits?: Partial<InboundLimits>;
  /**
   * Share admission with another listener (TCP and uTP on the same port number), so per-IP
   * limits count a source's connections over both transports. Overrides `limits`.
   */
  gate?: InboundGate;
  /** Share the routing table with another listener: a torrent registered once is reachable over both. */
  routes?: IncomingRoutes;
}

/** One incoming connection as its transport presents it to the handshake. */
export interface IncomingConnection {
  readonly remoteAddress: Address;
  /**
   * The connection as a stream that delivers `initial` (bytes already fed) first, then all
   * later bytes; from now on the transport stops feeding this handshake.
   */
  handOver(initial: Uint8Array[]): WireStream;
  /** Close it: refused, timed out, shed, or the listener closed. */
  destroy(): void;
}

/** Bytes and the close of one admitted connection, from its transport. */
export interface PendingHandshake {
  /** Bytes that arrived (ignored once the connection is handed over). */
  data(chunk: Uint8Array): void;
  /** The connection closed, before or after routing: releases its admission slot. */
  closed(): void;
}

/** The connections one listener is routing, its counters and its settings. */
export class PendingHandshakes {
  readonly stats: ListenerStats = { accepted: 0, encrypted: 0, refused: 0 };
  readonly gate: InboundGate;
  readonly routes: IncomingRoutes;
  readonly clock: Clock;
  private readonly encryption: EncryptionPolicy;
  private readonly timeoutMs: number;
  private readonly pending = new Set<IncomingConnection>();
  private isClosed = false;

  constructor(options: HandshakeOptions) {
    this.encryption = options.encryption ?? DEFAULT_ENCRYPTION;
    this.clock = options.clock ?? systemClock;
    this.timeoutMs = options.handshakeTimeoutMs ?? INCOMING_HANDSHAKE_TIMEOUT_MS;
    this.gate = options.gate ?? new InboundGate(options.limits);
    this.routes = options.routes ?? new IncomingRoutes();
  }

  /** Refuse new connections and close those not yet routed. Routed ones belong to their engines. */
  close(): void {
    this.isClosed = true;
    for (const c of this.pending) c.destroy();
    this.pending.clear();
  }

  /**
   * A connection arrived. Undefined: refused and already destroyed. Otherwise the transport
   * feeds the returned handshake its bytes and its close.
   */
  accept(conn: IncomingConnection): PendingHandshake | undefined {
    const ticket = this.isClosed ? undefined : this.gate.admit(conn.remoteAddress.host, () => refuse());
    if (!ticket) {
      this.stats.refused++;
      conn.destroy();
      return undefined;
    }
    this.pending.add(conn);
    const chunks: Uint8Array[] = [];
    let length = 0;
    let settled = false;
    let handedOver = false;
    const done = (): void => {
      settled = true;
      timer.cancel();
      this.pending.delete(conn);
    };
    const refuse = (): void => {
      if (settled) return;
      done();
      this.stats.refused++;
      conn.destroy();
    };
    const handOver = (): WireStream => {
      handedOver = true;
      return conn.handOver(chunks.splice(0));
    };
    // Covers the MSE handshake too.
    const timer = this.clock.setTimeout(refuse, this.timeoutMs);
    return {
      closed: () => {
        ticket.release();
        if (!settled) done();
      },
      data: (chunk) => {
        if (settled || handedOver) return;
        ticket.heard = true;
        chunks.push(chunk);
        length += chunk.length;
        const first = chunks.length === 1 ? chunk : Buffer.concat(chunks, length);
        // "\x13BitTorrent protocol", or (any other first bytes) an MSE Ya.
        const start = handshakeStart(first, this.encryption);
        if (start === 'mse') return this.encrypted(handOver, conn.remoteAddress, ticket, done, refuse);
        if (start === 'refuse') return refuse();
        if (length < HANDSHAKE_HEAD_LENGTH) return;
        const head = decodeHandshakeHead(first);
        const handler = head ? this.routes.handler(head.infoHash) : undefined;
        if (!handler || !ticket.establish()) return refuse();
        done();
        this.stats.accepted++;
        handler(handOver(), conn.remoteAddress);
      }
    };
  }

  /** Run the MSE responder on a connection whose first bytes are not a plaintext handshake. */
  private encrypted(
    handOver: () => WireStream,
    remote: Address,
    ticket: InboundTicket,
    done: () => void,
    refuse: () => void
  ): void {
    if (this.encryption === 'disabled') return refuse();
    void this.routes
      .respondEncrypted(handOver(), {
        policy: this.encryption,
        timeoutMs: this.timeoutMs,
        clock: this.clock
      })
      .then((routed) => {
        if (!routed || this.isClosed || !ticket.establish()) return refuse();
        done();
        this.stats.accepted++;
        this.stats.encrypted++;
        routed.handler(routed.stream, remote);
      });
  }
}
