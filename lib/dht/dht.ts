/**
 * The public DHT node (BEP 5): composition root of transport, RPC, routing table, stores and
 * lookups. Inbound queries are served by server.ts, iterative lookups run in node-lookups.ts,
 * table admission is admission.ts, periodic upkeep maintenance.ts, the state file state-store.ts.
 */
import { type Address, parseHostPort, validatePort } from '../net/address.js';
import type { NodeInfo } from '../krpc/types.js';
import type { Transport } from '../net/transport.js';
import { createUdpTransport } from '../net/udp-transport.js';
import { emptyRpcCounters, type RpcCounters } from '../rpc/rpc-socket.js';
import type { LookupResult } from '../lookup/lookup.js';
import * as items from './items.js';
import type { GetMutableOptions, PutMutableOptions, PutResult } from './items.js';
import type { ImmutableItem, ItemValue, MutableItem } from '../item/item.js';
import { parsePublicKey } from '../item/ed25519.js';
import { Maintenance } from './maintenance.js';
import { saveState, type DhtState } from './state-file.js';
import { StateStore } from './state-store.js';
import { resolveBootstrap } from '../net/resolve.js';
import { NodeCore, type EventSink } from './node-core.js';
import { linkedController } from '../util/abort.js';
import { join } from './join.js';
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
import { parseInfoHash, parseNodeId, randomId } from '../id/node-id.js';
import { AbortError, DestroyedError, InvalidArgumentError, SendError, StateError } from '../errors.js';
import { DEFAULT_BOOTSTRAP } from '../constants.js';

export class DHT extends TypedEmitter<DhtEvents> {
  /** Resolves once bound and bootstrapped (never rejects for bootstrap failures; see 'warning'). */
  readonly ready: Promise<void>;
  private readonly opts: DhtOptions;
  /** What the node's parts share (id, socket, table, stores) and call on each other. */
  private readonly core: NodeCore;
  private transport: Transport | null = null;
  private maintenance: Maintenance | null = null;
  private destroyed = false;
  /** The state file (opts.statePath), locked and saved while we hold it. */
  private readonly stateStore: StateStore | null;
  /** `listening`, made when first asked for. */
  private listeningPromise: Promise<Address> | null = null;
  /** opts.knownNodes until start() has put them in the table. */
  private knownNodes: ReadonlyArray<NodeInfo> | null;
  /**
   * Aborted by destroy(): ends the join (its delay included). Made for the join and dropped
   * after it: an AbortSignal is an EventTarget with two Maps (~700 bytes) an idle node needs not.
   */
  private joining: AbortController | null = null;

  /**
   * How the node's core reports through this DHT's events: `emit` is protected (users listen,
   * only the node emits), and code in this class body may call it. One small object with its
   * method on the prototype, where an arrow function cost a closure and its context (~100 bytes).
   */
  private static readonly Events = class implements EventSink {
    constructor(private readonly dht: DHT) {}
    emit<E extends keyof DhtEvents>(event: E, ...args: DhtEvents[E]): void {
      this.dht.emit(event, ...args);
    }
  };

  /** Create a node and wait until it is ready. */
  static async create(opts: DhtOptions = {}): Promise<DHT> {
    const dht = new DHT(opts);
    await dht.ready;
    return dht;
  }

  constructor(opts: DhtOptions = {}) {
    super();
    // The known nodes and the bootstrap list are needed once, at start: not kept with the
    // options for the node's life.
    const { knownNodes, bootstrap: bootstrapOption, ...rest } = opts;
    this.opts = rest;
    this.knownNodes = knownNodes ?? null;
    validateStartOptions(opts);
    this.core = new NodeCore(rest, new DHT.Events(this));
    this.stateStore = opts.statePath
      ? new StateStore(opts.statePath, (err) => this.emit('warning', err))
      : null;
    const bootstrap = (bootstrapOption ?? DEFAULT_BOOTSTRAP).map((b) => parseHostPort(b));
    this.ready = this.start(bootstrap);
    this.ready.catch(() => {}); // surfaced to whoever awaits `ready`
  }

  /** Resolves with our UDP address as soon as the socket is bound (before bootstrap ends). */
  get listening(): Promise<Address> {
    if (this.listeningPromise === null) {
      this.listeningPromise = this.core.bound.then(() => this.address());
      this.listeningPromise.catch(() => {});
    }
    return this.listeningPromise;
  }

  /** Our node id (20 bytes). */
  get nodeId(): Uint8Array {
    return this.core.localId;
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
    const targets = lookup.closest.filter((r) => r.token !== undefined).slice(0, this.core.k);
    const results = await Promise.allSettled(
      targets.map((t) =>
        this.core.query(
          t.node,
          {
            method: 'announce_peer',
            id: this.core.localId,
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
    await this.core.ready();
    return runScrape(this.core.lookups, this.core.localId, ih, opts.signal);
  }

  /**
   * BEP 44: store an immutable value (bytes, a string, an integer, or lists/dictionaries of
   * them; at most 1000 bytes bencoded) on the k closest nodes to its SHA-1. `target` in the
   * result is the key to get it back with.
   */
  async putImmutable(value: ItemValue, opts: LookupOptionsPublic = {}): Promise<PutResult> {
    await this.core.ready();
    return items.putImmutable(this.core, value, opts.signal);
  }

  /** BEP 44: the immutable value stored under `target` (its SHA-1), verified; null if none found. */
  async getImmutable(
    target: string | Uint8Array,
    opts: LookupOptionsPublic = {}
  ): Promise<ImmutableItem | null> {
    const t = parseNodeId(target);
    await this.core.ready();
    return items.getImmutable(this.core, t, opts.signal);
  }

  /**
   * BEP 44: sign and store a mutable value under an ed25519 key (and optional salt). `seq`
   * defaults to one more than the highest found in the DHT. Nodes holding a newer seq refuse
   * (their codes are in `refusals`).
   */
  async putMutable(opts: PutMutableOptions): Promise<PutResult> {
    await this.core.ready();
    return items.putMutable(this.core, opts);
  }

  /** BEP 44: the verified mutable value with the highest seq under `publicKey` (+ salt); null if none. */
  async getMutable(
    publicKey: string | Uint8Array,
    opts: GetMutableOptions = {}
  ): Promise<MutableItem | null> {
    const key = parsePublicKey(publicKey);
    await this.core.ready();
    return items.getMutable(this.core, key, opts);
  }

  /**
   * BEP 44: put an item again as it was read (same value, seq and signature), to keep it alive
   * on the nodes closest to it; anyone may, no key needed. Items expire after ~2 h otherwise.
   */
  async republish(item: ImmutableItem | MutableItem, opts: LookupOptionsPublic = {}): Promise<PutResult> {
    await this.core.ready();
    return items.republish(this.core, item, opts.signal);
  }

  /** Iterative find_node: the k closest nodes to `target` that answered. */
  async findNode(target: string | Uint8Array, opts: LookupOptionsPublic = {}): Promise<LookupResult> {
    const t = parseNodeId(target);
    this.assertUsable();
    const result = await this.core.lookups.run(t, 'find_node', opts.signal);
    if (result.aborted) throw new AbortError();
    return result;
  }

  /** Ping a node; resolves with its id. */
  async ping(address: string | Address, opts: LookupOptionsPublic = {}): Promise<Uint8Array> {
    const addr = parseHostPort(address);
    const reply = await this.core.query(addr, { method: 'ping', id: this.core.localId }, opts.signal);
    return reply.id;
  }

  /** BEP 51: ask one node for a sample of the infohashes it stores. */
  async sampleInfohashes(
    node: string | Address,
    target?: Uint8Array,
    opts: LookupOptionsPublic = {}
  ): Promise<SampleInfohashesResult> {
    const addr = parseHostPort(node);
    const t = target ? parseNodeId(target) : randomId(this.core.random);
    const body = await this.core.query(
      addr,
      { method: 'sample_infohashes', id: this.core.localId, target: t },
      opts.signal
    );
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
    const core = this.core;
    const bound = core.isBound();
    const base: RpcCounters = structuredClone(bound ? core.rpc.counters : emptyRpcCounters());
    const all = bound ? core.table.all() : [];
    const stored = core.storedCounts();
    return {
      ...base,
      nodes: all.length,
      goodNodes: all.filter((c) => core.table.state(c) === 'good').length,
      storedInfoHashes: stored.infoHashes,
      storedPeers: stored.peers,
      storedItems: stored.items,
      inflight: bound ? core.rpc.inflight() : 0,
      lookups: core.lookups.count
    };
  }

  /** Our IP address as other nodes report it (BEP 42 voting), or null while unknown. */
  externalAddress(): string | null {
    return this.core.externalAddress;
  }

  /** The nodes of our routing table (for persistence or inspection). */
  nodes(): NodeInfo[] {
    if (!this.core.isBound()) return [];
    return this.core.table.all().map((c) => ({ id: c.id, host: c.host, port: c.port }));
  }

  /** Save id and routing table to `path` (default: options.statePath), atomically. */
  async saveState(path = this.opts.statePath): Promise<void> {
    if (!path)
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'saveState needs a path (or options.statePath)');
    await saveState(path, this.currentState());
  }

  private currentState(): DhtState {
    return { id: this.core.localId, nodes: this.nodes() };
  }

  /** Stop everything: lookups, timers, sockets. Saves the state first when statePath is set. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    // Stop the work first (a join in progress included), then wait for start() to unwind.
    this.core.close();
    this.joining?.abort();
    await this.ready.catch(() => {});
    this.maintenance?.stop();
    await this.stateStore?.close(this.core.isBound() ? this.currentState() : null);
    this.core.close();
    await this.transport?.close();
    this.removeAllListeners();
  }

  // --- internals -------------------------------------------------------------------------

  private async start(bootstrap: Address[]): Promise<void> {
    const core = this.core;
    const state = (await this.stateStore?.open(() => this.destroyed)) ?? null;
    // A state file another node holds lends us its nodes, not its id (see state-lock.ts).
    if (state && this.opts.nodeId === undefined && this.stateStore?.writable) core.useSavedId(state.id);
    const transport = (this.transport =
      this.opts.transport ??
      (await createUdpTransport({ host: this.opts.host ?? '0.0.0.0', port: this.opts.port ?? 0 })));
    // A refused send fails the queries to its address (the node is unreachable from here, not
    // the node's own trouble); the shared port also reports uTP's refused sends, which match none.
    transport.onError((err) => {
      if (err instanceof SendError) {
        if (core.isBound()) core.rpc.sendFailed(err);
      } else this.emit('warning', err);
    });
    if (this.destroyed) {
      await transport.close();
      throw new DestroyedError();
    }
    core.bind(transport);
    for (const n of state?.nodes ?? []) core.table.restore(n);
    for (const n of this.knownNodes ?? []) core.table.restore(n);
    this.knownNodes = null;
    const addresses = await resolveBootstrap(bootstrap, core.ipv6 ? 6 : 4, (err) =>
      this.emit('warning', err)
    );
    if (this.destroyed) throw new DestroyedError();
    core.markReady(addresses);
    const store = this.stateStore;
    this.maintenance = new Maintenance(
      core,
      this.opts.maintenanceIntervalMs ?? 60_000,
      this.opts.saveIntervalMs ?? 5 * 60_000,
      store?.writable ? () => store.save(this.currentState()) : null
    );
    // No await since the last `destroyed` check: destroy() from here on aborts this controller.
    const joining = (this.joining = new AbortController());
    await join({
      id: core.localId,
      k: core.k,
      clock: core.clock,
      random: core.random,
      table: core.table,
      lookups: core.lookups,
      hasBootstrap: addresses.length > 0,
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
    return this.core.lookups.getPeers(ih, signal, (p, from) => {
      onPeer(p);
      this.emit('peer', p, ih, from);
    });
  }

  private assertUsable(): void {
    if (this.destroyed) throw new DestroyedError();
  }
}
