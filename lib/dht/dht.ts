/**
 * The public DHT node (BEP 5): composition root of transport, RPC, routing table, stores and
 * lookups. Inbound queries are served by server.ts, iterative lookups run in node-lookups.ts,
 * table admission is admission.ts, periodic upkeep maintenance.ts, the state file state-store.ts.
 */
import { type Address, parseHostPort, validatePort } from '../net/address.js';
import type { NodeInfo, Query, ResponseBody } from '../krpc/types.js';
import type { Transport } from '../net/transport.js';
import { createUdpTransport } from '../net/udp-transport.js';
import { emptyRpcCounters, RpcSocket, type RpcCounters } from '../rpc/rpc-socket.js';
import { isNotBad, RoutingTable } from '../routing/routing-table.js';
import type { LookupResult } from '../lookup/lookup.js';
import { NodeLookups } from './node-lookups.js';
import { TokenIssuer } from '../store/token-issuer.js';
import { PeerStore } from '../store/peer-store.js';
import { ItemStore } from '../store/item-store.js';
import * as items from './items.js';
import type { GetMutableOptions, ItemClient, PutMutableOptions, PutResult } from './items.js';
import type { ImmutableItem, ItemValue, MutableItem } from '../item/item.js';
import { parsePublicKey } from '../item/ed25519.js';
import { handleQuery, type ServerContext } from './server.js';
import { Maintenance } from './maintenance.js';
import { saveState, type DhtState } from './state-file.js';
import { StateStore } from './state-store.js';
import { resolveBootstrap } from '../net/resolve.js';
import { Admission } from './admission.js';
import { trackedQuery, type TrackedQueryHost } from './tracked-query.js';
import { linkedController } from '../util/abort.js';
import { join } from './join.js';
import { resolveProtections, type Protections } from './protections.js';
import { InboundLimiter } from '../rpc/inbound-limiter.js';
import { IpDiversity } from '../routing/ip-diversity.js';
import { ExternalIpVoter } from './external-ip.js';
import { bep42Id, isBep42Compliant } from '../id/bep42.js';
import { ipScope } from '../net/ip-class.js';
import {
  validateStartOptions,
  type AnnounceOptions,
  type DhtOptions,
  type LookupOptionsPublic
} from './options.js';
import type {
  AnnounceResult,
  DhtEvents,
  DhtStats,
  GetPeersResult,
  SampleInfohashesResult,
  ScrapeResult
} from './types.js';
import { runScrape } from './scrape.js';

import { AsyncQueue } from '../util/async-queue.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { systemClock, type Clock } from '../util/clock.js';
import { cryptoRandom, type RandomSource } from '../util/random.js';
import { parseInfoHash, parseNodeId, randomId } from '../id/node-id.js';
import { AbortError, DestroyedError, InvalidArgumentError, SendError, StateError } from '../errors.js';
import {
  ALPHA,
  CLIENT_VERSION,
  DEFAULT_BOOTSTRAP,
  K,
  MIN_SLOW_AFTER_MS,
  QUERY_TIMEOUT_MS
} from '../constants.js';

export class DHT extends TypedEmitter<DhtEvents> {
  /** Resolves once bound and bootstrapped (never rejects for bootstrap failures; see 'warning'). */
  readonly ready: Promise<void>;
  private id: Uint8Array;
  private readonly opts: DhtOptions;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly k: number;
  private readonly alpha: number;
  private transport: Transport | null = null;
  private rpc: RpcSocket | null = null;
  /** What each query's outcome updates; made with the socket. */
  private queryHost: TrackedQueryHost | null = null;
  private table!: RoutingTable;
  private readonly tokens: TokenIssuer;
  private readonly peers: PeerStore;
  private readonly items: ItemStore;
  private readonly itemClient: ItemClient;
  private maintenance: Maintenance | null = null;
  private bootstrapAddresses: Address[] = [];
  private readonly lookups: NodeLookups;
  private admission: Admission | null = null;
  private server: ServerContext | null = null;
  private readonly protections: Protections;
  private readonly diversity: IpDiversity | undefined;
  private readonly externalIp = new ExternalIpVoter();
  /** Our socket is IPv6 (we then use `nodes6`, BEP 32). */
  private ipv6 = false;
  private ownAddress: Address | null = null;
  private destroyed = false;
  /** The state file (opts.statePath), locked and saved while we hold it. */
  private readonly stateStore: StateStore | null;
  /** Resolves once the socket is bound and the RPC layer exists (before bootstrap). */
  private readonly bound: Promise<void>;
  /** Resolves with our UDP address as soon as the socket is bound (before bootstrap ends). */
  readonly listening: Promise<Address>;
  private markBound: () => void = () => {};
  /** opts.knownNodes until start() has put them in the table. */
  private knownNodes: ReadonlyArray<NodeInfo> | null;
  /**
   * Aborted by destroy(): ends the join (its delay included). Made for the join and dropped
   * after it: an AbortSignal is an EventTarget with two Maps (~700 bytes) an idle node needs not.
   */
  private joining: AbortController | null = null;

  /** Create a node and wait until it is ready. */
  static async create(opts: DhtOptions = {}): Promise<DHT> {
    const dht = new DHT(opts);
    await dht.ready;
    return dht;
  }

  constructor(opts: DhtOptions = {}) {
    super();
    // The known nodes are needed once, at start: not kept with the options for the node's life.
    const { knownNodes, ...rest } = opts;
    this.opts = rest;
    this.knownNodes = knownNodes ?? null;
    validateStartOptions(opts);
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? cryptoRandom;
    this.k = opts.k ?? K;
    this.alpha = opts.alpha ?? ALPHA;
    this.id = opts.nodeId !== undefined ? parseNodeId(opts.nodeId) : randomId(this.random);
    this.protections = resolveProtections(opts);
    this.diversity = this.protections.diversity ? new IpDiversity(this.protections.diversity) : undefined;
    this.stateStore = opts.statePath
      ? new StateStore(opts.statePath, (err) => this.emit('warning', err))
      : null;
    const queryTimeoutMs = opts.queryTimeoutMs ?? QUERY_TIMEOUT_MS;
    const diversity = this.diversity;
    this.tokens = new TokenIssuer({
      clock: this.clock,
      random: this.random,
      ...(opts.tokenRotateMs ? { rotateMs: opts.tokenRotateMs } : {})
    });
    this.peers = new PeerStore({
      clock: this.clock,
      random: this.random,
      ...(opts.maxStoredInfoHashes ? { maxInfoHashes: opts.maxStoredInfoHashes } : {}),
      ...(opts.maxPeersPerInfoHash ? { maxPeersPerInfoHash: opts.maxPeersPerInfoHash } : {}),
      ...(opts.peerTtlMs ? { ttlMs: opts.peerTtlMs } : {})
    });
    this.items = new ItemStore({ clock: this.clock, ...opts.itemStore });
    this.lookups = new NodeLookups({
      clock: this.clock,
      k: this.k,
      alpha: this.alpha,
      queryTimeoutMs,
      slowAfter: (node) =>
        this.rpc
          ? this.rpc.rtt.slowAfter(MIN_SLOW_AFTER_MS, queryTimeoutMs / 2, this.table?.get(node.id)?.rtt)
          : queryTimeoutMs / 2,
      ...(this.protections.bep42 ? { verified: (n: NodeInfo) => isBep42Compliant(n.id, n.host) } : {}),
      ...(diversity
        ? {
            subnetOf: (n: NodeInfo) => diversity.subnetOf(n.host),
            maxPerSubnet: diversity.maxPerSubnetPerLookup
          }
        : {}),
      localId: () => this.id,
      table: () => this.table,
      bootstrap: () => this.bootstrapAddresses,
      ipv6: () => this.ipv6,
      isOwn: (a) => this.isOwn(a),
      ready: () => this.readyForLookups(),
      query: (to, q, signal, expectedId, timeoutMs) => this.query(to, q, signal, expectedId, timeoutMs)
    });
    this.itemClient = {
      lookups: this.lookups,
      k: this.k,
      localId: () => this.id,
      query: (to, q, signal) => this.query(to, q, signal, to.id)
    };
    const bootstrap = (opts.bootstrap ?? DEFAULT_BOOTSTRAP).map((b) => parseHostPort(b));
    this.bound = new Promise((resolve) => (this.markBound = resolve));
    this.listening = this.bound.then(() => this.address());
    this.listening.catch(() => {});
    this.ready = this.start(bootstrap);
    this.ready.catch(() => {}); // surfaced to whoever awaits `ready`
  }

  /** Our node id (20 bytes). */
  get nodeId(): Uint8Array {
    return this.id;
  }

  /** The bound local address. */
  address(): Address {
    if (!this.transport) throw new StateError('DHT is not bound yet: await dht.ready');
    return this.transport.address();
  }

  /**
   * Find peers for an infohash. Yields each peer once, as soon as a node returns it.
   * Ends when the lookup converges; throws AbortError if `signal` fires.
   */
  async *findPeers(infoHash: string | Uint8Array, opts: LookupOptionsPublic = {}): AsyncGenerator<Address> {
    const ih = parseInfoHash(infoHash);
    this.assertUsable();
    const controller = linkedController(opts.signal);
    const queue = new AsyncQueue<Address>();
    const done = this.findPeersInternal(ih, controller.signal, (p) => queue.push(p)).then(
      () => queue.end(opts.signal?.aborted ? new AbortError() : undefined),
      (err: unknown) => queue.end(err)
    );
    try {
      for await (const peer of queue) yield peer;
    } finally {
      controller.abort();
      controller.dispose();
      await done;
    }
  }

  /** Run a get_peers lookup to completion: all peers found and the lookup's figures. */
  async getPeers(infoHash: string | Uint8Array, opts: LookupOptionsPublic = {}): Promise<GetPeersResult> {
    const ih = parseInfoHash(infoHash);
    this.assertUsable();
    const peers: Address[] = [];
    const lookup = await this.findPeersInternal(ih, opts.signal, (p) => peers.push(p));
    if (lookup.aborted) throw new AbortError();
    return { peers, lookup };
  }

  /**
   * Announce that we have a peer for `infoHash` on TCP `port`: get_peers lookup, then
   * announce_peer with each token to the k closest responders (not to every node seen).
   */
  async announce(
    infoHash: string | Uint8Array,
    port?: number,
    opts: AnnounceOptions = {}
  ): Promise<AnnounceResult> {
    const ih = parseInfoHash(infoHash);
    if (port === undefined && !opts.impliedPort) {
      throw new InvalidArgumentError('ERR_INVALID_PORT', 'announce needs a port (or impliedPort: true)');
    }
    const tcpPort = port === undefined ? this.address().port : validatePort(port);
    const { peers, lookup } = await this.getPeers(ih, opts);
    const targets = lookup.closest.filter((r) => r.token !== undefined).slice(0, this.k);
    const results = await Promise.allSettled(
      targets.map((t) =>
        this.query(
          t.node,
          {
            method: 'announce_peer',
            id: this.id,
            infoHash: ih,
            port: tcpPort,
            token: t.token!,
            impliedPort: opts.impliedPort ?? false,
            ...(opts.seed ? { seed: true } : {})
          },
          opts.signal
        )
      )
    );
    if (opts.signal?.aborted) throw new AbortError();
    const storedOn = results.filter((r) => r.status === 'fulfilled').length;
    return { storedOn, targets: targets.length, peers, lookup, queries: lookup.queries + targets.length };
  }

  /**
   * BEP 33 scrape: estimated seeders and leechers of `infoHash`, from the bloom filters of the
   * k closest nodes (get_peers with scrape=1). Accurate to a few percent up to ~6,000 each.
   */
  async scrape(infoHash: string | Uint8Array, opts: LookupOptionsPublic = {}): Promise<ScrapeResult> {
    const ih = parseInfoHash(infoHash);
    await this.readyForLookups();
    return runScrape(this.lookups, this.id, ih, opts.signal);
  }

  /**
   * BEP 44: store an immutable value (bytes, a string, an integer, or lists/dictionaries of
   * them; at most 1000 bytes bencoded) on the k closest nodes to its SHA-1. `target` in the
   * result is the key to get it back with.
   */
  async putImmutable(value: ItemValue, opts: LookupOptionsPublic = {}): Promise<PutResult> {
    await this.readyForLookups();
    return items.putImmutable(this.itemClient, value, opts.signal);
  }

  /** BEP 44: the immutable value stored under `target` (its SHA-1), verified; null if none found. */
  async getImmutable(
    target: string | Uint8Array,
    opts: LookupOptionsPublic = {}
  ): Promise<ImmutableItem | null> {
    const t = parseNodeId(target);
    await this.readyForLookups();
    return items.getImmutable(this.itemClient, t, opts.signal);
  }

  /**
   * BEP 44: sign and store a mutable value under an ed25519 key (and optional salt). `seq`
   * defaults to one more than the highest found in the DHT. Nodes holding a newer seq refuse
   * (their codes are in `refusals`).
   */
  async putMutable(opts: PutMutableOptions): Promise<PutResult> {
    await this.readyForLookups();
    return items.putMutable(this.itemClient, opts);
  }

  /** BEP 44: the verified mutable value with the highest seq under `publicKey` (+ salt); null if none. */
  async getMutable(
    publicKey: string | Uint8Array,
    opts: GetMutableOptions = {}
  ): Promise<MutableItem | null> {
    const key = parsePublicKey(publicKey);
    await this.readyForLookups();
    return items.getMutable(this.itemClient, key, opts);
  }

  /**
   * BEP 44: put an item again as it was read (same value, seq and signature), to keep it alive
   * on the nodes closest to it; anyone may, no key needed. Items expire after ~2 h otherwise.
   */
  async republish(item: ImmutableItem | MutableItem, opts: LookupOptionsPublic = {}): Promise<PutResult> {
    await this.readyForLookups();
    return items.republish(this.itemClient, item, opts.signal);
  }

  /** Iterative find_node: the k closest nodes to `target` that answered. */
  async findNode(target: string | Uint8Array, opts: LookupOptionsPublic = {}): Promise<LookupResult> {
    const t = parseNodeId(target);
    this.assertUsable();
    const result = await this.lookups.run(t, 'find_node', opts.signal);
    if (result.aborted) throw new AbortError();
    return result;
  }

  /** Ping a node; resolves with its id. */
  async ping(address: string | Address, opts: LookupOptionsPublic = {}): Promise<Uint8Array> {
    const addr = parseHostPort(address);
    const reply = await this.query(addr, { method: 'ping', id: this.id }, opts.signal);
    return reply.id;
  }

  /** BEP 51: ask one node for a sample of the infohashes it stores. */
  async sampleInfohashes(
    node: string | Address,
    target?: Uint8Array,
    opts: LookupOptionsPublic = {}
  ): Promise<SampleInfohashesResult> {
    const addr = parseHostPort(node);
    const t = target ? parseNodeId(target) : randomId(this.random);
    const body = await this.query(addr, { method: 'sample_infohashes', id: this.id, target: t }, opts.signal);
    return {
      id: body.id,
      supported: body.samples !== undefined,
      samples: body.samples ?? [],
      num: body.num ?? 0,
      interval: body.interval ?? 0,
      nodes: body.nodes ?? []
    };
  }

  /** Add a known node address (it is pinged and enters the table if it answers). */
  async addNode(address: string | Address): Promise<void> {
    await this.ping(address);
  }

  /** Counters and table/store sizes. */
  stats(): DhtStats {
    const rpc = this.rpc;
    const base: RpcCounters = rpc ? structuredClone(rpc.counters) : emptyRpcCounters();
    const all = this.table ? this.table.all() : [];
    return {
      ...base,
      nodes: all.length,
      goodNodes: all.filter((c) => this.table.state(c) === 'good').length,
      storedInfoHashes: this.peers.infoHashCount(),
      storedPeers: this.peers.peerCount(),
      storedItems: this.items.size(),
      inflight: rpc ? rpc.inflight() : 0,
      lookups: this.lookups.count
    };
  }

  /** Our IP address as other nodes report it (BEP 42 voting), or null while unknown. */
  externalAddress(): string | null {
    return this.externalIp.address;
  }

  /** The nodes of our routing table (for persistence or inspection). */
  nodes(): NodeInfo[] {
    return this.table ? this.table.all().map((c) => ({ id: c.id, host: c.host, port: c.port })) : [];
  }

  /** Save id and routing table to `path` (default: options.statePath), atomically. */
  async saveState(path = this.opts.statePath): Promise<void> {
    if (!path)
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'saveState needs a path (or options.statePath)');
    await saveState(path, this.currentState());
  }

  private currentState(): DhtState {
    return { id: this.id, nodes: this.nodes() };
  }

  /** Stop everything: lookups, timers, sockets. Saves the state first when statePath is set. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    // Stop the work first (a join in progress included), then wait for start() to unwind.
    this.lookups.abortAll();
    this.joining?.abort();
    this.rpc?.close();
    this.markBound();
    await this.ready.catch(() => {});
    this.maintenance?.stop();
    await this.stateStore?.close(this.table ? this.currentState() : null);
    this.rpc?.close();
    await this.transport?.close();
    this.removeAllListeners();
  }

  // --- internals -------------------------------------------------------------------------

  private async start(bootstrap: Address[]): Promise<void> {
    const state = (await this.stateStore?.open(() => this.destroyed)) ?? null;
    // A state file another node holds lends us its nodes, not its id (see state-lock.ts).
    if (state && this.opts.nodeId === undefined && this.stateStore?.writable) this.id = state.id;
    this.transport =
      this.opts.transport ??
      (await createUdpTransport({ host: this.opts.host ?? '0.0.0.0', port: this.opts.port ?? 0 }));
    // A refused send fails the queries to its address (the node is unreachable from here, not
    // the node's own trouble); the shared port also reports uTP's refused sends, which match none.
    this.transport.onError((err) => {
      if (err instanceof SendError) this.rpc?.sendFailed(err);
      else this.emit('warning', err);
    });
    if (this.destroyed) {
      await this.transport.close();
      throw new DestroyedError();
    }
    this.rpc = new RpcSocket({
      transport: this.transport,
      clock: this.clock,
      random: this.random,
      timeoutMs: this.opts.queryTimeoutMs ?? QUERY_TIMEOUT_MS,
      ...(this.opts.maxInflight ? { maxInflight: this.opts.maxInflight } : {}),
      ...(this.opts.maxQueriesPerSecond ? { maxQueriesPerSecond: this.opts.maxQueriesPerSecond } : {}),
      readOnly: this.opts.readOnly ?? false,
      version: CLIENT_VERSION,
      ...(this.protections.inbound
        ? { inbound: new InboundLimiter(this.clock, this.protections.inbound) }
        : {}),
      maxBytesPerSecond: this.protections.maxBytesPerSecond
    });
    const own = this.transport.address();
    this.ownAddress = own;
    this.ipv6 = own.host.includes(':');
    this.table = new RoutingTable({
      localId: this.id,
      now: () => this.clock.now(),
      k: this.k,
      isOwnAddress: (host, port) => this.isOwn({ host, port }),
      ...(this.diversity ? { diversity: this.diversity } : {})
    });
    this.admission = new Admission({
      table: this.table,
      ping: (node, expectedId) => this.query(node, { method: 'ping', id: this.id }, undefined, expectedId),
      onAdded: (node) => this.emit('node', node),
      isOwn: (a) => this.isOwn(a),
      isClosed: () => this.destroyed
    });
    this.queryHost = {
      rpc: this.rpc,
      clock: this.clock,
      nodeFailed: (id) => this.table.nodeFailed(id),
      answered: (node, rtt) => this.admission?.answered(node, rtt),
      voteExternalIp: (voter, reported) => this.voteExternalIp(voter, reported)
    };
    if (!this.opts.readOnly) {
      // One context for every query (built per query, it cost three closures each time).
      const server: ServerContext = (this.server = {
        localId: this.id,
        k: this.k,
        table: this.table,
        tokens: this.tokens,
        peers: this.peers,
        rpc: this.rpc,
        items: this.items,
        closestNodes: (target) => this.table.closest(target, this.k, isNotBad),
        sampleIntervalSeconds: this.opts.sampleIntervalSeconds ?? 21600,
        onAnnounce: (ih, peer, node) => this.emit('announce', peer, ih, node),
        onInfoHash: (ih, kind, node) => this.emit('infohash', ih, kind, node),
        onQueryFrom: (node) => this.admission?.queried(node)
      });
      this.rpc.onQuery((msg, from) => handleQuery(server, msg, from));
    }
    for (const n of state?.nodes ?? []) this.table.restore(n);
    for (const n of this.knownNodes ?? []) this.table.restore(n);
    this.knownNodes = null;
    this.bootstrapAddresses = await resolveBootstrap(bootstrap, this.ipv6 ? 6 : 4, (err) =>
      this.emit('warning', err)
    );
    if (this.destroyed) throw new DestroyedError();
    this.markBound();
    this.maintenance = new Maintenance({
      clock: this.clock,
      random: this.random,
      table: this.table,
      peers: this.peers,
      intervalMs: this.opts.maintenanceIntervalMs ?? 60_000,
      saveIntervalMs: this.opts.saveIntervalMs ?? 5 * 60_000,
      refresh: (target) => this.lookups.run(target, 'find_node').then(() => {}),
      ping: (node) => this.query(node, { method: 'ping', id: this.id }, undefined, node.id).then(() => {}),
      save: this.stateStore?.writable ? () => this.stateStore!.save(this.currentState()) : null,
      warn: (err) => this.emit('warning', err)
    });
    // No await since the last `destroyed` check: destroy() from here on aborts this controller.
    const joining = (this.joining = new AbortController());
    await join({
      id: this.id,
      k: this.k,
      clock: this.clock,
      random: this.random,
      table: this.table,
      lookups: this.lookups,
      hasBootstrap: this.bootstrapAddresses.length > 0,
      delayMs: this.opts.joinDelayMs ?? 0,
      signal: joining.signal,
      warn: (err) => this.emit('warning', err)
    }).finally(() => (this.joining = null));
    this.maintenance.start();
    this.emit('ready');
  }

  /** get_peers lookup; every distinct peer goes to `onPeer` and the 'peer' event. */
  private findPeersInternal(
    ih: Uint8Array,
    signal: AbortSignal | undefined,
    onPeer: (p: Address) => void
  ): Promise<LookupResult> {
    this.assertUsable();
    return this.lookups.getPeers(ih, signal, (p, from) => {
      onPeer(p);
      this.emit('peer', p, ih, from);
    });
  }

  /** Send a query once the socket is up; its outcome updates the table (tracked-query.ts). */
  private async query(
    to: Address,
    query: Query,
    signal?: AbortSignal,
    expectedId?: Uint8Array,
    timeoutMs?: number
  ): Promise<ResponseBody> {
    await this.readyForLookups();
    return trackedQuery(this.queryHost!, to, query, { signal, expectedId, timeoutMs });
  }

  /**
   * A reply told us our address. When the vote settles on a new public address and our id does
   * not match it (BEP 42), take an id derived from it, unless the user chose the id.
   */
  private voteExternalIp(voter: string, reported: string): void {
    const winner = this.externalIp.vote(voter, reported);
    if (winner === null) return;
    this.emit('external-ip', winner);
    if (!this.protections.bep42 || this.opts.nodeId !== undefined || this.destroyed) return;
    if (ipScope(winner) !== 'public' || isBep42Compliant(this.id, winner)) return;
    const id = bep42Id(winner, this.random);
    if (!id) return;
    this.id = id;
    this.table.setLocalId(id);
    if (this.server) this.server.localId = id;
    this.emit('node-id', id);
    // Our neighbourhood moved with the id: look it up, as a join does.
    this.lookups.run(id, 'find_node').catch(() => {});
  }

  private isOwn(n: Address): boolean {
    const own = this.ownAddress;
    return (
      !!own && n.port === own.port && (n.host === own.host || own.host === '0.0.0.0' || own.host === '::')
    );
  }

  private async readyForLookups(): Promise<void> {
    if (!this.rpc) await this.bound;
    this.assertUsable();
  }

  private assertUsable(): void {
    if (this.destroyed) throw new DestroyedError();
  }
}
