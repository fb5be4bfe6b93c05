/**
 * One BitTorrent peer connection over an abstract WireStream (no sockets): handshake in both
 * roles, choke/interest state both ways, typed events per message, BEP 6 and BEP 10 rules,
 * keep-alives and idle timeout on an injected Clock, byte counters.
 *
 * Protocol violations never throw into the stream callback: the wire emits 'error' with a
 * ProtocolError (code ERR_PROTOCOL) or TimeoutError (ERR_TIMEOUT), then closes ('close').
 * Calling a send method before the 'handshake' event is a programming error and throws.
 */
import { InvalidArgumentError, TimeoutError, TrackerlessError } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import { DEFAULT_REQQ } from './constants.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { ProtocolError, type ProtocolErrorReason } from './errors.js';
import { ExtensionRegistry, type ExtendedHandshake, type WireExtension } from './extensions.js';
import { WireFramer, type FrameItem } from './framer.js';
import { checkHandshakeHead, checkPeerId, checkWireOptions, localFlags } from './handshake-policy.js';
import { Liveness } from './liveness.js';
import { RequestBook } from './request-book.js';
import * as msg from './messages.js';
import type { Handshake, HandshakeHead, WireMessage } from './messages.js';
import type {
  OutgoingBlock,
  PeerWireEvents,
  PeerWireOptions,
  PieceMessage,
  WireRole,
  WireStats
} from './peer-wire-types.js';
import type { WireStream } from '../net/stream.js';
import { WireWriter } from './wire-writer.js';
import { CLIENT_NAME } from '../constants.js';

export type * from './peer-wire-types.js';

export class PeerWire extends TypedEmitter<PeerWireEvents> {
  readonly role: WireRole;
  private readonly counters: WireStats = {
    bytesSent: 0,
    bytesReceived: 0,
    payloadBytesSent: 0,
    payloadBytesReceived: 0
  };

  private readonly stream: WireStream;
  private readonly options: PeerWireOptions;
  private readonly clock: Clock;
  private readonly framer: WireFramer;
  private readonly writer: WireWriter;
  private readonly registry = new ExtensionRegistry();
  private readonly local: msg.HandshakeFlags;
  /** Our outstanding requests to the remote. */
  private readonly requests = new RequestBook();
  private _infoHash: Uint8Array | undefined;
  private head: HandshakeHead | undefined;
  private remote: Handshake | undefined;
  private handshakeSent = false;
  private extendedHandshakeSent = false;
  private _closed = false;
  private readonly liveness: Liveness;
  /** Connections start choked and not interested both ways (BEP 3). */
  private _amChoking = true;
  private _amInterested = false;
  private _peerChoking = true;
  private _peerInterested = false;

  constructor(stream: WireStream, options: PeerWireOptions) {
    super();
    checkWireOptions(options);
    this.role = options.role;
    this.stream = stream;
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.local = localFlags(options);
    this.framer = new WireFramer({ ...options, handshake: true, chunksReused: stream.chunksReused === true });
    this.writer = new WireWriter(
      stream,
      this.counters,
      () => this.liveness.sent(),
      () => this._closed
    );
    this.liveness = new Liveness({
      ...options,
      clock: this.clock,
      onKeepAlive: () => this.writer.write(msg.encodeKeepAlive()),
      onTimeout: (error) => this.failWith(error),
      // Carry buffers a quiet connection no longer needs (framer.ts): up to 2 x 32 KiB each.
      onCheck: () => this.framer.releaseIdle()
    });
    stream.onData((chunk) => this.onData(chunk));
    stream.onDrain(() => this.emit('drain'));
    stream.onClose(() => this.close());
    if (this.role === 'initiator') this.sendHandshake(options.infoHash!);
  }

  get closed(): boolean {
    return this._closed;
  }
  /** We choke the remote (it may not download from us). */
  get amChoking(): boolean {
    return this._amChoking;
  }
  get amInterested(): boolean {
    return this._amInterested;
  }
  /** The remote chokes us. */
  get peerChoking(): boolean {
    return this._peerChoking;
  }
  get peerInterested(): boolean {
    return this._peerInterested;
  }
  /** Both handshakes exchanged: messages may be sent. */
  get handshakeComplete(): boolean {
    return this.remote !== undefined && this.handshakeSent;
  }
  get infoHash(): Uint8Array | undefined {
    return this._infoHash;
  }
  get remoteHandshake(): Handshake | undefined {
    return this.remote;
  }
  /** Byte counters (live object, read-only for callers). */
  get stats(): Readonly<WireStats> {
    return this.counters;
  }
  /** BEP 6 negotiated (both sides set the bit). */
  get fastExtension(): boolean {
    return this.local.fast && (this.head?.fast ?? false);
  }
  /** BEP 10 negotiated (both sides set the bit). */
  get extensionProtocol(): boolean {
    return this.local.extended && (this.head?.extended ?? false);
  }
  get remoteExtendedHandshake(): ExtendedHandshake | undefined {
    return this.registry.remoteHandshake;
  }
  /** Requests we sent that have not been answered (or implicitly dropped by a choke). */
  get outstandingRequests(): number {
    return this.requests.size;
  }

  /** The piece count became known (metadata fetched): enables index and bitfield checks. */
  setPieceCount(pieceCount: number): void {
    this.framer.setPieceCount(pieceCount);
  }

  // ------------------------------------------------------------------------------ extensions

  /** Register a BEP 10 plugin. Re-sends our extension handshake if it already went out. */
  use(ext: WireExtension): void {
    this.registry.add(ext, {
      send: (payload) => this.sendExtension(ext.name, payload),
      fail: (message) => this.fail('bad-extension-message', `${ext.name}: ${message}`),
      updateHandshake: () => {
        if (this.extendedHandshakeSent && !this._closed) this.sendExtendedHandshake();
      },
      infoHash: () => this._infoHash,
      clock: this.clock
    });
    if (this.extendedHandshakeSent && !this._closed) this.sendExtendedHandshake();
  }

  /** Send a message of a registered-by-name extension; false if the remote lacks it. */
  sendExtension(name: string, payload: Uint8Array): boolean {
    const id = this.registry.remoteId(name);
    if (id === undefined) return false;
    return this.sendParts(msg.encodeExtendedHeader(id, payload.length), payload);
  }

  /** (Re)send our extension handshake, with optional extra top-level keys. */
  sendExtendedHandshake(extra: Record<string, unknown> = {}): boolean {
    this.requireHandshake();
    if (!this.extensionProtocol) return false;
    const local = this.options.extendedHandshake ?? { v: CLIENT_NAME, reqq: DEFAULT_REQQ };
    this.extendedHandshakeSent = true;
    const payload = this.registry.encodeHandshake(local, extra);
    return this.sendParts(msg.encodeExtendedHeader(0, payload.length), payload);
  }

  // ------------------------------------------------------------------------------ sending

  choke(): boolean {
    return this.setChoking(true);
  }
  unchoke(): boolean {
    return this.setChoking(false);
  }
  interested(): boolean {
    return this.setInterested(true);
  }
  uninterested(): boolean {
    return this.setInterested(false);
  }
  /**
   * Announce a piece. `withNextWrite`: the HAVE waits for the next message to this peer and goes
   * out in the same write (wire-writer.ts), for a peer whose interest it cannot change; it goes
   * at once if the peer then says it is not interested, when a keep-alive is due, or when enough
   * wait. Without it, one write now.
   */
  have(index: number, options?: { withNextWrite?: boolean }): boolean {
    const bytes = msg.encodeHave(index);
    if (!options?.withNextWrite) return this.send(bytes);
    this.requireHandshake();
    return this.writer.writeLater(bytes);
  }
  bitfield(bitfield: Uint8Array): boolean {
    return this.sendParts(msg.encodeBitfieldHeader(bitfield.length), bitfield);
  }
  /** Send a request and remember it until its piece/reject arrives (or a non-fast choke). */
  request(index: number, begin: number, length: number): boolean {
    const bytes = msg.encodeRequest({ index, begin, length });
    this.requireHandshake();
    if (this._closed) return false;
    this.requests.add(index, begin, length);
    return this.send(bytes);
  }
  /** Without BEP 6 the request is forgotten at once; with it, the peer still answers. */
  cancel(index: number, begin: number, length: number): boolean {
    const bytes = msg.encodeCancel({ index, begin, length });
    this.requests.cancelled(index, begin, this.fastExtension);
    return this.send(bytes);
  }
  /** Send a block without copying it (header and block as two writes, or one writev). */
  piece(index: number, begin: number, block: Uint8Array): boolean {
    const ok = this.sendParts(msg.encodePieceHeader(index, begin, block.length), block);
    if (!this._closed) this.counters.payloadBytesSent += block.length;
    return ok;
  }
  /**
   * Several blocks as one gathered write, without copying the blocks (see wire-writer.ts).
   * Returns false when the caller should wait for 'drain', like every send. `onWritten` is
   * called once the stream holds none of the blocks any more, if it can tell (a TCP socket).
   */
  pieces(blocks: readonly OutgoingBlock[], onWritten?: () => void): boolean {
    this.requireHandshake();
    return this.writer.writePieces(blocks, onWritten);
  }
  port(port: number): boolean {
    return this.send(msg.encodePort(port));
  }
  suggest(index: number): boolean {
    return this.sendFast(msg.encodeSuggest(index));
  }
  haveAll(): boolean {
    return this.sendFast(msg.encodeHaveAll());
  }
  haveNone(): boolean {
    return this.sendFast(msg.encodeHaveNone());
  }
  reject(index: number, begin: number, length: number): boolean {
    return this.sendFast(msg.encodeReject({ index, begin, length }));
  }
  allowedFast(index: number): boolean {
    return this.sendFast(msg.encodeAllowedFast(index));
  }

  /** Close the connection (idempotent). Emits 'close'. */
  close(reason?: TrackerlessError): void {
    if (this._closed) return;
    this._closed = true;
    this.liveness.stop();
    this.requests.clear();
    this.writer.discard();
    this.stream.close();
    this.registry.close();
    this.emit('close', reason);
  }

  // ------------------------------------------------------------------------------ internals

  private requireHandshake(): void {
    if (!this.handshakeComplete && !this._closed) {
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        'cannot send messages before the handshake completed'
      );
    }
  }

  /** State changes are sent only when the state changes. */
  private setChoking(choking: boolean): boolean {
    this.requireHandshake();
    if (this._amChoking === choking) return !this._closed;
    this._amChoking = choking;
    return this.send(choking ? msg.encodeChoke() : msg.encodeUnchoke());
  }

  private setInterested(interested: boolean): boolean {
    this.requireHandshake();
    if (this._amInterested === interested) return !this._closed;
    this._amInterested = interested;
    return this.send(interested ? msg.encodeInterested() : msg.encodeNotInterested());
  }

  private sendFast(bytes: Uint8Array): boolean {
    this.requireHandshake();
    if (!this.fastExtension && !this._closed) {
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'fast extension (BEP 6) not negotiated');
    }
    return this.writer.write(bytes);
  }

  private send(bytes: Uint8Array): boolean {
    this.requireHandshake();
    return this.writer.write(bytes);
  }

  private sendParts(header: Uint8Array, body: Uint8Array): boolean {
    this.requireHandshake();
    return this.writer.writeParts(header, body);
  }

  private sendHandshake(infoHash: Uint8Array): void {
    this._infoHash = infoHash;
    this.handshakeSent = true;
    this.writer.write(msg.encodeHandshake({ infoHash, peerId: this.options.peerId, ...this.local }));
  }

  private fail(reason: ProtocolErrorReason, message: string): void {
    this.failWith(new ProtocolError(reason, message));
  }

  private failWith(error: ProtocolError | TimeoutError): void {
    if (this._closed) return;
    this.emit('error', error);
    this.close(error);
  }

  private onData(chunk: Uint8Array): void {
    if (this._closed) return;
    this.counters.bytesReceived += chunk.length;
    this.liveness.received();
    const items = this.framer.feed(chunk);
    for (let i = 0; i < items.length && !this._closed; i++) this.onItem(items[i]!);
  }

  private onItem(item: FrameItem): void {
    switch (item.type) {
      case 'error':
        return this.failWith(item.error);
      case 'handshake_head':
        return this.onHandshakeHead(item.head);
      case 'handshake_peer_id':
        return this.onHandshakePeerId(item.peerId);
      default:
        return this.onMessage(item);
    }
  }

  private onHandshakeHead(head: HandshakeHead): void {
    this.head = head;
    const refused = checkHandshakeHead(this.options, head);
    if (this._closed) return; // acceptInfoHash may have closed us
    if (refused) return this.failWith(refused);
    if (this.role === 'responder') this.sendHandshake(head.infoHash);
  }

  private onHandshakePeerId(peerId: Uint8Array): void {
    const refused = checkPeerId(this.options, peerId);
    if (refused) return this.failWith(refused);
    this.remote = { ...this.head!, peerId };
    this.liveness.handshakeCompleted();
    // Handlers may send the bitfield / have_all here: it goes right after the handshake (BEP 6).
    this.emit('handshake', this.remote);
    if (this._closed) return;
    if (this.extensionProtocol && !this.extendedHandshakeSent) this.sendExtendedHandshake();
    if (this.options.dhtPort !== undefined && this.remote.dht && !this._closed)
      this.port(this.options.dhtPort);
  }

  private onMessage(m: WireMessage): void {
    switch (m.type) {
      case 'keep_alive':
        return this.emit('keep_alive');
      case 'choke':
        this._peerChoking = true;
        this.requests.choked(this.fastExtension);
        return this.emit('choke');
      case 'unchoke':
        this._peerChoking = false;
        return this.emit('unchoke');
      case 'interested':
        this._peerInterested = true;
        return this.emit('interested');
      case 'not_interested':
        this._peerInterested = false;
        // A HAVE held for the next write may be what makes the peer interested again.
        this.writer.flush();
        if (this._closed) return;
        return this.emit('not_interested');
      case 'have':
        return this.emit('have', m.index);
      // A later bitfield / have_all replaces what the peer announced (as libtorrent accepts):
      // aria2 sends a BITFIELD instead of HAVEs whenever it is the shorter message, and a
      // HAVE_ALL once it completes.
      case 'bitfield':
        return this.emit('bitfield', m.bitfield);
      case 'request':
        return this.emit('request', m);
      case 'piece':
        return this.onPiece(m);
      case 'cancel':
        return this.emit('cancel', m);
      case 'port':
        return this.emit('port', m.port);
      case 'extended':
        return this.onExtended(m.extId, m.payload);
      case 'unknown':
        return this.emit('unknown', m.id, m.payload);
    }
    // BEP 6 messages: the peer MUST close if the extension was not negotiated.
    if (!this.fastExtension) return this.fail('fast-not-negotiated', `received ${m.type}`);
    switch (m.type) {
      case 'suggest':
        return this.emit('suggest', m.index);
      case 'allowed_fast':
        return this.emit('allowed_fast', m.index);
      case 'have_all':
        return this.emit('have_all');
      case 'have_none':
        return this.emit('have_none');
      case 'reject':
        if (this.requests.settle(m.index, m.begin, m.length) !== 'ok') {
          return this.fail('unrequested-block', `reject for ${m.index}:${m.begin} never requested`);
        }
        return this.emit('reject', m);
    }
  }

  private onPiece(m: PieceMessage): void {
    const settled = this.requests.settle(m.index, m.begin, m.block.length);
    // BEP 6: an unrequested piece MUST close. Without it a late piece after choke/cancel is legal.
    if (settled === 'unrequested' && this.fastExtension)
      return this.fail('unrequested-block', `piece ${m.index}:${m.begin}`);
    if (settled === 'wrong-length')
      return this.fail('bad-block', `piece ${m.index}:${m.begin} of ${m.block.length} bytes`);
    this.counters.payloadBytesReceived += m.block.length;
    this.emit('piece', m);
  }

  private onExtended(extId: number, payload: Uint8Array): void {
    if (!this.extensionProtocol)
      return this.fail('extended-not-negotiated', 'extended message without BEP 10');
    if (extId === 0) {
      const hs = this.registry.receiveHandshake(payload);
      if (hs instanceof ProtocolError) return this.failWith(hs);
      if (!this._closed) this.emit('extended_handshake', hs);
      return;
    }
    if (!this.registry.dispatch(extId, payload)) this.emit('extended', extId, payload);
  }
}
