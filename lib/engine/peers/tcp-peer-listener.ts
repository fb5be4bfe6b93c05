/**
 * `TcpPeerListener` accepts incoming peers on one TCP port and routes each connection to the
 * torrent named by its handshake: it reads the first 48 bytes (protocol string, reserved bits,
 * infohash), picks the handler registered for that infohash, and hands it the stream with
 * those bytes still to be read. Routing on bytes (rather than a shared PeerWire) keeps each
 * engine free to choose its wire options (peer id, extensions) and lets custom engines share
 * the port. A connection whose first bytes are not "\x13BitTorrent protocol" is Message Stream
 * Encryption (lib/wire/mse.ts): the listener runs the responder, which names the torrent
 * (SKEY) among the registered infohashes, and routes the decrypted stream.
 *
 * Every connection passes the InboundGate first (per-IP limits, a bounded accept queue that
 * sheds the oldest idle connection, a global cap on established ones) and has
 * `handshakeTimeoutMs` to be routed; see docs/security.md.
 */
import type { Address } from '../../net/address.js';
import { TcpServer, type IncomingSocket } from '../../net/tcp.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { HANDSHAKE_HEAD_LENGTH } from '../../wire/constants.js';
import { decodeHandshakeHead } from '../../wire/messages.js';
import { DEFAULT_ENCRYPTION, type EncryptionPolicy } from '../../wire/mse.js';
import type { IncomingHandler, PeerListener } from '../engine.js';
import { InboundGate, type InboundLimits, type InboundStats, type InboundTicket } from './inbound-gate.js';
import { handshakeStart, IncomingRoutes } from './incoming-routes.js';

/**
 * Default time an incoming connection has to send the first 48 handshake bytes (or finish MSE),
 * ms: a few round trips even on a slow link, and short enough that an idle connection does
 * not hold a slot for long.
 */
export const INCOMING_HANDSHAKE_TIMEOUT_MS = 5_000;

export interface ListenOptions {
  /** IP literal to bind (default '0.0.0.0'). */
  host?: string;
  /** Port (0 = any free port). Default 0. */
  port?: number;
  /** Incoming encryption (MSE): which handshakes are accepted, what is selected. Default 'enabled'. */
  encryption?: EncryptionPolicy;
  /** Time source of the handshake timeout. Default the system clock. */
  clock?: Clock;
  /** Time to be routed (plaintext handshake head, or MSE done), ms. Default 5 s. */
  handshakeTimeoutMs?: number;
  /** Admission limits (inbound-gate.ts DEFAULT_INBOUND_LIMITS); loopback rigs may relax them. */
  limits?: Partial<InboundLimits>;
  /**
   * Share admission with another listener (the uTP one on the same port number), so per-IP
   * limits count a source's connections over both transports. Overrides `limits`.
   */
  gate?: InboundGate;
  /** Share the routing table with another listener: a torrent registered once is reachable over both. */
  routes?: IncomingRoutes;
}

export interface ListenerStats {
  accepted: number;
  /** Of those, arrived with Message Stream Encryption. */
  encrypted: number;
  /** Closed before routing: bad handshake, unknown infohash, timeout, shed, or over a limit. */
  refused: number;
}

/** Accepts peers on one TCP port for any number of torrents (routing by infohash). */
export class TcpPeerListener implements PeerListener {
  private server!: TcpServer;
  private readonly routes: IncomingRoutes;
  /** The routes belong to whoever shares them with another listener: not cleared on close. */
  private readonly sharedRoutes: boolean;
  private readonly pending = new Set<IncomingSocket>();
  private readonly encryption: EncryptionPolicy;
  private readonly clock: Clock;
  private readonly handshakeTimeoutMs: number;
  private readonly gate: InboundGate;
  private closed = false;
  readonly stats: ListenerStats = { accepted: 0, encrypted: 0, refused: 0 };

  private constructor(options: ListenOptions) {
    this.encryption = options.encryption ?? DEFAULT_ENCRYPTION;
    this.clock = options.clock ?? systemClock;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? INCOMING_HANDSHAKE_TIMEOUT_MS;
    this.gate = options.gate ?? new InboundGate(options.limits);
    this.routes = options.routes ?? new IncomingRoutes();
    this.sharedRoutes = options.routes !== undefined;
  }

  /** Bind and listen. Rejects if the address is in use. */
  static async listen(options: ListenOptions = {}): Promise<TcpPeerListener> {
    const listener = new TcpPeerListener(options);
    listener.server = await TcpServer.listen(options, (socket) => listener.onConnection(socket));
    return listener;
  }

  /** Admission counters: admitted, shed, refused per IP, refused at the established cap. */
  get admission(): Readonly<InboundStats> {
    return this.gate.stats;
  }

  /** Connections still in the handshake, and established ones (routed, not closed yet). */
  get connections(): { pending: number; established: number } {
    return { pending: this.gate.pendingCount, established: this.gate.established };
  }

  get port(): number {
    return this.address().port;
  }

  address(): Address {
    return this.server.address();
  }

  register(infoHash: Uint8Array, handler: IncomingHandler): () => void {
    return this.routes.register(infoHash, handler);
  }

  /** Stop listening and close connections not yet routed. Routed ones belong to their engines. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.pending) s.destroy();
    this.pending.clear();
    if (!this.sharedRoutes) this.routes.clear();
    await this.server.close();
  }

  private onConnection(socket: IncomingSocket): void {
    const ticket = this.closed ? undefined : this.gate.admit(socket.remoteHost, () => refuse());
    if (!ticket) {
      this.stats.refused++;
      socket.destroy();
      return;
    }
    socket.onceClose(() => ticket.release());
    this.pending.add(socket);
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const done = (): void => {
      settled = true;
      timer.cancel();
      socket.offData(onData);
      socket.offClose(onClose);
      this.pending.delete(socket);
    };
    const refuse = (): void => {
      if (settled) return;
      done();
      this.stats.refused++;
      socket.destroy();
    };
    // Covers the MSE handshake too.
    const timer = this.clock.setTimeout(refuse, this.handshakeTimeoutMs);
    const onClose = (): void => done();
    const onData = (chunk: Buffer): void => {
      ticket.heard = true;
      chunks.push(chunk);
      length += chunk.length;
      const first = chunks.length === 1 ? chunk : Buffer.concat(chunks, length);
      // "\x13BitTorrent protocol", or (any other first bytes) an MSE Ya.
      const start = handshakeStart(first, this.encryption);
      if (start === 'mse') {
        socket.offData(onData);
        return this.encrypted(socket, chunks, ticket, done, refuse);
      }
      if (start === 'refuse') return refuse();
      if (length < HANDSHAKE_HEAD_LENGTH) return;
      socket.pause();
      const head = decodeHandshakeHead(first);
      const handler = head ? this.routes.handler(head.infoHash) : undefined;
      if (!handler || !ticket.establish()) return refuse();
      done();
      this.stats.accepted++;
      const stream = socket.toStream(chunks);
      handler(stream, stream.remoteAddress);
    };
    socket.onData(onData);
    socket.onceClose(onClose);
    socket.resume();
  }

  /** Run the MSE responder on a connection whose first bytes are not a plaintext handshake. */
  private encrypted(
    socket: IncomingSocket,
    chunks: Buffer[],
    ticket: InboundTicket,
    done: () => void,
    refuse: () => void
  ): void {
    if (this.encryption === 'disabled') return refuse();
    socket.pause();
    const raw = socket.toStream(chunks.splice(0));
    const remote = raw.remoteAddress;
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
