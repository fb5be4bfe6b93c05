/**
 * A torrent of a Client: the handle an app keeps (`client.add` returns it). It lives across
 * pauses: a running torrent has a Swarm over the client's DHT node and listener; pausing
 * stops that Swarm gracefully (every peer disconnected, resume state saved, like libtorrent's
 * pause), resuming starts a new one from the saved state, with the metadata already known.
 * Its caps (RateLimiters under the client's global ones) outlive the swarms.
 *
 * Operations on one torrent (start, pause, resume, remove) run one after another, in call
 * order, so a resume issued during a pause waits for the pause to finish.
 */
import type { BitTorrentEngine } from '../engine/bittorrent-engine.js';
import type { Bitfield } from '../engine/bitfield.js';
import type { EngineProgress } from '../engine/engine.js';
import type { ExistingData } from '../engine/storage/storage-setup.js';
import type { Address } from '../net/address.js';
import { waitForState } from '../engine/engine-wait.js';
import { DestroyedError, InvalidArgumentError, StateError } from '../errors.js';
import { toMagnet, type Magnet } from '../magnet/magnet.js';
import type { Swarm, SwarmEvents, SwarmListeners } from '../swarm/swarm.js';
import type { TorrentInfo } from '../torrent/metainfo.js';
import { toHex } from '../util/bytes.js';
import type { RateLimiter } from '../util/rate-limiter.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { torrentFiles, type FileSource, type TorrentFile } from '../stream/torrent-file.js';
import { checkPriority, type FilePriority } from '../engine/storage/file-selection.js';
import { checkRates } from './client-options.js';

export type TorrentState =
  /** Running, fetching the metadata from peers. */
  | 'metadata'
  | 'downloading'
  /** Complete and uploading. */
  | 'seeding'
  /** Complete, not seeding: nothing runs. */
  | 'done'
  | 'paused'
  /** A fatal error stopped it (see `error`); `resume()` tries again. */
  | 'error'
  | 'removed';

export type TorrentEvents = SwarmEvents & {
  /** Verified bytes of a file changed (emitted only while someone listens). */
  'file-progress': [file: TorrentFile];
  paused: [];
  resumed: [];
};

/** What a torrent needs from its client: a Swarm for it, over the shared DHT and listener. */
export interface TorrentHost {
  startSwarm(torrent: ClientTorrent, run: SwarmRun, signal?: AbortSignal): Promise<Swarm>;
  /** Something the session keeps changed (paused, resumed, limits, file priorities). */
  changed(torrent: ClientTorrent): void;
  /** Someone listens to the client's 'file-progress'. */
  wantsFileProgress(): boolean;
  fileProgress(torrent: ClientTorrent, file: TorrentFile): void;
}

/** What each swarm of a torrent is given: its listeners and the torrent's caps. */
export interface SwarmRun {
  listeners: SwarmListeners;
  limits: { upload: RateLimiter; download: RateLimiter };
}

export interface ClientTorrentInit {
  infoHash: Uint8Array;
  info?: TorrentInfo;
  magnet?: Magnet;
  outDir: string;
  seed: boolean;
  selectFiles?: number[];
  limits: { upload: RateLimiter; download: RateLimiter };
  addedAt: number;
  /** What to assume about data already in outDir (the engine's `existing`). */
  existing?: ExistingData;
  /** DHT nodes its .torrent file named (BEP 5), handed to the DHT node at start. */
  nodes?: Address[];
  /** File priorities set before (a restored session): applied to every engine that runs it. */
  priorities?: ReadonlyArray<readonly [number, FilePriority]>;
}

export class ClientTorrent extends TypedEmitter<TorrentEvents> {
  readonly infoHash: Uint8Array;
  /** The hex infohash: the torrent's id in its client. */
  readonly id: string;
  readonly outDir: string;
  readonly seed: boolean;
  readonly selectFiles: number[] | undefined;
  readonly addedAt: number;
  /** The magnet link it was added with (hints), if any. */
  readonly magnet: Magnet | undefined;
  readonly existing: ExistingData | undefined;
  readonly nodes: readonly Address[];
  private readonly host: TorrentHost;
  private readonly limits: { upload: RateLimiter; download: RateLimiter };
  private _info: TorrentInfo | undefined;
  private _files: TorrentFile[] = [];
  private _swarm: Swarm | undefined;
  private _engine: BitTorrentEngine | undefined;
  private _paused = false;
  private _complete = false;
  private _error: Error | undefined;
  private removed = false;
  private lastProgress: EngineProgress;
  /** Stored pieces when no engine runs (paused, done): the last engine's. */
  private lastStored: Bitfield | undefined;
  private fileBytes: number[] = [];
  /** Priorities set on the files: applied to every engine that runs this torrent. */
  private readonly priorities = new Map<number, FilePriority>();
  private ops: Promise<unknown> = Promise.resolve();

  constructor(init: ClientTorrentInit, host: TorrentHost) {
    super();
    this.infoHash = init.infoHash;
    this.id = toHex(init.infoHash);
    this.outDir = init.outDir;
    this.seed = init.seed;
    this.selectFiles = init.selectFiles;
    this.addedAt = init.addedAt;
    this.magnet = init.magnet;
    this.existing = init.existing;
    this.nodes = init.nodes ?? [];
    this.limits = init.limits;
    for (const [index, priority] of init.priorities ?? []) this.priorities.set(index, priority);
    this.host = host;
    this.lastProgress = emptyProgress();
    if (init.info) this.learn(init.info);
  }

  get info(): TorrentInfo | undefined {
    return this._info;
  }

  get name(): string | undefined {
    return this._info?.name ?? this.magnet?.name;
  }

  /** The files (empty until the metadata is known), in torrent order. */
  get files(): readonly TorrentFile[] {
    return this._files;
  }

  /** The running Swarm (undefined while paused, done without seeding, or failed). */
  get swarm(): Swarm | undefined {
    return this._swarm;
  }

  /** The running engine, for per-file reads and priorities (undefined when nothing runs). */
  get engine(): BitTorrentEngine | undefined {
    return this._engine;
  }

  get paused(): boolean {
    return this._paused;
  }

  get complete(): boolean {
    return this._complete;
  }

  /** The fatal error that stopped it, if any. */
  get error(): Error | undefined {
    return this._error;
  }

  get state(): TorrentState {
    if (this.removed) return 'removed';
    if (this._paused) return 'paused';
    if (this._error) return 'error';
    if (this._complete) return this._swarm ? 'seeding' : 'done';
    return this._info ? 'downloading' : 'metadata';
  }

  /** This torrent's caps, bytes/s (0 = unlimited); the client's global caps apply as well. */
  /** The priorities set on the files (file index, priority), what the session saves. */
  get filePriorities(): Array<[number, FilePriority]> {
    return [...this.priorities].sort((a, b) => a[0] - b[0]);
  }

  get rateLimits(): { uploadLimit: number; downloadLimit: number } {
    return { uploadLimit: this.limits.upload.rate, downloadLimit: this.limits.download.rate };
  }

  /** Change this torrent's caps at once (bytes/s, 0 = unlimited). */
  setLimits(limits: { uploadLimit?: number; downloadLimit?: number }): void {
    checkRates(limits);
    if (limits.uploadLimit !== undefined) this.limits.upload.setRate(limits.uploadLimit);
    if (limits.downloadLimit !== undefined) this.limits.download.setRate(limits.downloadLimit);
    this.host.changed(this);
  }

  progress(): EngineProgress {
    return this._swarm?.progress() ?? this.lastProgress;
  }

  /** A magnet link for this torrent (its name, `so=` if it selects files). */
  magnetLink(): string {
    const name = this.name;
    return toMagnet({
      infoHash: this.infoHash,
      peers: this.magnet?.peers ?? [],
      ...(name !== undefined ? { name } : {}),
      ...(this.selectFiles ? { selectOnly: this.selectFiles } : {})
    });
  }

  /** Resolves with the metadata (at once if known); rejects on abort, removal or a fatal error. */
  metadata(options: { signal?: AbortSignal } = {}): Promise<TorrentInfo> {
    return this.wait('metadata', () => this._info, options.signal);
  }

  /**
   * Resolves once every wanted piece is verified and stored (at once if so), across pauses;
   * rejects on abort, removal or a fatal error.
   */
  done(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.wait('done', () => (this._complete ? true : undefined), options.signal).then(() => {});
  }

  /** Disconnect every peer and stop (resume state saved). Resolves once stopped. */
  pause(): Promise<void> {
    return this.queue(async () => {
      if (this.removed || this._paused) return;
      this._paused = true;
      await this.stopSwarm(true);
      this.host.changed(this);
      this.emit('paused');
    });
  }

  /** Start again after pause() (or after a fatal error). Resolves once running. */
  resume(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.queue(async () => {
      if (this.removed || (!this._paused && !this._error)) return;
      this._paused = false;
      this._error = undefined;
      this.host.changed(this);
      await this.runSwarm(options.signal);
      this.emit('resumed');
    });
  }

  // --- for the client --------------------------------------------------------------------------

  /** Start (the client calls this once after adding, unless added paused). */
  start(signal?: AbortSignal): Promise<void> {
    return this.queue(() => this.runSwarm(signal));
  }

  /** Mark paused without running (restored paused from a saved session). */
  markPaused(): void {
    this._paused = true;
  }

  /** Stop for good: removal (graceful) or client destroy. Later operations do nothing. */
  close(graceful = true): Promise<void> {
    return this.queue(async () => {
      if (this.removed) return;
      this.removed = true;
      await this.stopSwarm(graceful);
      // Waiters on done()/metadata() see the last 'progress' and that it stopped.
      this.emit('progress', this.lastProgress);
    });
  }

  // --- internals -------------------------------------------------------------------------------

  private queue<T>(op: () => Promise<T>): Promise<T> {
    const next = this.ops.then(op, op);
    this.ops = next.catch(() => {});
    return next;
  }

  private async runSwarm(signal?: AbortSignal): Promise<void> {
    if (this.removed || this._paused || this._swarm || (this._complete && !this.seed)) return;
    let swarm: Swarm;
    try {
      swarm = await this.host.startSwarm(
        this,
        { listeners: this.swarmListeners(), limits: this.limits },
        signal
      );
    } catch (err) {
      this._error = err as Error;
      throw err;
    }
    if (this.removed || this._paused) {
      await swarm.stop();
      return;
    }
    this._swarm = swarm;
    this._engine = swarm.engine as BitTorrentEngine;
    this.applyPriorities(this._engine);
    // Done (without seeding) or failed while starting: the swarm is stopping itself.
    if ((this._complete && !this.seed) || this._error) this.detachWhenStopped(swarm);
  }

  private async stopSwarm(graceful: boolean): Promise<void> {
    const swarm = this._swarm;
    if (!swarm) return;
    if (graceful) await swarm.stop();
    else await swarm.destroy();
    this.detach(swarm);
  }

  /** The swarm stopped (ours, or by itself: done without seeding, or a fatal error). */
  private detach(swarm: Swarm): void {
    if (this._swarm !== swarm) return;
    this.lastStored = this._engine?.storedPieces()?.clone() ?? this.lastStored;
    this.lastProgress = { ...swarm.progress(), downRate: 0, upRate: 0, peers: 0 };
    this._swarm = undefined;
    this._engine = undefined;
  }

  /** Listeners of each swarm, attached before it starts (a complete torrent is done at once). */
  private swarmListeners(): SwarmListeners {
    const forward = <K extends keyof SwarmEvents>(event: K) => {
      return (...args: SwarmEvents[K]): void => {
        if (!this.removed) (this.emit as (e: K, ...a: SwarmEvents[K]) => void)(event, ...args);
      };
    };
    return {
      peer: forward('peer'),
      announced: forward('announced'),
      joined: forward('joined'),
      'peer-banned': forward('peer-banned'),
      'dht-node': forward('dht-node'),
      warning: forward('warning'),
      metadata: (info) => {
        this.learn(info);
        forward('metadata')(info);
      },
      progress: (p) => {
        this.lastProgress = p;
        if (!this.removed) {
          this.emit('progress', p);
          this.reportFiles();
        }
      },
      done: () => {
        this._complete = true;
        this.reportFiles();
        forward('done')();
        // Without seeding the swarm stops itself now.
        if (!this.seed && this._swarm) this.detachWhenStopped(this._swarm);
      },
      error: (err) => {
        this._error = err;
        const swarm = this._swarm;
        if (swarm) this.detachWhenStopped(swarm);
        forward('error')(err);
      }
    };
  }

  private detachWhenStopped(swarm: Swarm): void {
    void swarm.stop().then(() => this.detach(swarm));
  }

  private learn(info: TorrentInfo): void {
    if (this._info) return;
    this._info = info;
    this._files = torrentFiles(this.fileSource(), info);
    this.fileBytes = this._files.map(() => 0);
  }

  /**
   * What the files read through: the engine running now (reads, priorities), so a file object
   * outlives pauses; reading or prioritising while nothing runs is a StateError.
   */
  private fileSource(): FileSource {
    const engine = (): BitTorrentEngine => {
      if (!this._engine) throw new StateError(`torrent ${this.id} is not running (paused, done or failed)`);
      return this._engine;
    };
    return {
      waitForPiece: (index, options) => engine().waitForPiece(index, options),
      readPiece: (index, offset, length) => engine().readPiece(index, offset, length),
      addReadHead: () => engine().addReadHead(),
      filePriorities: () => this._engine?.filePriorities() ?? this.savedPriorities(),
      setFilePriority: (index, priority) => {
        // A running engine validates both; otherwise they are checked here.
        if (this._engine) this._engine.setFilePriority(index, priority);
        else {
          checkPriority(priority);
          if (!this._info?.files[index])
            throw new InvalidArgumentError('ERR_INVALID_SELECTION', `no file ${index} in the torrent`);
        }
        this.priorities.set(index, priority);
        this.host.changed(this);
      },
      storedPieces: () => this._engine?.storedPieces() ?? this.lastStored
    };
  }

  /** The priorities while no engine runs: the selection, then what was set on the files. */
  private savedPriorities(): FilePriority[] {
    const selected = this.selectFiles ? new Set(this.selectFiles) : undefined;
    return (this._info?.files ?? []).map(
      (_, i) => this.priorities.get(i) ?? (!selected || selected.has(i) ? 'normal' : 'skip')
    );
  }

  /** A new engine starts from the selection: give it the priorities set on the files since. */
  private applyPriorities(engine: BitTorrentEngine): void {
    if (this.priorities.size === 0) return;
    const apply = (): void => {
      // Saved indices are checked against the files here: a session file is input too.
      const files = engine.info?.files.length ?? 0;
      for (const [index, priority] of this.priorities)
        if (index < files) engine.setFilePriority(index, priority);
    };
    if (engine.info) apply();
    else engine.once('metadata', apply);
  }

  /** 'file-progress' for files whose verified bytes changed (only when someone listens). */
  private reportFiles(): void {
    const host = this.host.wantsFileProgress();
    if (this.listenerCount('file-progress') === 0 && !host) return;
    const have = this._engine?.storedPieces();
    if (!have || !this._info) return;
    for (const f of this._files) {
      const bytes = f.verifiedBytesIn(have);
      if (bytes === this.fileBytes[f.index]) continue;
      this.fileBytes[f.index] = bytes;
      this.emit('file-progress', f);
      if (host) this.host.fileProgress(this, f);
    }
  }

  private wait<T>(event: 'metadata' | 'done', value: () => T | undefined, signal?: AbortSignal): Promise<T> {
    return waitForState(this, {
      event,
      value,
      stopped: () => this.removed || this._error !== undefined,
      error: () => this._error ?? new DestroyedError(`torrent ${this.id}`),
      ...(signal ? { signal } : {})
    });
  }
}

function emptyProgress(): EngineProgress {
  return {
    downloaded: 0,
    uploaded: 0,
    verifiedPieces: 0,
    totalPieces: 0,
    verifiedBytes: 0,
    totalBytes: 0,
    downRate: 0,
    upRate: 0,
    peers: 0
  };
}
