/**
 * TCP for the peer wire: the only module that imports node:net.
 *
 * - `SocketStream` adapts a net.Socket to the wire layer's `WireStream`: backpressure through
 *   write()'s return value and 'drain'. A tick's writes leave in one writev (cork, uncork on
 *   nextTick), and small messages (REQUEST/HAVE bursts) are concatenated first, so a burst of
 *   17-byte requests is one buffer rather than hundreds of iovecs.
 * - `connectTcp` dials out with a timeout and an AbortSignal.
 * - `TcpPeerListener` accepts incoming peers and routes each connection to the torrent named
 *   by its handshake: it reads the first 48 bytes (protocol string, reserved bits, infohash),
 *   picks the handler registered for that infohash, and hands it the stream with those bytes
 *   still to be read. Routing on bytes (rather than a shared PeerWire) keeps each engine free
 *   to choose its wire options (peer id, extensions) and lets custom engines share the port.
 *   A connection whose first bytes are not "\x13BitTorrent protocol" is Message Stream
 *   Encryption (lib/wire/mse.ts): the listener runs the responder, which names the torrent
 *   (SKEY) among the registered infohashes, and routes the decrypted stream.
 */
import net from 'node:net';
import { AbortError, InvalidArgumentError, TimeoutError } from '../errors.js';
import type { Address } from '../krpc/types.js';
import { toHex } from '../util/bytes.js';
import { HANDSHAKE_HEAD_LENGTH, PROTOCOL_STRING } from '../wire/constants.js';
import { decodeHandshakeHead } from '../wire/messages.js';
import { DEFAULT_ENCRYPTION, mseReq2, mseRespond, type EncryptionPolicy } from '../wire/mse.js';
import type { WireStream } from '../wire/stream.js';
import type { IncomingHandler, PeerListener } from './engine.js';

/**
 * Bytes a socket may queue before write() reports backpressure. Node's 16 KiB default would
 * stop a sender after every block; 1 MiB keeps a fast loopback stream busy between ticks.
 */
export const SOCKET_HIGH_WATER_MARK = 1024 * 1024;
/** Writes up to this size are coalesced per tick (headers, requests, HAVEs), bytes. */
const SMALL_WRITE = 1024;
/** Default time to establish an outgoing connection, ms. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** Time an incoming connection has to send the first 48 handshake bytes (or finish MSE), ms. */
export const INCOMING_HANDSHAKE_TIMEOUT_MS = 10_000;
/** The first 20 bytes of a plaintext handshake; anything else is taken for MSE. */
const PLAIN_START = Buffer.from(`\x13${PROTOCOL_STRING}`, 'latin1');
/** Incoming connections still waiting for their handshake head; more are refused. */
export const MAX_PENDING_INCOMING = 64;

export class SocketStream implements WireStream {
  private readonly socket: net.Socket;
  private initial: Buffer[];
  /** Small messages of this tick, sent as one buffer (REQUEST/HAVE bursts). */
  private small: Uint8Array[] = [];
  private smallBytes = 0;
  private flushScheduled = false;
  private corked = false;
  private closed = false;
  private readonly closeCbs: (() => void)[] = [];
  private dataStarted = false;

  /** `initial`: bytes already read from the socket (by the listener), delivered first. */
  constructor(socket: net.Socket, initial: Buffer[] = []) {
    this.socket = socket;
    this.initial = initial;
    socket.setNoDelay(true);
    // A socket error (ECONNRESET, EPIPE) is just the end of this connection.
    socket.on('error', () => {});
    socket.once('close', () => {
      this.closed = true;
      for (const cb of this.closeCbs.splice(0)) cb();
    });
  }

  get remoteAddress(): Address {
    return { host: normalizeHost(this.socket.remoteAddress ?? ''), port: this.socket.remotePort ?? 0 };
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
  writev(chunks: readonly Uint8Array[]): boolean {
    if (!this.writable()) return false;
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    let ok = true;
    if (bytes <= SMALL_WRITE) {
      for (const c of chunks) ok = this.write(c);
      return ok;
    }
    this.flushSmall();
    this.cork();
    for (const c of chunks) if (c.length > 0) ok = this.socket.write(c);
    return ok;
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    if (this.dataStarted) {
      this.socket.on('data', cb);
      return;
    }
    this.dataStarted = true;
    // Deliver the listener's bytes on a later turn: the wire's owner attaches its event
    // handlers right after constructing it, and must not miss the handshake.
    setImmediate(() => {
      if (this.closed) return;
      const initial = this.initial;
      this.initial = [];
      for (const chunk of initial) cb(chunk);
      this.socket.on('data', cb);
      this.socket.resume();
    });
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
    const timer = setTimeout(() => this.socket.destroy(), 5_000);
    timer.unref();
    this.socket.end(() => {
      clearTimeout(timer);
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

/** '::ffff:1.2.3.4' (dual-stack sockets) -> '1.2.3.4'. */
function normalizeHost(host: string): string {
  return host.startsWith('::ffff:') && net.isIPv4(host.slice(7)) ? host.slice(7) : host;
}

export interface ConnectOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
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
    const socket = net.connect(connectOptions);
    const fail = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onError = (err: Error): void => fail(err);
    const onAbort = (): void => fail(new AbortError());
    const timer = setTimeout(
      () => fail(new TimeoutError(`connect to ${address.host}:${address.port} timed out`)),
      timeoutMs
    );
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      cleanup();
      resolve(new SocketStream(socket));
    });
  });
}

export interface ListenOptions {
  /** IP literal to bind (default '0.0.0.0'). */
  host?: string;
  /** Port (0 = any free port). Default 0. */
  port?: number;
  /** Incoming encryption (MSE): which handshakes are accepted, what is selected. Default 'enabled'. */
  encryption?: EncryptionPolicy;
}

export interface ListenerStats {
  accepted: number;
  /** Of those, arrived with Message Stream Encryption. */
  encrypted: number;
  /** Closed before routing: bad handshake, unknown infohash, timeout, or over the cap. */
  refused: number;
}

/** Accepts peers on one TCP port for any number of torrents (routing by infohash). */
export class TcpPeerListener implements PeerListener {
  private readonly server: net.Server;
  private readonly handlers = new Map<string, IncomingHandler>();
  /** hex(HASH('req2', infohash)) -> infohash, to identify MSE connections. */
  private readonly skeys = new Map<string, Uint8Array>();
  private readonly pending = new Set<net.Socket>();
  private readonly encryption: EncryptionPolicy;
  private closed = false;
  readonly stats: ListenerStats = { accepted: 0, encrypted: 0, refused: 0 };

  private constructor(server: net.Server, encryption: EncryptionPolicy) {
    this.server = server;
    this.encryption = encryption;
    server.on('connection', (socket) => this.onConnection(socket));
  }

  /** Bind and listen. Rejects if the address is in use. */
  static async listen(options: ListenOptions = {}): Promise<TcpPeerListener> {
    const server = net.createServer({ highWaterMark: SOCKET_HIGH_WATER_MARK, pauseOnConnect: true });
    const listener = new TcpPeerListener(server, options.encryption ?? DEFAULT_ENCRYPTION);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => {}); // after listen, errors concern single connections
    return listener;
  }

  get port(): number {
    return this.address().port;
  }

  address(): Address {
    const a = this.server.address();
    if (a === null || typeof a === 'string')
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'listener is closed');
    return { host: a.address, port: a.port };
  }

  register(infoHash: Uint8Array, handler: IncomingHandler): () => void {
    const key = toHex(infoHash);
    if (this.handlers.has(key))
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `infohash ${key} is already registered`);
    this.handlers.set(key, handler);
    const req2 = toHex(mseReq2(infoHash));
    this.skeys.set(req2, Uint8Array.from(infoHash));
    return () => {
      if (this.handlers.get(key) !== handler) return;
      this.handlers.delete(key);
      this.skeys.delete(req2);
    };
  }

  /** Stop listening and close connections not yet routed. Routed ones belong to their engines. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.pending) s.destroy();
    this.pending.clear();
    this.handlers.clear();
    this.skeys.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: net.Socket): void {
    socket.on('error', () => {});
    if (this.closed || this.pending.size >= MAX_PENDING_INCOMING) {
      this.stats.refused++;
      socket.destroy();
      return;
    }
    this.pending.add(socket);
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const done = (): void => {
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      this.pending.delete(socket);
    };
    const refuse = (): void => {
      if (settled) return;
      done();
      this.stats.refused++;
      socket.destroy();
    };
    // Covers the MSE handshake too.
    const timer = setTimeout(refuse, INCOMING_HANDSHAKE_TIMEOUT_MS);
    timer.unref();
    const onClose = (): void => done();
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
      const first = chunks.length === 1 ? chunk : Buffer.concat(chunks, length);
      // "\x13BitTorrent protocol", or (any other first bytes) an MSE Ya.
      const n = Math.min(PLAIN_START.length, length);
      if (!first.subarray(0, n).equals(PLAIN_START.subarray(0, n))) {
        socket.off('data', onData);
        return this.encrypted(socket, chunks, done, refuse);
      }
      if (this.encryption === 'required' && n === PLAIN_START.length) return refuse();
      if (length < HANDSHAKE_HEAD_LENGTH) return;
      socket.pause();
      const head = decodeHandshakeHead(first);
      const handler = head ? this.handlers.get(toHex(head.infoHash)) : undefined;
      if (!handler) return refuse();
      done();
      this.stats.accepted++;
      const stream = new SocketStream(socket, chunks);
      handler(stream, stream.remoteAddress);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.resume();
  }

  /** Run the MSE responder on a connection whose first bytes are not a plaintext handshake. */
  private encrypted(socket: net.Socket, chunks: Buffer[], done: () => void, refuse: () => void): void {
    if (this.encryption === 'disabled') return refuse();
    socket.pause();
    const raw = new SocketStream(socket, chunks.splice(0));
    const remote = raw.remoteAddress;
    mseRespond(raw, {
      findSkey: (req2) => this.skeys.get(toHex(req2)),
      policy: this.encryption,
      timeoutMs: INCOMING_HANDSHAKE_TIMEOUT_MS
    }).then(
      ({ stream, infoHash }) => {
        const handler = this.handlers.get(toHex(infoHash));
        if (!handler || this.closed) return refuse();
        done();
        this.stats.accepted++;
        this.stats.encrypted++;
        handler(stream, remote);
      },
      () => refuse()
    );
  }
}
