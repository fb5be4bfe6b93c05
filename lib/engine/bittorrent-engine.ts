/**
 * The built-in PieceExchangeEngine: the BitTorrent peer wire (BEP 3) with the fast extension
 * (BEP 6), extension protocol (BEP 10), ut_metadata (BEP 9), ut_pex (BEP 11) and PORT (BEP 5).
 *
 * This file is the composition root and the event router; the policies live in their own
 * modules: PeerPool (who to dial), MetadataFetcher (the info dictionary), Downloader (what to
 * request, verification, bans), Uploader (choking, serving), storage-setup (resume). Each
 * peer is a PeerSession; wire events are routed here to those modules.
 */
import { AbortError, DestroyedError, TrackerlessError } from '../errors.js';
import { type Address, formatAddress } from '../net/address.js';
import { parseInfo, type TorrentInfo } from '../torrent/metainfo.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import type { WireStream } from '../net/stream.js';
import type { Downloader } from './download/downloader.js';
import { createExchange, transferCounts } from './exchange.js';
import { waitForState } from './engine-wait.js';
import type { EngineEvents, EngineProgress, PeerBan, PeerSource, PieceExchangeEngine } from './engine.js';
import { resolveOptions, type BitTorrentEngineOptions, type ResolvedOptions } from './engine-options.js';
import { MetadataFetcher } from './download/metadata-fetcher.js';
import { PeerPool } from './peers/peer-pool.js';
import { PeerSession } from './peers/peer-session.js';
import { bindSession, sendAvailability, sendPex } from './peers/session-router.js';
import { openStorage, ResumeWriter } from './storage/storage-setup.js';
import type { Storage } from './storage/storage.js';
import { TcpPeerListener } from './peers/tcp-peer-listener.js';
import { RateMeter } from '../util/rate-meter.js';
import type { Uploader } from './upload/uploader.js';
import type { TimerHandle } from '../util/clock.js';

export type { BitTorrentEngineOptions } from './engine-options.js';

type Phase = 'new' | 'running' | 'stopping' | 'stopped';

export class BitTorrentEngine extends TypedEmitter<EngineEvents> implements PieceExchangeEngine {
  readonly infoHash: Uint8Array;
  /** @internal shared with session-router.ts */
  readonly o: ResolvedOptions;
  /** @internal */ readonly sessions = new Set<PeerSession>();
  /** @internal */ readonly pool: PeerPool;
  /** @internal */ fetcher: MetadataFetcher | undefined;
  /** @internal */ downloader: Downloader | undefined;
  /** @internal */ uploader: Uploader | undefined;
  private _info: TorrentInfo | undefined;
  private storage: Storage | undefined;
  private storageOwned = false;
  private resumeWriter: ResumeWriter | undefined;
  private ownListener: TcpPeerListener | undefined;
  private unregister: (() => void) | undefined;
  private listenPort: number | undefined;
  private phase: Phase = 'new';
  private _complete = false;
  private fatalError: Error | undefined;
  private readonly lifetime = new AbortController();
  private tickTimer: TimerHandle | undefined;
  private lastResumeSave = 0;
  private readonly downMeter: RateMeter;
  private readonly upMeter: RateMeter;
  private stopped: Promise<void> | undefined;

  constructor(options: BitTorrentEngineOptions) {
    super();
    this.o = resolveOptions(options);
    this.infoHash = this.o.infoHash;
    this._info = this.o.info;
    this.downMeter = new RateMeter(this.o.clock, 5);
    this.upMeter = new RateMeter(this.o.clock, 5);
    this.pool = new PeerPool({
      connect: this.o.connect,
      clock: this.o.clock,
      maxConnections: this.o.maxConnections,
      maxHalfOpen: this.o.maxHalfOpen,
      connectTimeoutMs: this.o.connectTimeoutMs,
      maxCandidates: this.o.maxCandidates,
      connectionCount: () => this.sessions.size,
      wantsConnections: () => this.phase === 'running' && (!this._complete || this.o.seed),
      onConnect: (stream, address, source) => this.openSession(stream, 'initiator', address, source)
    });
  }

  get info(): TorrentInfo | undefined {
    return this._info;
  }
  get complete(): boolean {
    return this._complete;
  }
  get announcePort(): number | undefined {
    return this.listenPort;
  }
  /** Peers connected (handshake done). */
  get peerCount(): number {
    let n = 0;
    for (const s of this.sessions) if (s.connected) n++;
    return n;
  }

  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.phase !== 'new') throw new TrackerlessError('ERR_INVALID_ARGUMENT', 'engine already started');
    this.phase = 'running';
    const onAbort = (): void => void this.destroy();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (options.signal?.aborted) throw new AbortError();
      if (!this.o.listener && this.o.listen)
        this.ownListener = await TcpPeerListener.listen({
          encryption: this.o.encryption,
          clock: this.o.clock,
          ...this.o.listen
        });
      const listener = this.o.listener ?? this.ownListener;
      if (listener) {
        this.listenPort = listener.port;
        this.unregister = listener.register(this.infoHash, (stream, remote) =>
          this.acceptConnection(stream, remote)
        );
      }
      if (this._info) await this.prepare(this._info);
      else this.fetcher = this.createFetcher();
      this.armTick();
      this.pool.pump();
    } catch (err) {
      await this.destroy();
      throw err;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  addPeer(address: Address, source: PeerSource): void {
    if (this.phase === 'stopped' || this.phase === 'stopping') return;
    this.pool.add(address, source);
  }

  acceptConnection(stream: WireStream, remote: Address): void {
    const full = this.sessions.size >= this.o.maxConnections;
    if (this.phase !== 'running' || full || (this._complete && !this.o.seed)) return stream.close();
    this.openSession(stream, 'responder', remote, 'incoming');
  }

  wantsPeers(): boolean {
    return (
      this.phase === 'running' &&
      !this._complete &&
      this.sessions.size + this.pool.halfOpen < this.o.maxConnections
    );
  }

  progress(): EngineProgress {
    return {
      ...transferCounts(this._info, this.downloader, this.uploader),
      downRate: this.downMeter.rate(),
      upRate: this.upMeter.rate(),
      peers: this.peerCount,
      buffered: this.downloader?.inFlightBytes ?? 0
    };
  }

  metadata(options: { signal?: AbortSignal } = {}): Promise<TorrentInfo> {
    return this.waitFor('metadata', () => this._info, options.signal);
  }

  done(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.waitFor('done', () => (this._complete ? true : undefined), options.signal).then(() => {});
  }

  /** Change the caps at run time (bytes/s, 0 = unlimited). */
  setRateLimits(limits: { upload?: number; download?: number }): void {
    if (limits.upload !== undefined) {
      this.o.uploadLimit = limits.upload;
      this.uploader?.setUploadLimit(limits.upload);
    }
    if (limits.download !== undefined) {
      this.o.downloadLimit = limits.download;
      this.downloader?.setDownloadLimit(limits.download);
    }
  }

  /** Graceful (state saved); stop() and destroy() share one shutdown, later calls wait for it. */
  stop(): Promise<void> {
    return (this.stopped ??= this.close(true));
  }

  destroy(): Promise<void> {
    return (this.stopped ??= this.close(false));
  }

  // --- internal API for session-router.ts ------------------------------------------------------

  /** @internal Disconnect and ban a peer; it is not reconnected. */
  ban(s: PeerSession, reason: PeerBan['reason']): void {
    if (s.banned) return;
    s.banned = true;
    const address = s.listenAddress ?? s.address;
    this.pool.ban(address, s.peerId);
    this.emit('peer-banned', { address, reason, ...(s.peerId ? { peerId: s.peerId } : {}) });
    s.wire.close();
  }

  /** @internal */
  emitEvent<K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]): void {
    this.emit(event, ...args);
  }

  // --- lifecycle internals ---------------------------------------------------------------------

  private openSession(
    stream: WireStream,
    role: 'initiator' | 'responder',
    address: Address,
    source: PeerSource
  ): void {
    if (this.phase !== 'running') return stream.close();
    const info = this._info;
    const s = new PeerSession({
      stream,
      role,
      address,
      source,
      infoHash: this.infoHash,
      peerId: this.o.peerId,
      clock: this.o.clock,
      pex: this.o.pex && !(info?.private ?? false),
      uploadOnly: this._complete,
      maxMetadataSize: this.o.maxMetadataSize,
      ...(info ? { infoBytes: info.infoBytes, pieceCount: info.pieceCount } : {}),
      ...(this.listenPort !== undefined ? { listenPort: this.listenPort } : {}),
      ...(this.o.dhtPort !== undefined ? { dhtPort: this.o.dhtPort } : {}),
      ...(this.o.wire ? { wire: this.o.wire } : {})
    });
    this.sessions.add(s);
    if (role === 'initiator') this.pool.markLive(address);
    bindSession(this, s);
  }

  /** @internal A session closed (from session-router). */
  sessionClosed(s: PeerSession, retry: boolean): void {
    if (!this.sessions.delete(s)) return;
    this.downloader?.removePeer(s);
    this.uploader?.removePeer(s);
    this.fetcher?.removePeer(s);
    const address = s.listenAddress;
    const retryAfter = retry && !s.banned && this.phase === 'running' && !this._complete ? 60_000 : undefined;
    // A duplicate shares its address with the connection we kept: that one stays live.
    const key = address ? formatAddress(address) : undefined;
    const stillLive = [...this.sessions].some(
      (o) => o.listenAddress && formatAddress(o.listenAddress) === key
    );
    if (address && !stillLive) this.pool.markGone(address, retryAfter);
    this.pool.pump();
  }

  /** @internal The wire handshake is done and the torrent is ready: hook the peer into the policies. */
  attachPeer(s: PeerSession): void {
    const d = this.downloader;
    const u = this.uploader;
    if (!d || !u || !s.connected) return;
    d.addPeer(s);
    u.addPeer(s);
    sendAvailability(this, s);
  }

  private createFetcher(): MetadataFetcher {
    return new MetadataFetcher({
      infoHash: this.infoHash,
      maxSize: this.o.maxMetadataSize,
      clock: this.o.clock,
      onComplete: (bytes) => void this.onMetadata(bytes),
      onCorrupt: (peers) => {
        for (const s of peers) this.ban(s, 'corrupt-metadata');
      }
    });
  }

  private async onMetadata(infoBytes: Uint8Array): Promise<void> {
    let info: TorrentInfo;
    try {
      // The assembler has checked SHA-1 == infohash already: skip hashing the bytes again.
      info = parseInfo(infoBytes, { maxInfoBytes: this.o.maxMetadataSize }, this.infoHash);
    } catch (err) {
      return this.fatal(err as Error);
    }
    this._info = info;
    this.fetcher = undefined;
    for (const s of this.sessions) {
      s.wire.setPieceCount(info.pieceCount);
      s.utMetadata.setMetadata(info.infoBytes);
    }
    this.emit('metadata', info);
    try {
      await this.prepare(info);
    } catch (err) {
      if (this.phase === 'running') this.fatal(err as Error);
    }
  }

  /** Open the storage, learn what is there, then start exchanging pieces with every peer. */
  private async prepare(info: TorrentInfo): Promise<void> {
    const opened = await openStorage(info, {
      ...(this.o.outDir !== undefined ? { outDir: this.o.outDir } : {}),
      ...(this.o.storage !== undefined ? { storage: this.o.storage } : {}),
      existing: this.o.existing,
      resume: this.o.resume,
      ...(this.o.selectFiles ? { selectFiles: this.o.selectFiles } : {}),
      maxOpenFiles: this.o.maxOpenFiles,
      signal: this.lifetime.signal
    });
    if (this.phase !== 'running') {
      if (opened.owned) await opened.storage.close().catch(() => {});
      throw new DestroyedError('engine');
    }
    this.storage = opened.storage;
    this.storageOwned = opened.owned;
    if (this.o.outDir !== undefined && this.o.resume && !this.o.storage) {
      this.resumeWriter = new ResumeWriter(this.o.outDir, info, opened.storage, this.o.clock);
    }
    const { downloader, uploader } = createExchange(this.o, info, opened, {
      pieceStored: (index) => this.onPieceStored(index),
      ban: (s) => this.ban(s, 'corrupt-piece'),
      fatal: (err) => this.fatal(err),
      complete: () => void this.onComplete(),
      warn: (err) => this.emit('warning', err)
    });
    this.downloader = downloader;
    this.uploader = uploader;
    for (const s of this.sessions) this.attachPeer(s);
    if (downloader.complete) await this.onComplete();
  }

  private onPieceStored(index: number): void {
    const picker = this.downloader?.picker;
    // Seeds get HAVEs too: a seed in `distribute` mode ranks its requests by who holds what.
    for (const s of this.sessions)
      if (s.connected && (s.isSeed || !picker?.peerHas(s, index))) s.wire.have(index);
  }

  private async onComplete(): Promise<void> {
    if (this._complete || this.phase !== 'running') return;
    try {
      await this.storage?.flush();
      await this.resumeWriter?.save(this.downloader!.stored, true);
    } catch (err) {
      return this.fatal(err as Error);
    }
    if (this.phase !== 'running') return;
    this._complete = true;
    this.uploader?.setSeeding(true);
    // Two seeds have nothing to trade.
    for (const s of this.sessions) if (s.isSeed || this.downloader?.picker.peerHasAll(s)) s.wire.close();
    this.emit('progress', this.progress());
    this.emit('done');
    if (!this.o.seed) await this.stop();
  }

  private armTick(): void {
    this.tickTimer = this.o.clock.setTimeout(() => this.tick(), this.o.tickMs);
  }

  private tick(): void {
    if (this.phase !== 'running') return;
    const now = this.o.clock.now();
    this.downloader?.tick(now);
    this.uploader?.tick();
    this.fetcher?.tick(now);
    sendPex(this);
    this.pool.pump();
    // The meters' totals are what they were fed: feed them the growth since.
    this.downMeter.add((this.downloader?.receivedBytes ?? 0) - this.downMeter.total);
    this.upMeter.add((this.uploader?.uploadedBytes ?? 0) - this.upMeter.total);
    if (this.resumeWriter && !this._complete && now - this.lastResumeSave >= this.o.resumeIntervalMs) {
      this.lastResumeSave = now;
      this.resumeWriter.save(this.downloader!.stored).catch((err: Error) => this.emit('warning', err));
    }
    this.emit('progress', this.progress());
    this.armTick();
  }

  private fatal(err: Error): void {
    if (this.phase === 'stopped' || this.phase === 'stopping') return;
    this.fatalError = err;
    this.emit('error', err);
    void this.destroy();
  }

  private async close(graceful: boolean): Promise<void> {
    this.phase = 'stopping';
    this.lifetime.abort();
    this.tickTimer?.cancel();
    this.pool.close();
    this.unregister?.();
    this.fetcher?.finish();
    for (const s of [...this.sessions]) s.wire.close();
    this.uploader?.close();
    const d = this.downloader;
    try {
      if (graceful && d && this.storage) {
        await d.idle();
        await this.storage.flush();
        await this.resumeWriter?.save(d.stored);
      }
    } catch (err) {
      this.emit('warning', err as Error);
    }
    d?.close();
    if (this.storageOwned) await this.storage?.close().catch(() => {});
    await this.ownListener?.close();
    this.phase = 'stopped';
    this.emit('progress', this.progress());
  }

  private waitFor<T>(
    event: 'metadata' | 'done',
    value: () => T | undefined,
    signal?: AbortSignal
  ): Promise<T> {
    return waitForState(this, {
      event,
      value,
      stopped: () => this.phase === 'stopped' || this.phase === 'stopping',
      error: () => this.fatalError ?? new DestroyedError('engine'),
      ...(signal ? { signal } : {})
    });
  }
}
