/**
 * What the parts of one DHT node share, and the services they call on each other: the node's
 * id, its socket and routing table, its stores, and the outcome of each query. One object per
 * node with its methods on the prototype: each part (lookups, admission, the query server,
 * maintenance, the BEP 44 client, tracked queries) sees it through its own narrow interface,
 * where each part used to get a bag of closures of its own (~2.5 KB per node, most of what an
 * idle node costs). The DHT class is the public face: API, events, start and stop.
 *
 * One owner per field: this class writes every field below; the DHT hands it the socket
 * (`bind`) and closes it (`close`).
 */
import type { Address } from '../net/address.js';
import type { NodeInfo, Query, QueryMessage, ResponseBody } from '../krpc/types.js';
import { RpcSocket, type QueryServer } from '../rpc/rpc-socket.js';
import { InboundLimiter } from '../rpc/inbound-limiter.js';
import type { Transport } from '../net/transport.js';
import { isNotBad, RoutingTable } from '../routing/routing-table.js';
import { IpDiversity } from '../routing/ip-diversity.js';
import { TokenIssuer } from '../store/token-issuer.js';
import { PeerStore } from '../store/peer-store.js';
import { ItemStore } from '../store/item-store.js';
import { NodeLookups, type LookupHost } from './node-lookups.js';
import { Admission, type AdmissionHost } from './admission.js';
import { trackedQuery, type TrackedQueryHost } from './tracked-query.js';
import { handleQuery, type ServerContext } from './server.js';
import type { MaintenanceHost } from './maintenance.js';
import type { ItemClient } from './items.js';
import { ExternalIpVoter } from './external-ip.js';
import { resolveProtections, type Protections } from './protections.js';
import type { DhtOptions } from './options.js';
import type { DhtEvents } from './types.js';
import { bep42Id, isBep42Compliant } from '../id/bep42.js';
import { ipScope } from '../net/ip-class.js';
import { parseNodeId, randomId } from '../id/node-id.js';
import { systemClock, type Clock } from '../util/clock.js';
import { cryptoRandom, type RandomSource } from '../util/random.js';
import { keepBytes } from '../util/kept-bytes.js';
import { DestroyedError } from '../errors.js';
import { ALPHA, CLIENT_VERSION, K, MIN_SLOW_AFTER_MS, QUERY_TIMEOUT_MS } from '../constants.js';

/** How the node reports to its users: its DHT's events (dht.ts). */
export interface EventSink {
  emit<E extends keyof DhtEvents>(event: E, ...args: DhtEvents[E]): void;
}

const noop = (): void => {};
const NO_ADDRESSES: readonly Address[] = Object.freeze([]);

/** IpDiversity holds only its limits: nodes on the default ones share one. */
const DEFAULT_DIVERSITY_LIMITS = resolveProtections({}).diversity;
const DEFAULT_DIVERSITY = new IpDiversity(DEFAULT_DIVERSITY_LIMITS!);

function diversityFor(p: Protections): IpDiversity | undefined {
  if (!p.diversity) return undefined;
  return p.diversity === DEFAULT_DIVERSITY_LIMITS ? DEFAULT_DIVERSITY : new IpDiversity(p.diversity);
}

/** Default BEP 51 `interval`, seconds. */
const SAMPLE_INTERVAL_SECONDS = 21600;

export class NodeCore
  implements
    LookupHost,
    AdmissionHost,
    TrackedQueryHost,
    ServerContext,
    QueryServer,
    MaintenanceHost,
    ItemClient
{
  /** Our node id (BEP 42 may change it: see voteExternalIp). */
  localId: Uint8Array;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly k: number;
  readonly alpha: number;
  readonly queryTimeoutMs: number;
  readonly sampleIntervalSeconds: number;
  readonly protections: Protections;
  readonly diversity: IpDiversity | undefined;
  readonly lookups: NodeLookups;
  /** Set by bind(); nothing reads them before (queries wait for `ready`). */
  rpc!: RpcSocket;
  table!: RoutingTable;
  private admission: Admission | null = null;
  /** Our socket is IPv6 (we then use `nodes6`, BEP 32). */
  ipv6 = false;
  bootstrapAddresses: readonly Address[] = NO_ADDRESSES;
  /** Our socket's address (as two fields: an Address object of its own costs 40 bytes more). */
  private ownHost = '';
  private ownPort = -1;
  private closed = false;
  private madeTokens: TokenIssuer | null = null;
  private madePeers: PeerStore | null = null;
  private madeItems: ItemStore | null = null;
  private externalIp: ExternalIpVoter | null = null;
  /** `bound`, made when first asked for before it is due (nobody waits for most nodes). */
  private boundPromise: Promise<void> | null = null;
  /**
   * Resolves `boundPromise` (noop while nobody waits); null once markReady() or close() has run
   * (it holds the promise's resolving context: dropped once called).
   */
  private markBound: (() => void) | null = noop;

  constructor(
    private readonly opts: DhtOptions,
    private readonly events: EventSink
  ) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? cryptoRandom;
    this.k = opts.k ?? K;
    this.alpha = opts.alpha ?? ALPHA;
    this.queryTimeoutMs = opts.queryTimeoutMs ?? QUERY_TIMEOUT_MS;
    this.sampleIntervalSeconds = opts.sampleIntervalSeconds ?? SAMPLE_INTERVAL_SECONDS;
    this.localId = keepBytes(opts.nodeId !== undefined ? parseNodeId(opts.nodeId) : randomId(this.random));
    this.protections = resolveProtections(opts);
    this.diversity = diversityFor(this.protections);
    this.lookups = new NodeLookups(this);
    // The stores are made on first use; with options of their own, at once, so that a bad
    // option throws here rather than on the first query.
    if (opts.tokenRotateMs) void this.tokens;
    if (opts.maxStoredInfoHashes || opts.maxPeersPerInfoHash || opts.peerTtlMs) void this.peers;
    if (opts.itemStore) void this.items;
  }

  /** Resolves once the socket is bound and the bootstrap list resolved (or the node is closed before). */
  get bound(): Promise<void> {
    return (this.boundPromise ??=
      this.markBound === null ? Promise.resolve() : new Promise((resolve) => (this.markBound = resolve)));
  }

  get bep42(): boolean {
    return this.protections.bep42;
  }

  /** announce_peer and BEP 44 write tokens. */
  get tokens(): TokenIssuer {
    return (this.madeTokens ??= new TokenIssuer({
      clock: this.clock,
      random: this.random,
      ...(this.opts.tokenRotateMs ? { rotateMs: this.opts.tokenRotateMs } : {})
    }));
  }

  /** Peers announced to us. */
  get peers(): PeerStore {
    return (this.madePeers ??= new PeerStore({
      clock: this.clock,
      random: this.random,
      ...(this.opts.maxStoredInfoHashes ? { maxInfoHashes: this.opts.maxStoredInfoHashes } : {}),
      ...(this.opts.maxPeersPerInfoHash ? { maxPeersPerInfoHash: this.opts.maxPeersPerInfoHash } : {}),
      ...(this.opts.peerTtlMs ? { ttlMs: this.opts.peerTtlMs } : {})
    }));
  }

  /** BEP 44 items put to us. */
  get items(): ItemStore {
    return (this.madeItems ??= new ItemStore({ clock: this.clock, ...this.opts.itemStore }));
  }

  /**
   * Which of the structures made on first use exist (for tests and inspection): an idle node
   * has none of them.
   */
  made(): {
    tokens: boolean;
    peers: boolean;
    items: boolean;
    externalIpVotes: boolean;
    rpcCounters: boolean;
    rtt: boolean;
  } {
    const rpc = this.isBound() ? this.rpc.made() : { counters: false, rtt: false };
    return {
      tokens: this.madeTokens !== null,
      peers: this.madePeers !== null,
      items: this.madeItems !== null,
      externalIpVotes: this.externalIp !== null,
      rpcCounters: rpc.counters,
      rtt: rpc.rtt
    };
  }

  /** Infohashes, peers and items stored, without making the stores to count them. */
  storedCounts(): { infoHashes: number; peers: number; items: number } {
    return {
      infoHashes: this.madePeers?.infoHashCount() ?? 0,
      peers: this.madePeers?.peerCount() ?? 0,
      items: this.madeItems?.size() ?? 0
    };
  }

  /** Our IP address as other nodes report it (BEP 42 voting), or null while unknown. */
  get externalAddress(): string | null {
    return this.externalIp?.address ?? null;
  }

  /** A saved state's id, taken before bind(). */
  useSavedId(id: Uint8Array): void {
    this.localId = keepBytes(id);
  }

  /** bind() has run: `rpc` and `table` exist. */
  isBound(): boolean {
    return this.admission !== null;
  }

  /** Take the bound socket: RPC, routing table, admission, and (unless read-only) the server. */
  bind(transport: Transport): void {
    this.rpc = new RpcSocket({
      transport,
      clock: this.clock,
      random: this.random,
      timeoutMs: this.queryTimeoutMs,
      ...(this.opts.maxInflight ? { maxInflight: this.opts.maxInflight } : {}),
      ...(this.opts.maxQueriesPerSecond ? { maxQueriesPerSecond: this.opts.maxQueriesPerSecond } : {}),
      readOnly: this.opts.readOnly ?? false,
      version: CLIENT_VERSION,
      ...(this.protections.inbound
        ? { inbound: new InboundLimiter(this.clock, this.protections.inbound) }
        : {}),
      maxBytesPerSecond: this.protections.maxBytesPerSecond
    });
    const own = transport.address();
    this.ownHost = own.host;
    this.ownPort = own.port;
    this.ipv6 = own.host.includes(':');
    this.table = new RoutingTable({
      localId: this.localId,
      owner: this,
      k: this.k,
      ...(this.diversity ? { diversity: this.diversity } : {})
    });
    this.admission = new Admission(this);
    if (!this.opts.readOnly) this.rpc.onQuery(this);
  }

  /** The socket is bound and the bootstrap list resolved: queries may go out. */
  markReady(bootstrap: readonly Address[]): void {
    this.bootstrapAddresses = bootstrap.length > 0 ? bootstrap : NO_ADDRESSES;
    this.releaseBound();
  }

  /** Stop: running lookups end, queries fail with DestroyedError, nothing more is admitted. */
  close(): void {
    this.closed = true;
    this.lookups.abortAll();
    this.releaseBound();
    if (this.isBound()) this.rpc.close();
  }

  // --- the parts' interfaces ---------------------------------------------------------------

  /** Resolves once the node is bound; throws once it is closed. */
  async ready(): Promise<void> {
    if (!this.isBound()) await this.bound;
    if (this.closed) throw new DestroyedError();
  }

  isClosed(): boolean {
    return this.closed;
  }

  /** The node's clock, for the routing table (which takes this node as its owner). */
  now(): number {
    return this.clock.now();
  }

  isOwn(n: Address): boolean {
    const host = this.ownHost;
    return n.port === this.ownPort && (n.host === host || host === '0.0.0.0' || host === '::');
  }

  /** Send a query once the socket is up; its outcome updates the table (tracked-query.ts). */
  async query(
    to: Address,
    query: Query,
    signal?: AbortSignal,
    expectedId?: Uint8Array,
    timeoutMs?: number
  ): Promise<ResponseBody> {
    await this.ready();
    return trackedQuery(this, to, query, { signal, expectedId, timeoutMs });
  }

  /** A query to a node whose id we know: the reply must come from that id. */
  queryNode(to: NodeInfo, query: Query, signal: AbortSignal | undefined): Promise<ResponseBody> {
    return this.query(to, query, signal, to.id);
  }

  ping(node: Address, expectedId?: Uint8Array): Promise<ResponseBody> {
    return this.query(node, { method: 'ping', id: this.localId }, undefined, expectedId);
  }

  /** A find_node lookup of `target` (bucket refresh). */
  async refresh(target: Uint8Array): Promise<void> {
    await this.lookups.run(target, 'find_node');
  }

  /** How long a lookup waits for `node` before it widens past it (from measured RTTs). */
  slowAfter(node: NodeInfo): number {
    const half = this.queryTimeoutMs / 2;
    if (!this.isBound()) return half;
    return this.rpc.rtt.slowAfter(MIN_SLOW_AFTER_MS, half, this.table.get(node.id)?.rtt);
  }

  closestNodes(target: Uint8Array): NodeInfo[] {
    return this.table.closest(target, this.k, isNotBad);
  }

  nodeFailed(id: Uint8Array): void {
    this.table.nodeFailed(id);
  }

  answered(node: NodeInfo, rtt: number): void {
    this.admission?.answered(node, rtt);
  }

  onAdded(node: NodeInfo): void {
    this.events.emit('node', node);
  }

  onQueryFrom(node: NodeInfo): void {
    this.admission?.queried(node);
  }

  onAnnounce(infoHash: Uint8Array, peer: Address, from: NodeInfo): void {
    this.events.emit('announce', peer, infoHash, from);
  }

  onInfoHash(infoHash: Uint8Array, kind: 'get_peers' | 'announce_peer', from: NodeInfo): void {
    this.events.emit('infohash', infoHash, kind, from);
  }

  /** Expire what the stores hold (the ones never made hold nothing). */
  pruneStores(): void {
    this.madePeers?.prune();
  }

  warn(err: Error): void {
    this.events.emit('warning', err);
  }

  /**
   * A reply told us our address. When the vote settles on a new public address and our id does
   * not match it (BEP 42), take an id derived from it, unless the user chose the id.
   */
  voteExternalIp(voter: string, reported: string): void {
    const winner = (this.externalIp ??= new ExternalIpVoter()).vote(voter, reported);
    if (winner === null) return;
    this.events.emit('external-ip', winner);
    if (!this.protections.bep42 || this.opts.nodeId !== undefined || this.closed) return;
    if (ipScope(winner) !== 'public' || isBep42Compliant(this.localId, winner)) return;
    const id = bep42Id(winner, this.random);
    if (!id) return;
    this.localId = keepBytes(id);
    this.table.setLocalId(this.localId);
    this.events.emit('node-id', this.localId);
    // Our neighbourhood moved with the id: look it up, as a join does.
    this.lookups.run(id, 'find_node').catch(() => {});
  }

  private releaseBound(): void {
    this.markBound?.();
    this.markBound = null;
  }

  /** A query to answer (server.ts). */
  serve(msg: QueryMessage, from: Address): void {
    handleQuery(this, msg, from);
  }
}
