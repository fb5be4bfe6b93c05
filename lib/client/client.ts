/**
 * A Client holds many torrents over one DHT node (one UDP port) and one TCP listener (one
 * port), like libtorrent's session or webtorrent's Client:
 *
 *   const client = await Client.create({ stateDir: 'state', bootstrap: ['127.0.0.1:6881'] });
 *   const t = await client.add('magnet:?xt=urn:btih:...', { outDir: 'downloads' });
 *   await t.done();
 *   await client.destroy();
 *
 * Incoming peers are routed to their torrent by the infohash of their handshake (an unknown
 * one is closed by the listener). Global caps — upload and download rates, connections —
 * are shared by every torrent on top of each torrent's own, and change at run time.
 *
 * The DHT node's id and routing table are kept between runs by default, in the user's state
 * directory beside the CLI's (`dhtState`), so a client joins from the nodes it knew.
 * With a `stateDir` the session persists: every change of the torrent list is written there
 * atomically (session-store.ts), each engine keeps its resume file in its download
 * directory, and `Client.create` on the same directory resumes every torrent.
 *
 * Each running torrent is a Swarm given the client's DHT node, listener and caps: the one
 * code path of a download, whether through a Client or a lone Swarm.
 */
import { resolve as resolvePath } from 'node:path';
import { defaultStateDir, dhtStatePaths } from '../util/state-dir.js';
import { forEachBounded } from '../util/for-each-bounded.js';
import { DHT } from '../dht/dht.js';
import type { DhtOptions } from '../dht/options.js';
import type { Transport } from '../net/transport.js';
import { BitTorrentEngine } from '../engine/bittorrent-engine.js';
import type { EngineProgress } from '../engine/engine.js';
import { ConnectionBudget } from '../engine/peers/connection-budget.js';
import type { TcpPeerListener } from '../engine/peers/tcp-peer-listener.js';
import { PeerEndpoints, udp6Of } from '../swarm/peer-endpoints.js';
import { normalizeSelection, selectedPieces } from '../engine/storage/file-selection.js';
import {
  AbortError,
  DestroyedError,
  DuplicateTorrentError,
  InvalidArgumentError,
  UnknownTorrentError
} from '../errors.js';
import { parseInfoHash } from '../id/node-id.js';
import { LocalDiscovery } from '../lsd/local-discovery.js';
import { parseMagnet, toMagnet } from '../magnet/magnet.js';
import type { Address } from '../net/address.js';
import { Swarm } from '../swarm/swarm.js';
import type { TorrentInfo } from '../torrent/metainfo.js';
import { toHex } from '../util/bytes.js';
import { RateLimiter } from '../util/rate-limiter.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { systemClock, type Clock } from '../util/clock.js';
import { BLOCK_SIZE } from '../wire/constants.js';
import {
  DEFAULT_MAX_CONNECTIONS,
  checkRates,
  type AddOptions,
  type ClientLimits,
  type ClientOptions
} from './client-options.js';
import { ClientTorrent, type SwarmRun, type TorrentHost } from './client-torrent.js';
import { deleteTorrentData } from './delete-data.js';
import { SessionStore, type SessionEntry } from './session-store.js';
import type { TorrentFile } from '../stream/torrent-file.js';
import { resolveInput, type ResolvedInput, type TorrentInput } from './torrent-input.js';

/**
 * Restored torrents started at once: each start checks its data (reads its files back against
 * the resume file), so more at once would only compete for the disk (libtorrent checks one).
 */
const RESTORE_CONCURRENCY = 2;

export type ClientEvents = {
  /** A torrent was added (or restored from the session). */
  torrent: [torrent: ClientTorrent];
  metadata: [torrent: ClientTorrent, info: TorrentInfo];
  /** A running torrent's periodic progress (about once a second each). */
  progress: [torrent: ClientTorrent, progress: EngineProgress];
  /** A torrent's verified bytes of a file changed (computed only while someone listens). */
  'file-progress': [torrent: ClientTorrent, file: TorrentFile];
  done: [torrent: ClientTorrent];
  /** A fatal error stopped a torrent (the others run on). */
  error: [torrent: ClientTorrent, error: Error];
  removed: [torrent: ClientTorrent];
  /** Something went wrong that stopped nothing (a torrent's warning, a failed session save). */
  warning: [error: Error, torrent: ClientTorrent | undefined];
};

export class Client extends TypedEmitter<ClientEvents> {
  /** The client's DHT node (one UDP port for every torrent). */
  readonly dht: DHT;
  /** The client's IPv6 DHT node, with the `ipv6` option. */
  readonly dht6: DHT | undefined;
  /** The client's TCP listener (one port for every torrent). */
  readonly listener: TcpPeerListener;
  readonly lsd: LocalDiscovery | undefined;
  /** The TCP listener, and uTP on the DHT node's UDP socket. */
  private readonly endpoints: PeerEndpoints;
  private readonly options: ClientOptions;
  private readonly store: SessionStore | undefined;
  private readonly torrents = new Map<string, ClientTorrent>();
  private readonly upload: RateLimiter;
  private readonly download: RateLimiter;
  private readonly connections: ConnectionBudget;
  private readonly host: TorrentHost;
  private readonly clock: Clock;
  private destroying: Promise<void> | undefined;
  private _restored: Promise<void> = Promise.resolve();

  private constructor(parts: {
    options: ClientOptions;
    dht: DHT;
    dht6: DHT | undefined;
    endpoints: PeerEndpoints;
    lsd: LocalDiscovery | undefined;
    store: SessionStore | undefined;
  }) {
    super();
    this.options = parts.options;
    this.dht = parts.dht;
    this.dht6 = parts.dht6;
    this.endpoints = parts.endpoints;
    this.listener = parts.endpoints.listener;
    this.lsd = parts.lsd;
    this.store = parts.store;
    const clock = parts.options.clock ?? systemClock;
    this.clock = clock;
    this.upload = new RateLimiter({ rate: parts.options.uploadLimit ?? 0, minBurst: 2 * BLOCK_SIZE, clock });
    this.download = new RateLimiter({
      rate: parts.options.downloadLimit ?? 0,
      minBurst: 2 * BLOCK_SIZE,
      clock
    });
    this.connections = new ConnectionBudget(parts.options.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
    this.host = {
      startSwarm: (t, run, signal) => this.startSwarm(t, run, signal),
      changed: () => this.persist(),
      wantsFileProgress: () => this.listenerCount('file-progress') > 0,
      fileProgress: (t, f) => this.emit('file-progress', t, f)
    };
  }

  /**
   * Open the DHT node and the listener, then restore the saved session (if `stateDir`): every
   * saved torrent is listed at once and started in the background (see `restored`).
   */
  static async create(options: ClientOptions = {}): Promise<Client> {
    if (options.signal?.aborted) throw new AbortError();
    checkLimits(options);
    const cleanup: (() => Promise<void>)[] = [];
    try {
      const store =
        options.stateDir !== undefined ? new SessionStore(resolvePath(options.stateDir)) : undefined;
      const saved = store ? await store.load() : undefined;
      // The TCP listener first, then uTP and the DHT node on one UDP socket with its port number.
      const endpoints = await PeerEndpoints.open({
        listen: {
          ...(options.ipv6 ? { host: '::' } : {}),
          ...(options.encryption ? { encryption: options.encryption } : {}),
          ...(options.clock ? { clock: options.clock } : {}),
          ...options.listen
        },
        utp: options.utp ?? true,
        shareWithDht: !options.dhtOptions?.transport,
        ...(options.dhtOptions?.host !== undefined ? { udpHost: options.dhtOptions.host } : {}),
        ...(options.dhtOptions?.port !== undefined ? { udpPort: options.dhtOptions.port } : {}),
        // The IPv6 DHT node shares its UDP socket with uTP over IPv6.
        ...(options.ipv6 ? { ipv6: udp6Of(ipv6Options(options).dhtOptions) } : {})
      });
      cleanup.push(() => endpoints.close());
      const dhtState = dhtStatePaths(options.dhtState, store?.dir ?? defaultStateDir());
      const dht = new DHT({
        ...(options.clock ? { clock: options.clock } : {}),
        ...dhtState.v4,
        ...options.dhtOptions,
        ...(endpoints.dhtTransport ? { transport: endpoints.dhtTransport } : {}),
        ...(options.bootstrap ? { bootstrap: options.bootstrap } : {})
      });
      cleanup.push(() => dht.destroy());
      // Lookups may start once the socket is bound; joining goes on alongside.
      await Promise.race([dht.listening, dht.ready]);
      const dht6 = options.ipv6 ? await openDht6(options, dhtState.v6, endpoints.dht6Transport) : undefined;
      if (dht6) cleanup.push(() => dht6.destroy());
      let lsd: LocalDiscovery | undefined;
      if (options.lsd) {
        lsd = await LocalDiscovery.open(options.lsd === true ? {} : options.lsd);
        cleanup.push(() => lsd!.close());
      }
      const client = new Client({ options, dht, dht6, endpoints, lsd, store });
      options.signal?.addEventListener('abort', () => void client.destroy(), { once: true });
      for (const w of saved?.warnings ?? []) client.emit('warning', w, undefined);
      client.startRestored((saved?.entries ?? []).flatMap((entry) => client.restore(entry) ?? []));
      return client;
    } catch (err) {
      for (const c of cleanup.reverse()) await c().catch(() => {});
      throw err;
    }
  }

  /**
   * Resolves once every torrent restored from the session has been started (or failed to, or
   * the client was destroyed): `create` returns before that, with every torrent listed.
   */
  get restored(): Promise<void> {
    return this._restored;
  }

  /** Incoming peer connections accepted so far, per transport. */
  get accepted(): { tcp: number; utp: number } {
    return { tcp: this.listener.stats.accepted, utp: this.endpoints.utpAccepted };
  }

  /** The TCP port peers reach every torrent on. */
  get port(): number {
    return this.listener.port;
  }

  /** The DHT node's UDP address. */
  address(): Address {
    return this.dht.address();
  }

  /**
   * Add a torrent: a magnet link, an infohash (hex or base32), a .torrent file's path or
   * bytes, or parsed metadata. Resolves once it runs (or is added paused). Rejects with
   * ERR_DUPLICATE_TORRENT if the client has it, an InvalidArgumentError for bad input.
   */
  async add(input: TorrentInput, options: AddOptions = {}): Promise<ClientTorrent> {
    this.checkOpen();
    if (options.signal?.aborted) throw new AbortError();
    const outDirOption = options.outDir ?? this.options.outDir;
    if (outDirOption === undefined)
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        'add() needs outDir (or the client option outDir)'
      );
    checkRates(options);
    const resolved = await resolveInput(input, options.signal);
    const id = toHex(resolved.infoHash);
    if (this.torrents.has(id)) throw new DuplicateTorrentError(id);
    this.checkOpen();
    const torrent = this.createTorrent(resolved, {
      outDir: resolvePath(outDirOption),
      seed: options.seed ?? true,
      selectFiles: selection(options.selectFiles ?? resolved.magnet?.selectOnly, resolved.info),
      uploadLimit: options.uploadLimit ?? 0,
      downloadLimit: options.downloadLimit ?? 0,
      addedAt: this.clock.now(),
      ...(options.existing ? { existing: options.existing } : {})
    });
    if (options.paused) torrent.markPaused();
    // In the list before it starts: no event of its swarm is missed, a second add is a duplicate.
    this.attach(torrent);
    try {
      if (resolved.info) await this.store?.saveMetadata(resolved.info);
      if (!options.paused) await torrent.start(options.signal);
      if (this.destroying) throw new DestroyedError('client');
    } catch (err) {
      if (this.torrents.get(id) === torrent) {
        this.torrents.delete(id);
        this.persist();
        await this.store?.removeMetadata(id).catch(() => {});
        this.emit('removed', torrent);
      }
      await torrent.close(false);
      throw err;
    }
    return torrent;
  }

  /** The torrent with this infohash (hex, base32 or 20 bytes), or undefined. */
  get(id: string | Uint8Array): ClientTorrent | undefined {
    return this.torrents.get(toHex(parseInfoHash(id)));
  }

  /** Every torrent, in the order they were added. */
  list(): ClientTorrent[] {
    return [...this.torrents.values()];
  }

  /**
   * Stop a torrent and forget it (its resume state is saved unless its data is deleted).
   * Rejects with ERR_UNKNOWN_TORRENT if there is none.
   */
  async remove(
    id: string | Uint8Array | ClientTorrent,
    options: { deleteData?: boolean } = {}
  ): Promise<void> {
    const hex = id instanceof ClientTorrent ? id.id : toHex(parseInfoHash(id));
    const torrent = this.torrents.get(hex);
    if (!torrent) throw new UnknownTorrentError(hex);
    this.torrents.delete(hex);
    await torrent.close(true);
    this.persist();
    await this.store?.removeMetadata(hex);
    if (options.deleteData) await deleteTorrentData(torrent.outDir, torrent.infoHash, torrent.info);
    this.emit('removed', torrent);
  }

  /** The global caps in force. */
  get limits(): ClientLimits {
    return {
      uploadLimit: this.upload.rate,
      downloadLimit: this.download.rate,
      maxConnections: this.connections.max
    };
  }

  /**
   * Change the global caps at once (bytes/s, 0 = unlimited; connections). A lower connection
   * cap closes nothing: new connections wait until enough have closed.
   */
  setLimits(limits: Partial<ClientLimits>): void {
    checkLimits(limits);
    if (limits.uploadLimit !== undefined) this.upload.setRate(limits.uploadLimit);
    if (limits.downloadLimit !== undefined) this.download.setRate(limits.downloadLimit);
    if (limits.maxConnections !== undefined) this.connections.setMax(limits.maxConnections);
  }

  /** Peer connections open over all torrents. */
  get connectionCount(): number {
    return this.connections.open;
  }

  /** Stop every torrent (resume state saved), save the session, close the sockets. Idempotent. */
  destroy(): Promise<void> {
    return (this.destroying ??= this.shutdown());
  }

  // --- internals -------------------------------------------------------------------------------

  private createTorrent(
    resolved: ResolvedInput,
    entry: Omit<SessionEntry, 'infoHash' | 'paused' | 'magnet'> & { existing?: AddOptions['existing'] }
  ): ClientTorrent {
    const limit = (rate: number, parent: RateLimiter): RateLimiter =>
      new RateLimiter({ rate, minBurst: 2 * BLOCK_SIZE, clock: this.clock, parent });
    const torrent = new ClientTorrent(
      {
        infoHash: resolved.infoHash,
        ...(resolved.info ? { info: resolved.info } : {}),
        ...(resolved.magnet ? { magnet: resolved.magnet } : {}),
        ...(resolved.nodes ? { nodes: resolved.nodes } : {}),
        outDir: entry.outDir,
        seed: entry.seed,
        ...(entry.selectFiles ? { selectFiles: entry.selectFiles } : {}),
        limits: {
          upload: limit(entry.uploadLimit, this.upload),
          download: limit(entry.downloadLimit, this.download)
        },
        addedAt: entry.addedAt,
        ...(entry.priorities ? { priorities: entry.priorities } : {}),
        ...(entry.existing ? { existing: entry.existing } : {})
      },
      this.host
    );
    return torrent;
  }

  /** Put a torrent in the list, forward its events, save the session. */
  private attach(torrent: ClientTorrent): void {
    this.torrents.set(torrent.id, torrent);
    torrent.on('metadata', (info) => {
      this.store?.saveMetadata(info).catch((err: Error) => this.emit('warning', err, torrent));
      this.emit('metadata', torrent, info);
    });
    torrent.on('progress', (p) => this.emit('progress', torrent, p));
    torrent.on('done', () => this.emit('done', torrent));
    torrent.on('error', (err) => this.emit('error', torrent, err));
    torrent.on('warning', (err) => this.emit('warning', err, torrent));
    this.emit('torrent', torrent);
    this.persist();
  }

  /** A saved torrent back in the list; returned if it is to be started (not paused). */
  private restore(entry: SessionEntry & { info?: TorrentInfo }): ClientTorrent | undefined {
    let magnet;
    try {
      magnet = entry.magnet !== undefined ? parseMagnet(entry.magnet) : undefined;
    } catch {
      magnet = undefined;
    }
    const infoHash = parseInfoHash(entry.infoHash);
    const torrent = this.createTorrent(
      {
        infoHash,
        ...(entry.info ? { info: entry.info } : {}),
        ...(magnet && toHex(magnet.infoHash) === entry.infoHash ? { magnet } : {})
      },
      entry
    );
    this.attach(torrent);
    if (entry.paused) {
      torrent.markPaused();
      return undefined;
    }
    return torrent;
  }

  /**
   * Start the restored torrents in the background, a few at a time (each start checks its
   * data against the resume file), so `create` returns at once with every torrent listed. A
   * failure to start leaves that torrent in 'error'; a destroy stops the rest from starting.
   */
  private startRestored(torrents: ClientTorrent[]): void {
    this._restored = forEachBounded(
      torrents,
      RESTORE_CONCURRENCY,
      (t) =>
        t.start().catch((err: Error) => {
          if (!this.destroying) this.emit('error', t, err);
        }),
      () => this.destroying !== undefined
    );
  }

  private async startSwarm(t: ClientTorrent, run: SwarmRun, signal: AbortSignal | undefined): Promise<Swarm> {
    this.checkOpen();
    const o = this.options;
    // The add's signal covers the start only: a Swarm keeps its signal for its whole life.
    const start = new AbortController();
    const onAbort = (): void => start.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await Swarm.create({
        ...(t.info ? { torrent: t.info } : {}),
        ...(t.magnet ? { magnet: t.magnet } : {}),
        ...(t.nodes.length > 0 ? { nodes: t.nodes } : {}),
        dht: this.dht,
        ...(this.dht6 ? { ipv6: { dht: this.dht6 } } : {}),
        listen: this.listener,
        ...(this.lsd ? { lsd: this.lsd } : {}),
        outDir: t.outDir,
        seed: t.seed,
        selectFiles: t.selectFiles ?? 'all',
        ...(o.discovery ? { discovery: o.discovery } : {}),
        engine: (context) =>
          new BitTorrentEngine({
            ...(o.encryption ? { encryption: o.encryption } : {}),
            ...(o.clock ? { clock: o.clock } : {}),
            ...(this.endpoints.utpDialer ? { utp: this.endpoints.utpDialer } : {}),
            ...(o.transport ? { transport: o.transport } : {}),
            ...o.engineOptions,
            ...context,
            ...(t.existing ? { existing: t.existing } : {}),
            sharedLimits: { ...run.limits, connections: this.connections }
          }),
        listeners: run.listeners,
        signal: start.signal
      });
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Save the torrent list (coalesced; a failure is a warning: the next change saves again). */
  private persist(): void {
    if (!this.store) return;
    const entries = this.list().map((t) => entryOf(t));
    this.store.save(entries).catch((err: Error) => this.emit('warning', err, undefined));
  }

  private checkOpen(): void {
    if (this.destroying) throw new DestroyedError('client');
  }

  private async shutdown(): Promise<void> {
    const torrents = this.list();
    await Promise.all(torrents.map((t) => t.close(true)));
    await this._restored;
    // The last list, with every torrent as it was (a destroyed client is not a removal).
    if (this.store) {
      await this.store
        .save(torrents.map((t) => entryOf(t)))
        .catch((err: Error) => this.emit('warning', err, undefined));
    }
    await this.lsd?.close();
    await this.endpoints.close();
    await this.dht6?.destroy();
    await this.dht.destroy();
  }
}

/** The `ipv6` option as an object (`true`: all defaults). */
function ipv6Options(options: ClientOptions): { dhtOptions?: DhtOptions; bootstrap?: string[] } {
  return options.ipv6 === true ? {} : options.ipv6 || {};
}

/** The IPv6 DHT node: on `::` by default, its own state file, refused if not IPv6. */
async function openDht6(
  options: ClientOptions,
  state: { statePath?: string },
  transport: Transport | undefined
): Promise<DHT> {
  const v6 = ipv6Options(options);
  const dht6 = new DHT({
    host: '::',
    ...(options.clock ? { clock: options.clock } : {}),
    ...state,
    ...v6.dhtOptions,
    ...(transport ? { transport } : {}),
    ...(v6.bootstrap ? { bootstrap: v6.bootstrap } : {})
  });
  try {
    await Promise.race([dht6.listening, dht6.ready]);
    if (!dht6.address().host.includes(':'))
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        `ipv6.dhtOptions.host must be an IPv6 address, not ${dht6.address().host}`
      );
  } catch (err) {
    await dht6.destroy();
    throw err;
  }
  return dht6;
}

function entryOf(t: ClientTorrent): SessionEntry {
  const limits = t.rateLimits;
  return {
    infoHash: t.id,
    ...(t.magnet ? { magnet: toMagnet(t.magnet) } : {}),
    outDir: t.outDir,
    paused: t.paused,
    seed: t.seed,
    ...(t.selectFiles ? { selectFiles: t.selectFiles } : {}),
    uploadLimit: limits.uploadLimit,
    downloadLimit: limits.downloadLimit,
    addedAt: t.addedAt,
    ...(t.filePriorities.length > 0 ? { priorities: t.filePriorities } : {})
  };
}

/** An explicit selection, else the magnet's; checked against the files when known. */
function selection(
  choice: number[] | 'all' | undefined,
  info: TorrentInfo | undefined
): number[] | undefined {
  if (choice === undefined || choice === 'all') return undefined;
  if (!Array.isArray(choice))
    throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `selectFiles must be file indices or 'all'`);
  const indices = normalizeSelection(choice);
  if (info) selectedPieces(info, indices);
  return indices;
}

function checkLimits(l: Partial<ClientLimits>): void {
  checkRates(l);
  const max = l.maxConnections;
  if (max !== undefined && !(max === Infinity || (Number.isInteger(max) && max >= 0)))
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `maxConnections must be an integer >= 0, got ${max}`
    );
}
