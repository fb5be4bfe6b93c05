/**
 * Where a swarm's peers reach it: a TCP listener and, on the same port number, a UDP socket for
 * uTP (BEP 29) that the swarm's DHT node shares (one UDP port for both, as libtorrent runs
 * them), so the port announced on the DHT is right for both transports. The two listeners share
 * one routing table (a torrent registered once is reachable over both) and one admission gate
 * (per-IP limits count a source's connections over both).
 */
import type { Transport } from '../net/transport.js';
import { createUdpTransport } from '../net/udp-transport.js';
import { InboundGate } from '../engine/peers/inbound-gate.js';
import { IncomingRoutes } from '../engine/peers/incoming-routes.js';
import { TcpPeerListener, type ListenOptions } from '../engine/peers/tcp-peer-listener.js';
import { UtpPeerListener } from '../engine/peers/utp-peer-listener.js';
import { shareUdpPort } from '../utp/shared-port.js';
import { UtpSocket, type UtpSocketOptions } from '../utp/socket.js';

export interface PeerEndpointsOptions {
  /** The TCP listener (host, port, encryption, limits); the uTP side takes the same policy. */
  listen: ListenOptions;
  /** Accept and dial uTP. */
  utp: boolean;
  /** UDP address. Default: the TCP listener's host (IPv4) and port number. */
  udpHost?: string;
  udpPort?: number;
  /** Share the UDP socket with a DHT node: `dhtTransport` is its half. */
  shareWithDht: boolean;
  utpOptions?: UtpSocketOptions;
}

export class PeerEndpoints {
  private constructor(
    /** The TCP listener: register torrents here (the uTP listener shares its routes). */
    readonly listener: TcpPeerListener,
    /** Dial uTP from here (undefined: no uTP). */
    readonly utp: UtpSocket | undefined,
    readonly utpListener: UtpPeerListener | undefined,
    /** The DHT's half of the UDP socket (with `shareWithDht`). */
    readonly dhtTransport: Transport | undefined,
    private readonly utpTransport: Transport | undefined
  ) {}

  static async open(o: PeerEndpointsOptions): Promise<PeerEndpoints> {
    const routes = new IncomingRoutes();
    const gate = new InboundGate(o.listen.limits);
    const listener = await TcpPeerListener.listen({ ...o.listen, routes, gate });
    if (!o.utp && !o.shareWithDht)
      return new PeerEndpoints(listener, undefined, undefined, undefined, undefined);
    let udp: Transport;
    try {
      udp = await bindUdp(o, listener.port);
    } catch (err) {
      await listener.close();
      throw err;
    }
    const shared = o.shareWithDht ? shareUdpPort(udp) : undefined;
    const utpTransport = shared ? shared.utp : udp;
    if (!o.utp) {
      // The DHT alone on the port: uTP packets go to a side nobody reads.
      await utpTransport.close();
      return new PeerEndpoints(listener, undefined, undefined, shared!.dht, undefined);
    }
    const clock = o.listen.clock;
    const utp = new UtpSocket(utpTransport, { ...(clock ? { clock } : {}), ...o.utpOptions });
    const utpListener = new UtpPeerListener(utp, udp.address().port, {
      routes,
      gate,
      ...(o.listen.encryption ? { encryption: o.listen.encryption } : {}),
      ...(clock ? { clock } : {}),
      ...(o.listen.handshakeTimeoutMs !== undefined
        ? { handshakeTimeoutMs: o.listen.handshakeTimeoutMs }
        : {})
    });
    return new PeerEndpoints(listener, utp, utpListener, shared?.dht, utpTransport);
  }

  /** The UDP port of uTP (the TCP port number unless it was taken or set otherwise). */
  get udpPort(): number | undefined {
    return this.utpListener?.port;
  }

  /** Close the listeners and uTP (its connections are reset). The DHT closes its own half. */
  async close(): Promise<void> {
    this.utpListener?.close();
    this.utp?.close();
    await this.utpTransport?.close();
    await this.listener.close();
  }
}

/**
 * The UDP socket: the port asked for, else the TCP port's number; if that one is taken (TCP
 * picked a free port, UDP's namesake is in use), any free port.
 */
async function bindUdp(o: PeerEndpointsOptions, tcpPort: number): Promise<Transport> {
  const tcpHost = o.listen.host;
  const host = o.udpHost ?? (tcpHost !== undefined && !tcpHost.includes(':') ? tcpHost : '0.0.0.0');
  if (o.udpPort !== undefined && o.udpPort !== 0) return createUdpTransport({ host, port: o.udpPort });
  try {
    return await createUdpTransport({ host, port: tcpPort });
  } catch {
    return createUdpTransport({ host, port: 0 });
  }
}
