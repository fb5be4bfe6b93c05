/**
 * A Swarm: magnet (or torrent) -> peer sources (DHT lookups and announces, x.pe hints, BEP 14
 * local discovery, PEX via the engine) -> piece-exchange engine -> storage. The composition root of a download or a
 * seed; it owns what it created (DHT node, TCP listener, engine) and releases them on stop.
 *
 *   const swarm = await Swarm.create({ magnet, outDir: 'downloads', bootstrap: ['127.0.0.1:6881'] });
 *   swarm.on('progress', (p) => console.log(p.verifiedPieces, '/', p.totalPieces));
 *   await swarm.done();
 *
 * Any engine fits (`engine: (ctx) => myEngine`): the swarm only uses the PieceExchangeEngine
 * interface. Trackers (`tr=`) are not used.
 */
import { DHT } from '../dht/dht.js';
import type { DhtOptions } from '../dht/options.js';
import { AbortError, InvalidArgumentError } from '../errors.js';
import { BitTorrentEngine } from '../engine/bittorrent-engine.js';
import { type BitTorrentEngineOptions } from '../engine/engine-options.js';
import type {
  EngineContext,
  EngineEvents,
  EngineFactory,
  EngineProgress,
  PeerListener,
  PieceExchangeEngine,
  StorageFactory
} from '../engine/engine.js';
import { normalizeSelection, selectedPieces } from '../engine/storage/file-selection.js';
import type { ExistingData } from '../engine/storage/storage-setup.js';
import type { Storage } from '../engine/storage/storage.js';
import { type ListenOptions } from '../engine/peers/tcp-peer-listener.js';
import type { TransportPolicy } from '../engine/peers/connect-peer.js';
import { PeerEndpoints, udp6Of } from './peer-endpoints.js';
import { fileSource, torrentFiles, type TorrentFile } from '../stream/torrent-file.js';
import type { Address } from '../net/address.js';
import { parseMagnet, toMagnet, type Magnet } from '../magnet/magnet.js';
import type { TorrentInfo } from '../torrent/metainfo.js';
import { toHex } from '../util/bytes.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import type { EncryptionPolicy } from '../wire/mse.js';
import { DhtPeerSource, type DhtSourceOptions } from './peer-sources.js';
import { LocalDiscovery, type LocalDiscoveryOptions } from '../lsd/local-discovery.js';
import { bytesEqual } from '../util/bytes.js';
import { DEFAULT_BOOTSTRAP } from '../constants.js';
import { parseHostPort } from '../net/address.js';
import { resolveBootstrap } from '../net/resolve.js';
import { systemClock } from '../util/clock.js';
import { DhtJoin, type JoinSource } from './dht-join.js';

export interface SwarmOptions {
  /** What to download: a magnet link (parsed and validated) ... */
  magnet?: string | Magnet;
  /** ... or the torrent's metadata (a seed, or a .torrent file). */
  torrent?: TorrentInfo;
  /** A running DHT node to use (not destroyed by the swarm). */
  dht?: DHT;
  /** Otherwise a DHT node is created with these options ... */
  dhtOptions?: DhtOptions;
  /**
   * ... and these bootstrap nodes ("host:port"). Undefined: join from what we already know
   * first — the saved routing table (`dhtOptions.statePath`), the DHT ports of x.pe and LAN
   * peers (PORT messages) — and the public routers only after those (see dht-join.ts); the
   * 'joined' event tells which source got us in.
   */
  bootstrap?: string[];
  /**
   * DHT nodes a .torrent names (BEP 5 `nodes`: `parseTorrentFile(bytes).nodes`; names are
   * resolved). Without a bootstrap list they are the join's 'torrent' source, tried right
   * after the saved table; with one, they are added to the DHT beside it.
   */
  nodes?: readonly Address[];
  /** The routers asked last when no bootstrap list is given (default: the public ones). */
  routers?: readonly string[];
  /** No DHT at all (peers from x.pe, addPeer and PEX only). Forced for private torrents (BEP 27). */
  noDht?: boolean;
  /**
   * Also find and announce peers over IPv6 (BEP 32): a second DHT node speaking IPv6 (the
   * given `dht`, or one created on `::` with `dhtOptions` / `bootstrap`), announcing the same
   * TCP port. The default listener then binds `::`, which takes IPv4 peers too (dual stack).
   * Off by default: one DHT node speaks one address family.
   */
  ipv6?: { dht?: DHT; dhtOptions?: DhtOptions; bootstrap?: string[] };
  /** Where the content goes: a directory (with resume) ... */
  outDir?: string;
  /** ... or a Storage / a factory called once the metadata is known. */
  storage?: Storage | StorageFactory;
  /**
   * BEP 53: the files to download (zero-based indices into the info dictionary's `files`), or
   * 'all' to ignore the magnet's selection. Default: the magnet link's `so=`, else every file.
   * Indices past the end of the file list are a fatal ERR_INVALID_SELECTION (see
   * BitTorrentEngineOptions.selectFiles).
   */
  selectFiles?: number[] | 'all';
  /** What to assume about existing data (built-in engine). Default: verify with outDir. */
  existing?: ExistingData;
  /** Build another engine instead of the built-in one. */
  engine?: EngineFactory;
  /** Tuning of the built-in engine (ignored with `engine`). */
  engineOptions?: Partial<BitTorrentEngineOptions>;
  /** Keep uploading after the download; when false the swarm stops itself once done. */
  seed?: boolean;
  /** Byte rate caps, bytes/s (0 or undefined = unlimited). */
  uploadLimit?: number;
  downloadLimit?: number;
  /**
   * TCP address to accept peers on (default 0.0.0.0, any port), or a shared listener. Our own
   * listener comes with uTP on the same port number (see `utp`).
   */
  listen?: ListenOptions | PeerListener;
  /**
   * Accept and dial uTP (BEP 29) on a UDP socket with the TCP listener's port number, shared
   * with our DHT node (one port for both, as libtorrent). Default true; not with a shared
   * `listen` listener.
   */
  utp?: boolean;
  /**
   * How the built-in engine dials peers: 'utp-first' (default, TCP when uTP fails),
   * 'tcp-first', 'both' (at once), 'tcp' or 'utp' only. Incoming peers are accepted over both.
   */
  transport?: TransportPolicy;
  /**
   * Message Stream Encryption policy for our own listener and the built-in engine's dials
   * (`listen.encryption` / `engineOptions.encryption` override it). Default 'enabled'.
   */
  encryption?: EncryptionPolicy;
  /** DHT lookup / announce schedule. */
  discovery?: DhtSourceOptions;
  /**
   * BEP 14 local service discovery: announce the torrent on the LAN and dial the peers heard
   * there. `true` runs it on the private and link-local interfaces, options choose others, and
   * a running LocalDiscovery can be shared by several swarms (they do not close it). Off by
   * default; never for a private torrent (BEP 27: its peers come from its trackers only).
   */
  lsd?: boolean | LocalDiscoveryOptions | LocalDiscovery;
  /** Aborting destroys the swarm. */
  signal?: AbortSignal;
  /**
   * Listeners attached before anything starts: events that come while `create` is still
   * running (the engine's first warnings, an announce that finishes before the caller's next
   * await) reach them, which `swarm.on` after `create` resolves cannot promise.
   */
  listeners?: SwarmListeners;
}

export type SwarmEvents = EngineEvents & {
  /** Discovery found a candidate peer (before the engine's dedupe). */
  peer: [address: Address, source: 'dht' | 'magnet' | 'lsd'];
  /** A DHT announce stored our port on `storedOn` nodes. */
  announced: [storedOn: number];
  /** Our DHT node got in through `node`, found by `source` (swarms that join by themselves). */
  joined: [source: JoinSource, node: Address];
};

/** LAN peers' hosts remembered to tell their PORT messages apart from other peers'. */
const MAX_LSD_HOSTS = 256;

/** One optional listener per Swarm event. */
export type SwarmListeners = { [K in keyof SwarmEvents]?: (...args: SwarmEvents[K]) => void };

const FORWARDED = ['progress', 'metadata', 'done', 'peer-banned', 'dht-node', 'warning', 'error'] as const;

export class Swarm extends TypedEmitter<SwarmEvents> {
  readonly infoHash: Uint8Array;
  readonly engine: PieceExchangeEngine;
  /** The DHT node in use (ours or the caller's), if any. */
  readonly dht: DHT | undefined;
  /** The IPv6 DHT node with `ipv6`, if any. */
  readonly dht6: DHT | undefined;
  /** Local service discovery (ours or the caller's), if any. */
  readonly lsd: LocalDiscovery | undefined;
  private readonly name: string | undefined;
  /** The files this swarm downloads (BEP 53), carried into magnetLink() as `so=`. */
  private readonly selectFiles: number[] | undefined;
  /** The DHT nodes this swarm created (destroyed with it). */
  private readonly ownDhts: DHT[];
  /** Our TCP listener and uTP socket, unless the caller gave a listener. */
  private readonly endpoints: PeerEndpoints | undefined;
  private readonly listener: PeerListener | undefined;
  private readonly ownLsd: boolean;
  /** Joins our DHT node from what we know, routers last (when no bootstrap list was given). */
  private join: DhtJoin | undefined;
  private readonly lsdHosts = new Set<string>();
  private readonly onLsdPeer = (peer: Address, infoHash: Uint8Array): void => {
    if (!bytesEqual(infoHash, this.infoHash) || this.stopping) return;
    if (this.lsdHosts.size < MAX_LSD_HOSTS) this.lsdHosts.add(peer.host);
    this.emit('peer', peer, 'lsd');
    this.engine.addPeer(peer, 'lsd');
  };
  /** One discovery loop per DHT node (IPv4, IPv6). */
  private sources: DhtPeerSource[] = [];
  private stopping: Promise<void> | undefined;
  private fileList: TorrentFile[] | undefined;

  private constructor(parts: {
    infoHash: Uint8Array;
    name: string | undefined;
    selectFiles: number[] | undefined;
    engine: PieceExchangeEngine;
    dht: DHT | undefined;
    dht6: DHT | undefined;
    ownDhts: DHT[];
    listener: PeerListener | undefined;
    endpoints: PeerEndpoints | undefined;
    lsd: LocalDiscovery | undefined;
    ownLsd: boolean;
  }) {
    super();
    this.infoHash = parts.infoHash;
    this.name = parts.name;
    this.selectFiles = parts.selectFiles;
    this.engine = parts.engine;
    this.dht = parts.dht;
    this.dht6 = parts.dht6;
    this.ownDhts = parts.ownDhts;
    this.listener = parts.listener;
    this.endpoints = parts.endpoints;
    this.lsd = parts.lsd;
    this.ownLsd = parts.ownLsd;
  }

  /** Create and start a swarm: DHT, listener, engine, discovery. */
  static async create(options: SwarmOptions): Promise<Swarm> {
    const { signal } = options;
    if (signal?.aborted) throw new AbortError();
    const magnet = typeof options.magnet === 'string' ? parseMagnet(options.magnet) : options.magnet;
    const info = options.torrent;
    if (!magnet && !info)
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'Swarm needs a magnet link or a torrent');
    const infoHash = info?.infoHash ?? magnet!.infoHash;
    if (info && magnet && toHex(info.infoHash) !== magnet.infoHashHex) {
      throw new InvalidArgumentError(
        'ERR_INVALID_MAGNET',
        'the magnet link and the torrent name different infohashes'
      );
    }
    const selectFiles = selectionFor(options, magnet, info);
    const useDht = !options.noDht && !(info?.private ?? false);
    const cleanup: (() => Promise<void>)[] = [];
    try {
      const ownDhts: DHT[] = [];
      // Lookups start as soon as the socket is bound: the join runs alongside, and a join that
      // waits on dead nodes does not delay the first get_peers.
      const createDht = async (o: DhtOptions): Promise<DHT> => {
        const created = new DHT(o);
        cleanup.push(() => created.destroy());
        await Promise.race([created.listening, created.ready]);
        ownDhts.push(created);
        return created;
      };
      let dht = useDht ? options.dht : undefined;
      const v6 = useDht ? options.ipv6 : undefined;
      let listener: PeerListener;
      let endpoints: PeerEndpoints | undefined;
      if (options.listen && 'register' in options.listen) listener = options.listen;
      else {
        const opened = await PeerEndpoints.open({
          listen: {
            ...(options.encryption ? { encryption: options.encryption } : {}),
            ...(v6 ? { host: '::' } : {}),
            ...options.listen
          },
          utp: options.utp ?? true,
          shareWithDht: useDht && !dht && !options.dhtOptions?.transport,
          ...(options.dhtOptions?.host !== undefined ? { udpHost: options.dhtOptions.host } : {}),
          ...(options.dhtOptions?.port !== undefined ? { udpPort: options.dhtOptions.port } : {}),
          // The IPv6 DHT node we create shares its UDP socket with uTP over IPv6.
          ...(v6 && !v6.dht ? { ipv6: udp6Of(v6.dhtOptions) } : {})
        });
        cleanup.push(() => opened.close());
        endpoints = opened;
        listener = opened.listener;
      }
      // No bootstrap list: the swarm joins by itself (DhtJoin), the routers last.
      const joinByItself =
        useDht && !dht && options.bootstrap === undefined && options.dhtOptions?.bootstrap === undefined;
      if (useDht && !dht)
        dht = await createDht({
          ...options.dhtOptions,
          ...(endpoints?.dhtTransport ? { transport: endpoints.dhtTransport } : {}),
          ...(options.bootstrap ? { bootstrap: options.bootstrap } : {}),
          ...(joinByItself ? { bootstrap: [] } : {})
        });
      let dht6 = v6?.dht;
      if (v6 && !dht6)
        dht6 = await createDht({
          host: '::',
          ...v6.dhtOptions,
          ...(endpoints?.dht6Transport ? { transport: endpoints.dht6Transport } : {}),
          ...(v6.bootstrap ? { bootstrap: v6.bootstrap } : {})
        });
      if (dht6 && !dht6.address().host.includes(':')) {
        throw new InvalidArgumentError(
          'ERR_INVALID_ARGUMENT',
          `ipv6.dht must be bound to an IPv6 address, not ${dht6.address().host}`
        );
      }
      let lsd: LocalDiscovery | undefined;
      const ownLsd = !(options.lsd instanceof LocalDiscovery);
      if (options.lsd instanceof LocalDiscovery) lsd = options.lsd;
      else if (options.lsd && !(info?.private ?? false)) {
        const opened = await LocalDiscovery.open(options.lsd === true ? {} : options.lsd);
        cleanup.push(() => opened.close());
        lsd = opened;
      }
      const context: EngineContext = {
        infoHash,
        seed: options.seed ?? false,
        listener,
        ...(selectFiles ? { selectFiles } : {}),
        ...(info ? { info } : {}),
        ...(options.outDir !== undefined ? { outDir: options.outDir } : {}),
        ...(options.storage !== undefined ? { storage: options.storage } : {}),
        ...(options.uploadLimit !== undefined ? { uploadLimit: options.uploadLimit } : {}),
        ...(options.downloadLimit !== undefined ? { downloadLimit: options.downloadLimit } : {}),
        ...(dht ? { dhtPort: dht.address().port } : {})
      };
      // The selection is decided above (it may be 'all'): engineOptions does not override it.
      const { selectFiles: _selection, ...tuning } = options.engineOptions ?? {};
      const engine = options.engine
        ? options.engine(context)
        : new BitTorrentEngine({
            ...(options.encryption ? { encryption: options.encryption } : {}),
            ...(endpoints?.utpDialer ? { utp: endpoints.utpDialer } : {}),
            ...(options.transport ? { transport: options.transport } : {}),
            ...tuning,
            ...context,
            ...(options.existing ? { existing: options.existing } : {})
          });
      const swarm = new Swarm({
        infoHash,
        name: info?.name ?? magnet?.name,
        selectFiles,
        engine,
        dht,
        dht6,
        ownDhts,
        listener,
        endpoints,
        lsd: info?.private ? undefined : lsd,
        ownLsd
      });
      if (joinByItself) swarm.join = swarm.createJoin(magnet, options.routers ?? DEFAULT_BOOTSTRAP);
      if (dht && options.nodes?.length) swarm.useTorrentNodes(dht, options.nodes);
      swarm.wire(options);
      await engine.start(signal ? { signal } : {});
      swarm.startDiscovery(magnet, options);
      return swarm;
    } catch (err) {
      for (const c of cleanup.reverse()) await c().catch(() => {});
      throw err;
    }
  }

  get info(): TorrentInfo | undefined {
    return this.engine.info;
  }

  /**
   * The torrent's files, readable while they download (`createReadStream`, `stream`) and with
   * per-file priorities; empty until the metadata is known, and with an engine that cannot
   * stream. See docs/streaming.md.
   */
  get files(): TorrentFile[] {
    const info = this.engine.info;
    const source = fileSource(this.engine);
    if (!info || !source) return [];
    return (this.fileList ??= torrentFiles(source, info));
  }

  /**
   * Resolves once our DHT node is in the network, so a put or an announce reaches someone:
   * at once without a DHT; for a swarm that joins by itself, when the join got an answer (the
   * 'joined' event); given a bootstrap list, when the node's first join lookup ended. Rejects
   * with AbortError when `signal` fires first.
   */
  dhtJoined(signal?: AbortSignal): Promise<void> {
    const dht = this.dht;
    if (!dht) return Promise.resolve();
    const join = this.join;
    const joined = join
      ? join.joinedVia
        ? Promise.resolve()
        : new Promise<void>((resolve) => join.once('joined', () => resolve()))
      : dht.ready;
    if (!signal) return joined;
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(new AbortError());
      const onAbort = (): void => reject(new AbortError());
      signal.addEventListener('abort', onAbort, { once: true });
      joined.then(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err as Error);
        }
      );
    });
  }

  /** Where our DHT node got in (swarms that join by themselves), once it has. */
  get joinedVia(): { source: JoinSource; node: Address } | null {
    return this.join?.joinedVia ?? null;
  }

  /** TCP port peers reach us on. */
  get port(): number | undefined {
    return this.engine.announcePort ?? this.listener?.port;
  }

  /** A magnet link for this torrent (with `x.pe` hints if given, and `so=` if we select files). */
  magnetLink(peers: Address[] = []): string {
    const name = this.engine.info?.name ?? this.name;
    return toMagnet({
      infoHash: this.infoHash,
      peers,
      ...(name !== undefined ? { name } : {}),
      ...(this.selectFiles ? { selectOnly: this.selectFiles } : {})
    });
  }

  progress(): EngineProgress {
    return this.engine.progress();
  }

  metadata(options: { signal?: AbortSignal } = {}): Promise<TorrentInfo> {
    return this.engine.metadata(options);
  }

  done(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.engine.done(options);
  }

  /** A peer from elsewhere (a user, a tracker the app queried). */
  addPeer(address: Address): void {
    this.engine.addPeer(address, 'manual');
  }

  /** Graceful: discovery stops, the engine saves its state, owned resources are closed. */
  stop(): Promise<void> {
    return (this.stopping ??= this.shutdown(true));
  }

  /** Immediate: like stop() without saving. */
  destroy(): Promise<void> {
    return (this.stopping ??= this.shutdown(false));
  }

  private wire(options: SwarmOptions): void {
    for (const [event, listener] of Object.entries(options.listeners ?? {}))
      if (listener) this.on(event as keyof SwarmEvents, listener as (...args: unknown[]) => void);
    for (const event of FORWARDED) {
      this.engine.on(event, (...args: unknown[]) =>
        (this.emit as (e: string, ...a: unknown[]) => void)(event, ...args)
      );
    }
    // A finished download that does not seed has nothing left to discover.
    this.engine.on('done', () => {
      if (!(options.seed ?? false)) void this.stop();
    });
    this.engine.on('error', () => void this.destroy());
    // A peer's PORT message goes to the DHT node of its address family (through the join
    // while our node is not in yet).
    this.engine.on('dht-node', (node) => {
      const family = node.host.includes(':') ? 6 : 4;
      if (this.join && !this.join.joinedVia && family === 4)
        this.join.offer(this.lsdHosts.has(node.host) ? 'lsd' : 'peers', [node]);
      else this.sources.find((s) => s.family === family)?.addNode(node);
    });
    options.signal?.addEventListener('abort', () => void this.destroy(), { once: true });
  }

  private startDiscovery(magnet: Magnet | undefined, options: SwarmOptions): void {
    for (const p of magnet?.peers ?? []) {
      this.emit('peer', p, 'magnet');
      this.engine.addPeer(p, 'magnet');
    }
    if (this.stopping) return;
    const port = this.port;
    if (this.lsd && port !== undefined) {
      this.lsd.on('peer', this.onLsdPeer);
      if (this.ownLsd) this.lsd.on('warning', (e) => this.emit('warning', e));
      this.lsd.announce(this.infoHash, port);
    }
    for (const dht of [this.dht, this.dht6]) {
      if (!dht) continue;
      const source = new DhtPeerSource(
        dht,
        this.infoHash,
        this.engine,
        {
          peer: (p) => this.emit('peer', p, 'dht'),
          announced: (n) => this.emit('announced', n),
          warning: (e) => this.emit('warning', e)
        },
        options.discovery
      );
      this.sources.push(source);
      // Lookups from an empty table find nothing: a joining node starts them once it is in.
      if (dht === this.dht && this.join && !this.join.joinedVia) this.join.on('joined', () => source.start());
      else source.start();
    }
    this.join?.start();
  }

  private createJoin(magnet: Magnet | undefined, routers: readonly string[]): DhtJoin {
    const dht = this.dht!;
    const join = new DhtJoin(dht, {
      clock: systemClock,
      routers: () =>
        resolveBootstrap(
          routers.map((b) => parseHostPort(b)),
          4,
          (e) => this.emit('warning', e)
        ),
      // LAN peers and x.pe peers send PORT messages soon: they get their time before the routers.
      waitForOthers: this.lsd !== undefined || (magnet?.peers.length ?? 0) > 0
    });
    join.on('joined', (source, node) => this.emit('joined', source, node));
    join.on('warning', (e) => this.emit('warning', e));
    join.offer('state', dht.nodes());
    return join;
  }

  /** The .torrent's nodes: offered to the join, or (joined by a bootstrap list) just added. */
  private useTorrentNodes(dht: DHT, nodes: readonly Address[]): void {
    void resolveBootstrap([...nodes], 4, (e) => this.emit('warning', e)).then((resolved) => {
      const v4 = resolved.filter((a) => !a.host.includes(':'));
      if (this.join) this.join.offer('torrent', v4);
      else for (const a of v4) dht.addNode(a).catch(() => {}); // a dead hint is not an error
    });
  }

  private async shutdown(graceful: boolean): Promise<void> {
    this.join?.close();
    await Promise.all(this.sources.map((s) => s.stop()));
    if (this.lsd) {
      this.lsd.off('peer', this.onLsdPeer);
      if (this.ownLsd) await this.lsd.close();
      else this.lsd.unannounce(this.infoHash);
    }
    if (graceful) await this.engine.stop();
    else await this.engine.destroy();
    await this.endpoints?.close();
    await Promise.all(this.ownDhts.map((d) => d.destroy()));
  }
}

/**
 * The explicit selection, else the magnet's `so=`, else engineOptions'. Validated here, against
 * the file list too when the torrent is known, so a bad one fails before the DHT is joined.
 */
function selectionFor(
  options: SwarmOptions,
  magnet: Magnet | undefined,
  info: TorrentInfo | undefined
): number[] | undefined {
  const choice = options.selectFiles ?? magnet?.selectOnly ?? options.engineOptions?.selectFiles;
  if (choice === undefined || choice === 'all') return undefined;
  if (typeof choice === 'string')
    throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `selectFiles must be file indices or 'all'`);
  const selection = normalizeSelection(choice);
  if (info) selectedPieces(info, selection);
  return selection;
}
