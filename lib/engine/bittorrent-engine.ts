/**
 * The built-in PieceExchangeEngine: the BitTorrent peer wire (BEP 3) with the fast extension
 * (BEP 6), extension protocol (BEP 10), ut_metadata (BEP 9), ut_pex (BEP 11) and PORT (BEP 5).
 *
 * This class is the composition root and the torrent's lifecycle (start, metadata, storage,
 * completion, stop); the rest lives in its own modules: Peers (peers/: candidates,
 * connections, routing each peer's messages), MetadataFetcher (the info dictionary),
 * Downloader (what to request, verification, bans), Uploader (choking, serving),
 * storage-setup (storage and resume). Peers sees the torrent only through the TorrentContext
 * this class gives it.
 */
import { AbortError, DestroyedError, InvalidArgumentError, StateError } from '../errors.js';
import type { Address } from '../net/address.js';
import { parseInfo, type TorrentInfo } from '../torrent/metainfo.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import type { WireStream } from '../net/stream.js';
import type { Downloader } from './download/downloader.js';
import { createExchange, transferCounts } from './exchange.js';
import { waitForState } from './engine-wait.js';
import type { EngineEvents, EngineProgress, PeerSource, PieceExchangeEngine } from './engine.js';
import { resolveOptions, type BitTorrentEngineOptions, type ResolvedOptions } from './engine-options.js';
import { MetadataFetcher } from './download/metadata-fetcher.js';
import { Peers, type PeerStatus, type RandomWalkStats } from './peers/peers.js';
import { walkOptions } from './peers/random-walk.js';
import type { TorrentContext } from './peers/torrent-context.js';
import type { HolepunchStats } from './peers/holepunching.js';
import type { ReadonlyBitfield } from './bitfield.js';
import { openStorage, ResumeWriter } from './storage/storage-setup.js';
import type { Storage } from './storage/storage.js';
import { TcpPeerListener } from './peers/tcp-peer-listener.js';
import { RateMeter } from '../util/rate-meter.js';
import type { Uploader } from './upload/uploader.js';
import type { TimerHandle } from '../util/clock.js';
import { RateLimiter } from '../util/rate-limiter.js';
import { BLOCK_SIZE } from '../wire/constants.js';
import { PieceDemand, type ReadHead } from './download/demand.js';
import type { FilePriority } from './storage/file-selection.js';

type Phase = 'new' | 'running' | 'stopping' | 'stopped';

export class BitTorrentEngine extends TypedEmitter<EngineEvents> implements PieceExchangeEngine {
  readonly infoHash: Uint8Array;
  private readonly o: ResolvedOptions;
  private readonly peers: Peers;
  private fetcher: MetadataFetcher | undefined;
  private downloader: Downloader | undefined;
  private uploader: Uploader | undefined;
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
  /** This torrent's caps, under the shared ones (a Client's); kept across the exchange's creation. */
  private readonly limits: { upload: RateLimiter; download: RateLimiter };
  private stopped: Promise<void> | undefined;
  private readonly demand: PieceDemand;
  private completing = false;

  constructor(options: BitTorrentEngineOptions) {
    super();
    this.o = resolveOptions(options);
    this.infoHash = this.o.infoHash;
    this._info = this.o.info;
    this.demand = new PieceDemand({
      ...(this.o.selectFiles ? { selectFiles: this.o.selectFiles } : {}),
      sequential: this.o.sequential,
      readaheadBytes: this.o.readaheadBytes
    });
    if (this._info) this.demand.setLayout(this._info);
    this.downMeter = new RateMeter(this.o.clock, 5);
    this.upMeter = new RateMeter(this.o.clock, 5);
    const cap = (rate: number, parent: RateLimiter | undefined): RateLimiter =>
      new RateLimiter({
        rate,
        minBurst: 2 * BLOCK_SIZE,
        clock: this.o.clock,
        ...(parent ? { parent } : {})
      });
    this.limits = {
      upload: cap(this.o.uploadLimit, this.o.sharedLimits?.upload),
      download: cap(this.o.downloadLimit, this.o.sharedLimits?.download)
    };
    const context: TorrentContext = {
      infoHash: this.infoHash,
      clock: this.o.clock,
      wantsConnections: () => this.phase === 'running' && (!this._complete || this.o.seed),
      info: () => this._info,
      complete: () => this._complete,
      listenPort: () => this.listenPort,
      fetcher: () => this.fetcher,
      exchange: () =>
        this.downloader && this.uploader
          ? { downloader: this.downloader, uploader: this.uploader }
          : undefined,
      emit: (event, ...args) => this.emit(event, ...args)
    };
    this.peers = new Peers(context, {
      peerId: this.o.peerId,
      connect: this.o.connect,
      maxConnections: this.o.maxConnections,
      maxHalfOpen: this.o.maxHalfOpen,
      connectTimeoutMs: this.o.connectTimeoutMs,
      maxCandidates: this.o.maxCandidates,
      protocolBanMs: this.o.protocolBanMs,
      maxMetadataSize: this.o.maxMetadataSize,
      pex: this.o.pex,
      ...walkOptions(this.o.randomWalk),
      random: this.o.random,
      ...(this.o.sharedLimits?.connections ? { sharedConnections: this.o.sharedLimits.connections } : {}),
      holepunch: this.o.utp !== undefined,
      ...(this.o.dhtPort !== undefined ? { dhtPort: this.o.dhtPort } : {}),
      ...(this.o.wire ? { wire: this.o.wire } : {})
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
    return this.peers.connectedCount;
  }

  /** The connected peers: choke and interest states, rates, requests. */
  peerStatus(): PeerStatus[] {
    return this.peers.status();
  }

  /** BEP 55 holepunching counters (relayed, asked, dialed on a relay's connect). */
  get holepunchStats(): Readonly<HolepunchStats> {
    return this.peers.holepunchStats;
  }

  /** What the random-walk sampler did (connections added and moved). */
  get randomWalkStats(): Readonly<RandomWalkStats> {
    return this.peers.walkStats;
  }

  /**
   * The pieces verified and stored, a live read-only view (clone() it to keep a snapshot);
   * undefined until the storage is open. A view, not a copy: file progress reads it on every
   * progress tick, for every file.
   */
  storedPieces(): ReadonlyBitfield | undefined {
    return this.downloader?.stored;
  }

  // --- streaming and priorities ----------------------------------------------------------------

  /** Is piece `index` verified and stored (readable)? */
  hasPiece(index: number): boolean {
    return this.downloader?.stored.get(index) ?? false;
  }

  /**
   * Bytes [offset, offset + length) of a verified, stored piece. Rejects with StateError for a
   * piece that is not (unverified bytes are never handed out).
   */
  async readPiece(index: number, offset: number, length: number): Promise<Uint8Array> {
    if (!this.storage || !this.hasPiece(index)) throw new StateError(`piece ${index} is not verified`);
    return this.storage.readBlock(index, offset, length);
  }

  /** Resolves once piece `index` is verified and stored; rejects on abort, stop or a fatal error. */
  waitForPiece(index: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.waitFor('piece', () => (this.hasPiece(index) ? true : undefined), options.signal).then(
      () => {}
    );
  }

  /** Each file's priority, in torrent order (empty before the metadata is known). */
  filePriorities(): FilePriority[] {
    return this.demand.filePriorities();
  }

  /**
   * 'skip' downloads none of the file (beyond pieces it shares with wanted files), 'high'
   * starts its pieces before the others'. Changeable while running: a finished torrent with
   * more wanted resumes downloading (and emits 'done' again). Throws StateError before the
   * metadata is known, InvalidArgumentError for a bad index or priority.
   */
  setFilePriority(index: number, priority: FilePriority): void {
    this.demand.setFilePriority(index, priority);
  }

  /** Sequential mode: new pieces lowest index first. */
  setSequential(on: boolean): void {
    this.demand.setSequential(on);
  }

  /** A reader's position: its bytes get deadlines (see demand.ts). Needs the metadata. */
  addReadHead(): ReadHead {
    return this.demand.addReadHead();
  }

  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.phase !== 'new') throw new StateError('engine already started');
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
      this.peers.pump();
    } catch (err) {
      await this.destroy();
      throw err;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  addPeer(address: Address, source: PeerSource): void {
    if (this.phase === 'stopped' || this.phase === 'stopping') return;
    this.peers.add(address, source);
  }

  acceptConnection(stream: WireStream, remote: Address): void {
    this.peers.accept(stream, remote);
  }

  wantsPeers(): boolean {
    return this.phase === 'running' && !this._complete && this.peers.hasRoom();
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
    if (limits.upload !== undefined) this.limits.upload.setRate(checkRate('upload', limits.upload));
    if (limits.download !== undefined) this.limits.download.setRate(checkRate('download', limits.download));
  }

  /** The caps in force, bytes/s (0 = unlimited). */
  rateLimits(): { upload: number; download: number } {
    return { upload: this.limits.upload.rate, download: this.limits.download.rate };
  }

  /** Graceful (state saved); stop() and destroy() share one shutdown, later calls wait for it. */
  stop(): Promise<void> {
    return (this.stopped ??= this.close(true));
  }

  destroy(): Promise<void> {
    return (this.stopped ??= this.close(false));
  }

  // --- lifecycle internals ---------------------------------------------------------------------

  private createFetcher(): MetadataFetcher {
    return new MetadataFetcher({
      infoHash: this.infoHash,
      maxSize: this.o.maxMetadataSize,
      clock: this.o.clock,
      onComplete: (bytes) => void this.onMetadata(bytes),
      onCorrupt: (peers) => {
        for (const s of peers) this.peers.ban(s, 'corrupt-metadata');
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
    this.demand.setLayout(info);
    this.fetcher = undefined;
    this.peers.metadataKnown(info);
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
    const { downloader, uploader } = createExchange(this.o, info, opened, this.limits, {
      pieceStored: (index) => this.onPieceStored(index),
      ban: (s) => this.peers.ban(s, 'corrupt-piece'),
      fatal: (err) => this.fatal(err),
      complete: () => void this.onComplete(),
      warn: (err) => this.emit('warning', err)
    });
    // Before the downloader is ours: the initial state is no completion change.
    this.demand.attach({
      setWanted: (wanted) => {
        downloader.setWanted(wanted);
        this.completionChanged();
      },
      setHigh: (high) => downloader.setHigh(high),
      setSequential: (on) => downloader.setSequential(on),
      setDeadlines: (pieces) => downloader.setDeadlines(pieces)
    });
    this.downloader = downloader;
    this.uploader = uploader;
    this.peers.attachAll();
    if (downloader.complete) await this.onComplete();
  }

  private onPieceStored(index: number): void {
    this.peers.announcePiece(index);
    this.emit('piece', index);
  }

  /** The wanted set changed: done now, or more to download after being done. */
  private completionChanged(): void {
    const d = this.downloader;
    if (!d || this.phase !== 'running') return;
    if (d.complete && !this._complete) void this.onComplete();
    else if (!d.complete && this._complete) {
      this._complete = false;
      this.uploader?.setSeeding(false);
      this.emit('progress', this.progress());
    }
  }

  private async onComplete(): Promise<void> {
    if (this._complete || this.completing || this.phase !== 'running') return;
    this.completing = true;
    try {
      await this.finishDownload();
    } finally {
      this.completing = false;
    }
  }

  private async finishDownload(): Promise<void> {
    try {
      await this.storage?.flush();
      await this.resumeWriter?.save(this.downloader!.stored, true);
    } catch (err) {
      return this.fatal(err as Error);
    }
    if (this.phase !== 'running') return;
    this._complete = true;
    this.uploader?.setSeeding(true);
    this.peers.closeSeeds();
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
    this.peers.tick(now);
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
    this.demand.detach();
    this.lifetime.abort();
    this.tickTimer?.cancel();
    this.unregister?.();
    this.fetcher?.finish();
    this.peers.close();
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
    event: 'metadata' | 'done' | 'piece',
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

function checkRate(name: string, rate: number): number {
  if (!(typeof rate === 'number' && rate >= 0) || Number.isNaN(rate))
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `${name} limit must be a number >= 0, got ${rate}`
    );
  return rate;
}
