/**
 * `UtpPeerListener` accepts incoming peers over uTP (BEP 29) and routes each connection to the
 * torrent its handshake names, as `TcpPeerListener` does for TCP: the first 48 bytes of a
 * plaintext handshake (up to the infohash), or a Message Stream Encryption responder that finds
 * the torrent by SKEY. Given the TCP listener's `routes` and `gate`, one registration serves both
 * transports and the per-IP limits count a source's connections over both.
 *
 * The uTP socket belongs to the caller (it usually shares its UDP port with the DHT node, see
 * utp/shared-port.ts); the socket's own limits (connections per IP, half-open) apply first.
 */
import type { Address } from '../../net/address.js';
import { ReplayStream } from '../../net/replay-stream.js';
import type { WireStream } from '../../net/stream.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { HANDSHAKE_HEAD_LENGTH } from '../../wire/constants.js';
import { decodeHandshakeHead } from '../../wire/messages.js';
import { DEFAULT_ENCRYPTION, type EncryptionPolicy } from '../../wire/mse.js';
import type { IncomingHandler, PeerListener } from '../engine.js';
import { InboundGate, type InboundLimits, type InboundTicket } from './inbound-gate.js';
import { handshakeStart, IncomingRoutes } from './incoming-routes.js';
import { INCOMING_HANDSHAKE_TIMEOUT_MS, type ListenerStats } from './tcp-peer-listener.js';

/** An incoming uTP connection (utp/connection.ts UtpConnection). */
export interface IncomingUtp extends WireStream {
  readonly remoteAddress: Address;
}

/** The accepting side of a uTP socket (utp/socket.ts UtpSocket). */
export interface UtpAcceptor {
  onConnection(handler: (conn: IncomingUtp) => void): void;
}

export interface UtpListenOptions {
  /** Incoming encryption (MSE). Default 'enabled'. */
  encryption?: EncryptionPolicy;
  clock?: Clock;
  /** Time to be routed (plaintext handshake head, or MSE done), ms. Default 5 s. */
  handshakeTimeoutMs?: number;
  /** Admission limits when no `gate` is shared. */
  limits?: Partial<InboundLimits>;
  /** Admission shared with the TCP listener. */
  gate?: InboundGate;
  /** Routing table shared with the TCP listener. */
  routes?: IncomingRoutes;
}

export class UtpPeerListener implements PeerListener {
  readonly stats: ListenerStats = { accepted: 0, encrypted: 0, refused: 0 };
  private readonly encryption: EncryptionPolicy;
  private readonly clock: Clock;
  private readonly handshakeTimeoutMs: number;
  private readonly gate: InboundGate;
  private readonly routes: IncomingRoutes;
  private readonly pending = new Set<WireStream>();
  private closed = false;

  /** `port`: the UDP port the socket is bound to (what peers dial). */
  constructor(
    socket: UtpAcceptor,
    readonly port: number,
    options: UtpListenOptions = {}
  ) {
    this.encryption = options.encryption ?? DEFAULT_ENCRYPTION;
    this.clock = options.clock ?? systemClock;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? INCOMING_HANDSHAKE_TIMEOUT_MS;
    this.gate = options.gate ?? new InboundGate(options.limits);
    this.routes = options.routes ?? new IncomingRoutes();
    socket.onConnection((conn) => this.onConnection(conn));
  }

  register(infoHash: Uint8Array, handler: IncomingHandler): () => void {
    return this.routes.register(infoHash, handler);
  }

  /** Refuse new connections and close those not yet routed. Routed ones belong to their engines. */
  close(): void {
    this.closed = true;
    for (const c of this.pending) c.close();
    this.pending.clear();
  }

  private onConnection(conn: IncomingUtp): void {
    const remote = conn.remoteAddress;
    const ticket = this.closed ? undefined : this.gate.admit(remote.host, () => refuse());
    if (!ticket) {
      this.stats.refused++;
      conn.close();
      return;
    }
    conn.onClose(() => ticket.release());
    this.pending.add(conn);
    const chunks: Uint8Array[] = [];
    let length = 0;
    let settled = false;
    /** Where later bytes go once the connection is handed on. */
    let next: ReplayStream | undefined;
    const done = (): void => {
      settled = true;
      timer.cancel();
      this.pending.delete(conn);
    };
    const refuse = (): void => {
      if (settled) return;
      done();
      this.stats.refused++;
      conn.close();
    };
    const handOver = (): ReplayStream => {
      next = new ReplayStream(conn, chunks.splice(0), this.clock);
      return next;
    };
    const timer = this.clock.setTimeout(refuse, this.handshakeTimeoutMs);
    conn.onClose(() => {
      if (!settled) done();
    });
    conn.onData((chunk) => {
      if (next) return next.push(chunk);
      if (settled) return;
      ticket.heard = true;
      chunks.push(chunk);
      length += chunk.length;
      const first = chunks.length === 1 ? chunk : Buffer.concat(chunks, length);
      const start = handshakeStart(first, this.encryption);
      if (start === 'mse') return this.encrypted(handOver(), remote, ticket, done, refuse);
      if (start === 'refuse') return refuse();
      if (length < HANDSHAKE_HEAD_LENGTH) return;
      const head = decodeHandshakeHead(first);
      const handler = head ? this.routes.handler(head.infoHash) : undefined;
      if (!handler || !ticket.establish()) return refuse();
      done();
      this.stats.accepted++;
      handler(handOver(), remote);
    });
  }

  private encrypted(
    raw: ReplayStream,
    remote: Address,
    ticket: InboundTicket,
    done: () => void,
    refuse: () => void
  ): void {
    if (this.encryption === 'disabled') return refuse();
    void this.routes
      .respondEncrypted(raw, {
        policy: this.encryption,
        timeoutMs: this.handshakeTimeoutMs,
        clock: this.clock
      })
      .then((routed) => {
        if (!routed || this.closed || !ticket.establish()) return refuse();
        done();
        this.stats.accepted++;
        this.stats.encrypted++;
        routed.handler(routed.stream, remote);
      });
  }
}
