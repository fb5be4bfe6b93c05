/**
 * Where a swarm's peers reach it: a TCP listener and, on the same port number, a UDP socket for
 * uTP (BEP 29) that the swarm's DHT node shares (one UDP port for both, as libtorrent runs
 * them), so the port announced on the DHT is right for both transports; with `ipv6`, a second
 * UDP socket on `::` (same port number) carries uTP over IPv6 and the IPv6 DHT node. The
 * listeners share one routing table (a torrent registered once is reachable over every
 * transport and family) and one admission gate (per-IP limits count a source's connections
 * over all of them).
 */
import type { DhtOptions } from '../dht/options.js';
import { TrackerlessError } from '../errors.js';
import type { Address } from '../net/address.js';
import type { Transport } from '../net/transport.js';
import { createUdpTransport } from '../net/udp-transport.js';
import type { UtpDialer } from '../engine/peers/connect-peer.js';
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
  /**
   * Also IPv6: a UDP socket on `host` (default '::') and `port` (default the TCP port number)
   * for uTP, shared with the IPv6 DHT node when `shareWithDht` (`dht6Transport`).
   */
  ipv6?: Ipv6Endpoint;
  utpOptions?: UtpSocketOptions;
}

export interface Ipv6Endpoint {
  host?: string;
  port?: number;
  shareWithDht: boolean;
}

/** One UDP socket's parts: uTP over it and, when shared, the DHT node's half. */
export interface UdpSide {
  /** The uTP socket (undefined: no uTP). */
  readonly utp: UtpSocket | undefined;
  readonly utpListener: UtpPeerListener | undefined;
  /** The DHT's half of the UDP socket (when shared). */
  readonly dhtTransport: Transport | undefined;
  /** uTP's half (or the whole socket when not shared), closed with the endpoints. */
  readonly utpTransport: Transport | undefined;
  /** The socket is IPv6. */
  readonly family6: boolean;
}

export class PeerEndpoints {
  /** Dials uTP to IPv4 peers from the IPv4 socket and to IPv6 peers from the IPv6 one. */
  readonly utpDialer: UtpDialer | undefined;

  private constructor(
    /** The TCP listener: register torrents here (the uTP listeners share its routes). */
    readonly listener: TcpPeerListener,
    /** The UDP socket beside TCP (IPv4, unless its host says otherwise). */
    readonly udp: UdpSide | undefined,
    /** The IPv6 one, with `ipv6`. */
    readonly udp6: UdpSide | undefined
  ) {
    // By the family of each socket: the main one may be IPv6 too (a swarm on ::1 only).
    const ofFamily = (six: boolean): UtpSocket | undefined =>
      [udp, udp6].find((side) => side?.utp !== undefined && side.family6 === six)?.utp;
    const utp4 = ofFamily(false);
    const utp6 = ofFamily(true);
    this.utpDialer =
      utp4 || utp6
        ? {
            connect: (address, options) => {
              const socket = address.host.includes(':') ? utp6 : utp4;
              // No socket of the peer's family: fail now, so the dialer moves on to TCP at once.
              return socket
                ? socket.connect(address, options)
                : Promise.reject(new TrackerlessError('ERR_INVALID_ADDRESS', noSocketFor(address)));
            }
          }
        : undefined;
  }

  static async open(o: PeerEndpointsOptions): Promise<PeerEndpoints> {
    const routes = new IncomingRoutes();
    const gate = new InboundGate(o.listen.limits);
    const listener = await TcpPeerListener.listen({ ...o.listen, routes, gate });
    const opened: UdpSide[] = [];
    try {
      const udp =
        o.utp || o.shareWithDht
          ? await openSide(await bindUdp(o, listener.port), o.shareWithDht, o, routes, gate)
          : undefined;
      if (udp) opened.push(udp);
      const udp6 =
        o.ipv6 && (o.utp || o.ipv6.shareWithDht)
          ? await openSide(await bindUdp6(o.ipv6, listener.port), o.ipv6.shareWithDht, o, routes, gate)
          : undefined;
      return new PeerEndpoints(listener, udp, udp6);
    } catch (err) {
      for (const side of opened) await closeSide(side);
      await listener.close();
      throw err;
    }
  }

  /** The DHT node's half of the UDP socket beside TCP (with `shareWithDht`). */
  get dhtTransport(): Transport | undefined {
    return this.udp?.dhtTransport;
  }

  /** The IPv6 DHT node's half of the IPv6 UDP socket (with `ipv6.shareWithDht`). */
  get dht6Transport(): Transport | undefined {
    return this.udp6?.dhtTransport;
  }

  /** The UDP port of uTP (the TCP port number unless it was taken or set otherwise). */
  get udpPort(): number | undefined {
    return this.udp?.utpListener?.port;
  }

  /** Connections accepted over uTP, both families. */
  get utpAccepted(): number {
    return (this.udp?.utpListener?.stats.accepted ?? 0) + (this.udp6?.utpListener?.stats.accepted ?? 0);
  }

  /** Close the listeners and uTP (its connections are reset). The DHT nodes close their halves. */
  async close(): Promise<void> {
    for (const side of [this.udp, this.udp6]) if (side) await closeSide(side);
    await this.listener.close();
  }
}

/** uTP on `udp` (and the DHT's half when `share`), its listener sharing routes and gate. */
async function openSide(
  udp: Transport,
  share: boolean,
  o: PeerEndpointsOptions,
  routes: IncomingRoutes,
  gate: InboundGate
): Promise<UdpSide> {
  const family6 = udp.address().host.includes(':');
  const shared = share ? shareUdpPort(udp) : undefined;
  const utpTransport = shared ? shared.utp : udp;
  if (!o.utp) {
    // The DHT alone on the port: uTP packets go to a side nobody reads.
    await utpTransport.close();
    return {
      utp: undefined,
      utpListener: undefined,
      dhtTransport: shared!.dht,
      utpTransport: undefined,
      family6
    };
  }
  const clock = o.listen.clock;
  const utp = new UtpSocket(utpTransport, { ...(clock ? { clock } : {}), ...o.utpOptions });
  const utpListener = new UtpPeerListener(utp, udp.address().port, {
    routes,
    gate,
    ...(o.listen.encryption ? { encryption: o.listen.encryption } : {}),
    ...(clock ? { clock } : {}),
    ...(o.listen.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: o.listen.handshakeTimeoutMs } : {})
  });
  return { utp, utpListener, dhtTransport: shared?.dht, utpTransport, family6 };
}

async function closeSide(side: UdpSide): Promise<void> {
  side.utpListener?.close();
  side.utp?.close();
  await side.utpTransport?.close();
}

/**
 * The UDP socket: the port asked for, else the TCP port's number; if that one is taken (TCP
 * picked a free port, UDP's namesake is in use), any free port.
 */
async function bindUdp(o: PeerEndpointsOptions, tcpPort: number): Promise<Transport> {
  const tcpHost = o.listen.host;
  const host = o.udpHost ?? (tcpHost !== undefined && !tcpHost.includes(':') ? tcpHost : '0.0.0.0');
  return bindNear(host, o.udpPort, tcpPort);
}

/** The IPv6 UDP socket, on the same port rules. */
function bindUdp6(o: Ipv6Endpoint, tcpPort: number): Promise<Transport> {
  return bindNear(o.host ?? '::', o.port, tcpPort);
}

async function bindNear(host: string, port: number | undefined, tcpPort: number): Promise<Transport> {
  if (port !== undefined && port !== 0) return createUdpTransport({ host, port });
  try {
    return await createUdpTransport({ host, port: tcpPort });
  } catch {
    return createUdpTransport({ host, port: 0 });
  }
}

/**
 * `ipv6` for endpoints whose IPv6 DHT node is about to be created with `dht`: its host and port
 * (default '::' and the TCP port number), the socket shared unless the node brings its own
 * transport.
 */
export function udp6Of(dht: Pick<DhtOptions, 'host' | 'port' | 'transport'> | undefined): Ipv6Endpoint {
  return {
    ...(dht?.host !== undefined ? { host: dht.host } : {}),
    ...(dht?.port !== undefined ? { port: dht.port } : {}),
    shareWithDht: dht?.transport === undefined
  };
}

function noSocketFor(address: Address): string {
  return `no uTP socket for ${address.host.includes(':') ? 'IPv6' : 'IPv4'} peers`;
}
