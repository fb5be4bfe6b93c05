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
import type { IncomingHandler, PeerListener } from '../engine.js';
import { PendingHandshakes, type HandshakeOptions, type ListenerStats } from './pending-handshakes.js';

/** An incoming uTP connection (utp/connection.ts UtpConnection). */
export interface IncomingUtp extends WireStream {
  readonly remoteAddress: Address;
}

/** The accepting side of a uTP socket (utp/socket.ts UtpSocket). */
export interface UtpAcceptor {
  onConnection(handler: (conn: IncomingUtp) => void): void;
}

export type UtpListenOptions = HandshakeOptions;

export class UtpPeerListener implements PeerListener {
  private readonly handshakes: PendingHandshakes;

  /** `port`: the UDP port the socket is bound to (what peers dial). */
  constructor(
    socket: UtpAcceptor,
    readonly port: number,
    options: UtpListenOptions = {}
  ) {
    this.handshakes = new PendingHandshakes(options);
    socket.onConnection((conn) => this.onConnection(conn));
  }

  get stats(): ListenerStats {
    return this.handshakes.stats;
  }

  register(infoHash: Uint8Array, handler: IncomingHandler): () => void {
    return this.handshakes.routes.register(infoHash, handler);
  }

  /** Refuse new connections and close those not yet routed. Routed ones belong to their engines. */
  close(): void {
    this.handshakes.close();
  }

  private onConnection(conn: IncomingUtp): void {
    /** Where later bytes go once the connection is handed on: the stream keeps one data callback. */
    let next: ReplayStream | undefined;
    const pending = this.handshakes.accept({
      remoteAddress: conn.remoteAddress,
      handOver: (initial) => (next = new ReplayStream(conn, initial, this.handshakes.clock)),
      destroy: () => conn.close()
    });
    if (!pending) return;
    conn.onClose(() => pending.closed());
    conn.onData((chunk) => (next ? next.push(chunk) : pending.data(chunk)));
  }
}
