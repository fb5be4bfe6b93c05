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
import type { IncomingHandler, PeerListener } from '../engine.js';
import type { InboundStats } from './inbound-gate.js';
import { PendingHandshakes, type HandshakeOptions, type ListenerStats } from './pending-handshakes.js';

export { INCOMING_HANDSHAKE_TIMEOUT_MS, type ListenerStats } from './pending-handshakes.js';

export interface ListenOptions extends HandshakeOptions {
  /** IP literal to bind (default '0.0.0.0'). */
  host?: string;
  /** Port (0 = any free port). Default 0. */
  port?: number;
}

/** Accepts peers on one TCP port for any number of torrents (routing by infohash). */
export class TcpPeerListener implements PeerListener {
  private server!: TcpServer;
  private readonly handshakes: PendingHandshakes;
  /** The routes belong to whoever shares them with another listener: not cleared on close. */
  private readonly sharedRoutes: boolean;
  private closed = false;

  private constructor(options: ListenOptions) {
    this.handshakes = new PendingHandshakes(options);
    this.sharedRoutes = options.routes !== undefined;
  }

  /** Bind and listen. Rejects if the address is in use. */
  static async listen(options: ListenOptions = {}): Promise<TcpPeerListener> {
    const listener = new TcpPeerListener(options);
    listener.server = await TcpServer.listen(options, (socket) => listener.onConnection(socket));
    return listener;
  }

  get stats(): ListenerStats {
    return this.handshakes.stats;
  }

  /** Admission counters: admitted, shed, refused per IP, refused at the established cap. */
  get admission(): Readonly<InboundStats> {
    return this.handshakes.gate.stats;
  }

  /** Connections still in the handshake, and established ones (routed, not closed yet). */
  get connections(): { pending: number; established: number } {
    const gate = this.handshakes.gate;
    return { pending: gate.pendingCount, established: gate.established };
  }

  get port(): number {
    return this.address().port;
  }

  address(): Address {
    return this.server.address();
  }

  register(infoHash: Uint8Array, handler: IncomingHandler): () => void {
    return this.handshakes.routes.register(infoHash, handler);
  }

  /** Stop listening and close connections not yet routed. Routed ones belong to their engines. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handshakes.close();
    if (!this.sharedRoutes) this.handshakes.routes.clear();
    await this.server.close();
  }

  private onConnection(socket: IncomingSocket): void {
    const pending = this.handshakes.accept({
      remoteAddress: socket.remoteAddress,
      handOver: (initial) => {
        socket.offData(onData);
        socket.pause();
        return socket.toStream(initial);
      },
      destroy: () => socket.destroy()
    });
    if (!pending) return;
    // Fed until the hand-over, which removes it.
    const onData = (chunk: Buffer): void => pending.data(chunk);
    socket.onceClose(() => pending.closed());
    socket.onData(onData);
    socket.resume();
  }
}
