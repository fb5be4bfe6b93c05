/**
 * TCP: the only module that imports node:net.
 *
 * - `SocketStream` adapts a net.Socket to the byte-stream interface `WireStream`: backpressure
 *   through write()'s return value and 'drain'. A tick's writes leave in one writev (cork,
 *   uncork on nextTick), and small messages (REQUEST/HAVE bursts) are concatenated first, so a
 *   burst of 17-byte requests is one buffer rather than hundreds of iovecs.
 * - `connectTcp(..., { reuseReadBuffer: true })` reads into one buffer shared by all such
 *   sockets instead of a fresh 64 KiB buffer per read (`chunksReused`): moving a GiB then
 *   allocates no memory, which spares the page faults and the GC work that churn costs.
 * - `connectTcp` dials out with a timeout and an AbortSignal.
 * - `TcpServer` accepts connections and hands each one over paused, as an `IncomingSocket`
 *   whose first bytes its owner reads before turning it into a `SocketStream`.
 */
import net from 'node:net';
import { AbortError, InvalidArgumentError, TimeoutError, StateError } from '../errors.js';
import type { Address } from './address.js';
import type { WireStream } from './stream.js';
import { systemClock, type Clock } from '../util/clock.js';

/**
 * Bytes a socket may queue before write() reports backpressure. Node's 16 KiB default would
 * stop a sender after every block; 1 MiB keeps a fast loopback stream busy between ticks.
 */
export const SOCKET_HIGH_WATER_MARK = 1024 * 1024;
/** Writes up to this size are coalesced per tick (headers, requests, HAVEs), bytes. */
const SMALL_WRITE = 1024;
/**
 * Size of the shared read buffer, bytes: one read takes up to this much of what the kernel has
 * queued (a fast loopback sender keeps hundreds of KiB there).
 */
const SHARED_READ_BUFFER_SIZE = 256 * 1024;
/**
 * The buffer every `reuseReadBuffer` socket reads into. Sharing is safe: libuv reads one socket
 * at a time on the loop thread and hands the bytes to JS before the next read, and a
 * `chunksReused` stream's receivers are done with a chunk when their callback returns. Its
 * size does not grow with the number of connections.
 */
let sharedReadBuffer: Buffer | undefined;
/** Default time to establish an outgoing connection, ms. */
export const CONNECT_TIMEOUT_MS = 10_000;

export class SocketStream implements WireStream {
  readonly transport = 'tcp' as const;
  readonly chunksReused: boolean;
  private readonly socket: net.Socket;
  /** Bytes to deliver before the socket's own (the listener's, or copies of early reads). */
  private initial: Uint8Array[];
  /** chunksReused: the receivers of reads, and whether reads go to them yet. */
  private readonly receivers: ((chunk: Uint8Array) => void)[] = [];
  private receiving = false;
  /** Small messages of this tick, sent as one buffer (REQUEST/HAVE bursts). */
  private small: Uint8Array[] = [];
  private smallBytes = 0;
  private flushScheduled = false;
  private corked = false;
  private closed = false;
  private readonly closeCbs: (() => void)[] = [];
  private dataStarted = false;

  /**
   * `initial`: bytes already read from the socket (by the listener), delivered first.
   * `chunksReused`: the socket was created with `onread` and hands its reads to `onRead`.
   */
  constructor(socket: net.Socket, initial: Uint8Array[] = [], chunksReused = false) {
    this.socket = socket;
    this.initial = initial;
    this.chunksReused = chunksReused;
    socket.setNoDelay(true);
    // A socket error (ECONNRESET, EPIPE) is just the end of this connection.
    socket.on('error', () => {});
    socket.once('close', () => {
      this.closed = true;
      for (const cb of this.closeCbs.splice(0)) cb();
    });
  }

  get remoteAddress(): Address {
    return remoteAddressOf(this.socket);
  }

  write(data: Uint8Array): boolean {
    if (!this.writable()) return false;
    if (data.length <= SMALL_WRITE) {
      // Each socket.write costs a few microseconds and a writev entry: a burst of 17-byte
      // requests is cheaper as one concatenated buffer at the end of the tick.
      this.small.push(data);
      this.smallBytes += data.length;
      this.scheduleFlush();
      return this.socket.writableLength + this.smallBytes < SOCKET_HIGH_WATER_MARK;
    }
    this.flushSmall();
    this.cork();
    return this.socket.write(data);
  }

  /**
   * Gathered write. Piece messages ([header, block, header, block, ...]) go straight into the
   * corked socket in order, so a batch of blocks leaves in the tick's one writev without the
   * per-header detour through the small-message buffer; all-small parts (an extension header
   * and a short payload) still join that buffer.
   */
  writev(chunks: readonly Uint8Array[], onWritten?: () => void): boolean {
    if (!this.writable()) {
      onWritten?.();
      return false;
    }
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    let ok = true;
    if (bytes <= SMALL_WRITE) {
      for (const c of chunks) ok = this.write(c);
      return ok; // joined the small buffer: no report (`onWritten` is optional)
    }
    this.flushSmall();
    this.cork();
    const last = chunks.length - 1;
    for (let i = 0; i <= last; i++) {
      const c = chunks[i]!;
      // Node runs write callbacks in order, once the bytes left (or the socket was destroyed).
      if (i === last && onWritten) ok = this.socket.write(c, () => onWritten());
      else if (c.length > 0) ok = this.socket.write(c);
    }
    return ok;
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    if (this.dataStarted) {
      if (this.chunksReused) this.receivers.push(cb);
      else this.socket.on('data', cb);
      return;
    }
    this.dataStarted = true;
    // Deliver the listener's bytes on a later turn: the wire's owner attaches its event
    // handlers right after constructing it, and must not miss the handshake.
    systemClock.setImmediate(() => {
      if (this.closed) return;
      const initial = this.initial;
      this.initial = [];
      for (const chunk of initial) cb(chunk);
      if (this.chunksReused) {
        this.receivers.push(cb);
        this.receiving = true;
      } else {
        this.socket.on('data', cb);
      }
      this.socket.resume();
    });
  }

  /**
   * chunksReused: one read, in the shared buffer, valid during this call. Before anyone
   * receives, it is copied and the socket pauses (false stops reading until `resume`).
   */
  onRead(chunk: Uint8Array): boolean {
    if (!this.receiving) {
      this.initial.push(Buffer.from(chunk));
      return false;
    }
    for (const cb of this.receivers) cb(chunk);
    return true;
  }

  onDrain(cb: () => void): void {
    this.socket.on('drain', cb);
  }

  onClose(cb: () => void): void {
    if (this.closed) queueMicrotask(cb);
    else this.closeCbs.push(cb);
  }

  close(): void {
    if (this.socket.destroyed) return;
    this.flushSmall();
    // FIN after the queued data; destroy once it is flushed, or after 5 s if the peer stalls.
    const timer = systemClock.setTimeout(() => this.socket.destroy(), 5_000);
    this.socket.end(() => {
      timer.cancel();
      this.socket.destroy();
    });
  }

  private writable(): boolean {
    return !this.closed && !this.socket.destroyed && this.socket.writable;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => {
      this.flushScheduled = false;
      this.flushSmall();
    });
  }

  private flushSmall(): void {
    if (this.smallBytes === 0) return;
    const chunks = this.small;
    const bytes = this.smallBytes;
    this.small = [];
    this.smallBytes = 0;
    if (!this.writable()) return;
    this.cork();
    this.socket.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes));
  }

  /** Hold this tick's writes and send them with one writev (Node's documented cork pattern). */
  private cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }
}

function remoteAddressOf(socket: net.Socket): Address {
  return { host: normalizeHost(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
}

/** '::ffff:1.2.3.4' (dual-stack sockets) -> '1.2.3.4'. */
function normalizeHost(host: string): string {
  return host.startsWith('::ffff:') && net.isIPv4(host.slice(7)) ? host.slice(7) : host;
}

export interface ConnectOptions {
  signal?: AbortSignal;
  /**
   * Read into the buffer shared by such sockets instead of a fresh one per read; the stream's
   * chunks are then valid only during its `onData` callbacks (`chunksReused`). Default false.
   */
  reuseReadBuffer?: boolean;
  timeoutMs?: number;
  /** Time source of the timeout. Default the system clock. */
  clock?: Clock;
}

/** Open a TCP connection to a peer. Rejects with TimeoutError, AbortError or the socket error. */
export function connectTcp(address: Address, options: ConnectOptions = {}): Promise<SocketStream> {
  const { signal } = options;
  const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS;
  if (signal?.aborted) return Promise.reject(new AbortError());
  if (!net.isIP(address.host)) {
    return Promise.reject(
      new InvalidArgumentError('ERR_INVALID_ADDRESS', `peer host must be an IP literal: ${address.host}`)
    );
  }
  return new Promise((resolve, reject) => {
    // `highWaterMark` reaches the socket's Duplex constructor (Node >= 18); @types/node omits it.
    const connectOptions: net.NetConnectOpts & { highWaterMark: number } = {
      host: address.host,
      port: address.port,
      highWaterMark: SOCKET_HIGH_WATER_MARK
    };
    let stream: SocketStream | undefined;
    if (options.reuseReadBuffer) {
      sharedReadBuffer ??= Buffer.allocUnsafe(SHARED_READ_BUFFER_SIZE);
      connectOptions.onread = {
        buffer: sharedReadBuffer,
        callback: (n, buf) => stream?.onRead(buf.subarray(0, n)) ?? false
      };
    }
    const socket = net.connect(connectOptions);
    const fail = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onError = (err: Error): void => fail(err);
    const onAbort = (): void => fail(new AbortError());
    const timer = (options.clock ?? systemClock).setTimeout(
      () => fail(new TimeoutError(`connect to ${address.host}:${address.port} timed out`)),
      timeoutMs
    );
    const cleanup = (): void => {
      timer.cancel();
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      cleanup();
      stream = new SocketStream(socket, [], options.reuseReadBuffer === true);
      resolve(stream);
    });
  });
}

export interface TcpServerOptions {
  /** IP literal to bind (default '0.0.0.0'). */
  host?: string;
  /** Port (0 = any free port). Default 0. */
  port?: number;
}

/**
 * An accepted connection, paused, before it becomes a stream: its owner reads the first bytes
 * (to route it), then either destroys it or calls `toStream` with the bytes read so far.
 */
export class IncomingSocket {
  constructor(private readonly socket: net.Socket) {
    // A socket error (ECONNRESET, EPIPE) is just the end of this connection.
    socket.on('error', () => {});
  }

  /** The remote address (host '' if the socket is already gone). */
  get remoteAddress(): Address {
    return remoteAddressOf(this.socket);
  }

  onData(cb: (chunk: Buffer) => void): void {
    this.socket.on('data', cb);
  }

  offData(cb: (chunk: Buffer) => void): void {
    this.socket.off('data', cb);
  }

  onceClose(cb: () => void): void {
    this.socket.once('close', cb);
  }

  offClose(cb: () => void): void {
    this.socket.off('close', cb);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** The connection as a stream; `initial` (bytes already read) is delivered first. */
  toStream(initial: Uint8Array[]): SocketStream {
    return new SocketStream(this.socket, initial);
  }
}

/** Kernel accept queue length asked for (Linux caps it at net.core.somaxconn, 4096 by default). */
const LISTEN_BACKLOG = 4096;

/** A listening TCP socket; every accepted connection goes to `onConnection`, paused. */
export class TcpServer {
  private constructor(private readonly server: net.Server) {}

  /** Bind and listen. Rejects if the address is in use. */
  static async listen(
    options: TcpServerOptions,
    onConnection: (socket: IncomingSocket) => void
  ): Promise<TcpServer> {
    const server = net.createServer({ highWaterMark: SOCKET_HIGH_WATER_MARK, pauseOnConnect: true });
    server.on('connection', (socket) => onConnection(new IncomingSocket(socket)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // A deep kernel accept queue: during a burst of connects (a slowloris opening thousands)
      // an honest SYN is queued instead of dropped and retried seconds later; the listener
      // sheds what it does not want once accepted.
      server.listen(
        { port: options.port ?? 0, host: options.host ?? '0.0.0.0', backlog: LISTEN_BACKLOG },
        () => {
          server.off('error', reject);
          resolve();
        }
      );
    });
    server.on('error', () => {}); // after listen, errors concern single connections
    return new TcpServer(server);
  }

  address(): Address {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new StateError('listener is closed');
    return { host: a.address, port: a.port };
  }

  /** Stop accepting; resolves when the server is closed (accepted connections stay open). */
  close(): Promise<void> {
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
