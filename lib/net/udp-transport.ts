/**
 * UDP Transport over node:dgram. The only file in the project that imports node:dgram.
 *
 * - Never resolves host names: addresses are IP literals (krpc/types.ts Address). A custom
 *   `lookup` refuses anything else, so a remote-supplied "host" can never trigger DNS traffic
 *   and a send to a non-literal fails fast through onError.
 * - send() never throws: dgram throws synchronously for bad ports, closed sockets and bad
 *   arguments; those and the system's refusals (no route, a firewall rule: sendmsg fails at
 *   once on Linux) go to the onError handler as SendErrors naming the destination. dgram
 *   reports a refusal only to a send with a completion callback, and calls that callback on
 *   the next tick after every send (0.2-6 % of a loopback send's CPU: bench/udp-send-callback.ts);
 *   an `unchecked` send passes none.
 * - Datagrams above MAX_DATAGRAM_RECV_BYTES are dropped before the handler sees them.
 * - Multicast (BEP 14 local discovery): a socket may share its port with other processes and
 *   join one group on one interface; its sends then leave through that interface.
 */
import dgram from 'node:dgram';
import { MAX_DATAGRAM_RECV_BYTES } from '../constants.js';
import { SendError, TrackerlessError } from '../errors.js';
import type { Address } from './address.js';
import { packIp } from './ip.js';
import type { DatagramHandler, Transport } from './transport.js';

export interface UdpTransportOptions {
  /** IP literal to bind. Default '0.0.0.0' (udp4) or '::' (udp6). */
  host?: string;
  /** Port to bind; 0 (the default) lets the OS pick one. */
  port?: number;
  /** Socket family. Default: 'udp6' if `host` is an IPv6 literal, else 'udp4'. */
  type?: 'udp4' | 'udp6';
  /** Let other sockets bind the same port (SO_REUSEADDR): processes on one host share a group. */
  reuseAddr?: boolean;
  /** Join a multicast group on one interface; sends then go out on that interface. */
  multicast?: MulticastOptions;
}

export interface MulticastOptions {
  /** Group address (an IP literal of the socket's family). */
  group: string;
  /** The interface: its IPv4 address, or '::%name' for IPv6. */
  interface: string;
  /** Hop limit of what we send. */
  ttl: number;
  /** Deliver our own sends to sockets of this host too (other clients on the same machine). */
  loopback: boolean;
}

/** `lastFrom` before the first datagram (matches no sender: port 0). */
const NO_SENDER: Readonly<Address> = Object.freeze({ host: '', port: 0 });

/** Receive buffer we ask for: a busy DHT node gets bursts of replies to parallel lookups. */
const RECV_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Bind a UDP socket and wrap it as a Transport. Rejects with ERR_INVALID_PORT for a bad port
 * and ERR_INVALID_ADDRESS when the host is not an IP literal or the bind fails (EADDRINUSE,
 * EADDRNOTAVAIL, ...; the system error is the `cause`).
 */
export async function createUdpTransport(opts: UdpTransportOptions = {}): Promise<Transport> {
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new TrackerlessError('ERR_INVALID_PORT', `invalid UDP port ${String(port)}`);
  }
  const type = opts.type ?? (opts.host !== undefined && ipFamily(opts.host) === 6 ? 'udp6' : 'udp4');
  const host = opts.host ?? (type === 'udp6' ? '::' : '0.0.0.0');
  const family = ipFamily(host);
  if (family === 0 || (family === 6) !== (type === 'udp6')) {
    throw new TrackerlessError(
      'ERR_INVALID_ADDRESS',
      `cannot bind ${type} socket to "${host}": not an IP literal of that family`
    );
  }

  // One DHT node speaks one family: an IPv6 socket takes no IPv4-mapped traffic, so an IPv4
  // node and an IPv6 node can share a port number (dual stack = two nodes, like libtorrent).
  const socket = dgram.createSocket({
    type,
    lookup: literalLookup,
    ...(opts.reuseAddr ? { reuseAddr: true } : {}),
    ...(type === 'udp6' ? { ipv6Only: true } : {})
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => socket.close(() => resolve())).then(waitForHandleClose);
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new TrackerlessError('ERR_INVALID_ADDRESS', `cannot bind UDP ${host}:${port}: ${code}`, {
      cause: err
    });
  }
  if (opts.multicast) {
    try {
      joinGroup(socket, opts.multicast);
    } catch (err) {
      await new Promise<void>((resolve) => socket.close(() => resolve())).then(waitForHandleClose);
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new TrackerlessError(
        'ERR_INVALID_ADDRESS',
        `cannot join multicast group ${opts.multicast.group} on ${opts.multicast.interface}: ${code}`,
        { cause: err }
      );
    }
  }
  try {
    socket.setRecvBufferSize(RECV_BUFFER_BYTES);
  } catch {
    // The OS may cap or refuse the size (e.g. net.core.rmem_max); the default still works.
  }
  return new UdpTransport(socket);
}

function joinGroup(socket: dgram.Socket, m: MulticastOptions): void {
  socket.addMembership(m.group, m.interface);
  socket.setMulticastInterface(m.interface);
  socket.setMulticastTTL(m.ttl);
  socket.setMulticastLoopback(m.loopback);
}

class UdpTransport implements Transport {
  private messageHandler: DatagramHandler | null = null;
  private errorHandler: ((err: Error) => void) | null = null;
  private closing: Promise<void> | null = null;
  private readonly local: Address;
  /** The sender of the last datagram received. */
  private lastFrom: Readonly<Address> = NO_SENDER;
  /** One callback for every checked send, so sending allocates no closure. */
  private readonly afterSend = (err: Error | null): void => {
    if (err === null) return;
    // dgram names the destination on the error (ExceptionWithHostPort).
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    this.reportError(
      new SendError({ host: e.address ?? '', port: e.port ?? 0 }, e.code ?? 'unknown', { cause: err })
    );
  };

  constructor(private readonly socket: dgram.Socket) {
    const { address, port } = socket.address();
    this.local = { host: address, port };
    socket.on('message', (msg, rinfo) => {
      if (msg.length > MAX_DATAGRAM_RECV_BYTES || this.messageHandler === null) return;
      // A transfer brings tens of thousands of datagrams per second from one sender: they share
      // one frozen Address instead of a new object each (frozen: a handler that kept it and
      // tried to change it would throw rather than corrupt the next datagram's sender).
      let from = this.lastFrom;
      if (from.port !== rinfo.port || from.host !== rinfo.address) {
        from = this.lastFrom = Object.freeze({ host: rinfo.address, port: rinfo.port });
      }
      try {
        this.messageHandler(msg, from);
      } catch (err) {
        // A throwing handler must not become an uncaught exception inside the socket loop.
        this.reportError(err instanceof Error ? err : new Error(String(err)));
      }
    });
    // Always listen: an 'error' event without a listener would crash the process.
    socket.on('error', (err) => this.reportError(err));
  }

  send(data: Uint8Array, to: Address, unchecked?: boolean): void {
    if (this.closing !== null) return; // closed: nothing to send on, and nothing to report
    try {
      if (unchecked) this.socket.send(data, to.port, to.host);
      else this.socket.send(data, to.port, to.host, this.afterSend);
    } catch (err) {
      this.reportThrown(err, to);
    }
  }

  sendv(parts: readonly Uint8Array[], to: Address, unchecked?: boolean): void {
    if (this.closing !== null) return;
    try {
      // dgram hands the list to sendmsg as an iovec: no concatenation.
      if (unchecked) this.socket.send(parts as Uint8Array[], to.port, to.host);
      else this.socket.send(parts as Uint8Array[], to.port, to.host, this.afterSend);
    } catch (err) {
      this.reportThrown(err, to);
    }
  }

  onMessage(handler: DatagramHandler): void {
    this.messageHandler = handler;
  }

  onError(handler: (err: Error) => void): void {
    this.errorHandler = handler;
  }

  address(): Address {
    return { host: this.local.host, port: this.local.port };
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.messageHandler = null;
      this.socket.close(() => resolve());
    }).then(waitForHandleClose);
    return this.closing;
  }

  /** dgram threw at once (a bad port, a closed socket): a send to `to` that failed. */
  private reportThrown(err: unknown, to: Address): void {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    this.reportError(new SendError(to, code, { cause: err }));
  }

  private reportError(err: Error): void {
    this.errorHandler?.(err);
  }
}

/**
 * dgram emits 'close' on the next tick, but libuv frees the handle only in the loop's
 * "closing handles" phase, which runs after the check (setImmediate) phase. Two immediates
 * always span one closing phase, whichever phase close() was called in; after them the
 * socket no longer shows in process.getActiveResourcesInfo() (what leak checks look at).
 */
async function waitForHandleClose(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Addresses already seen to be IP literals, and their family: dgram asks `lookup` on every send,
 * and a uTP transfer sends tens of thousands of datagrams per second to one address. Bounded
 * (cleared when full).
 */
const literalFamilies = new Map<string, 4 | 6>();
const MAX_CACHED_LITERALS = 4096;

/**
 * dgram `lookup` replacement: IP literals only, never DNS. dgram calls it for every bind and
 * send with the socket's family (4 or 6).
 */
function literalLookup(
  address: string,
  family: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void
): void {
  let found: 0 | 4 | 6 | undefined = literalFamilies.get(address);
  if (found === undefined) {
    found = ipFamily(address);
    if (found !== 0) {
      if (literalFamilies.size >= MAX_CACHED_LITERALS) literalFamilies.clear();
      literalFamilies.set(address, found);
    }
  }
  const wanted = family === 6 || family === 'IPv6' ? 6 : 4;
  if (found === wanted) {
    callback(null, address, found);
    return;
  }
  const err: NodeJS.ErrnoException = new TrackerlessError(
    'ERR_INVALID_ADDRESS',
    found === 0 ? `"${address}" is not an IP literal` : `"${address}" is not an IPv${wanted} address`
  );
  err.syscall = 'lookup';
  (err as NodeJS.ErrnoException & { address?: string }).address = address;
  callback(err, address, wanted);
}

/**
 * 4 or 6 for an IPv4 / IPv6 literal, 0 otherwise. IPv4 goes through the codec's hand-rolled
 * parser (strict dotted quad; this runs for every datagram we send). Deliberately loose on
 * IPv6 (the OS rejects malformed ones at send time, and zone ids like "%eth0" must pass); it
 * only has to tell literals from names. Not node:net's isIP, so that node:net stays confined
 * to the engine.
 */
function ipFamily(host: string): 0 | 4 | 6 {
  if (!host.includes(':')) return packIp(host) === undefined ? 0 : 4;
  return /^[0-9a-fA-F:.]+(%[\w.-]+)?$/.test(host) ? 6 : 0;
}
