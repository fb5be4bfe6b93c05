/**
 * Iterative lookups run by a DHT node: seeds from its routing table (the bootstrap nodes when
 * the table is thin), one generic Kademlia walk (lookup/lookup.ts) over our RPC, and the
 * bookkeeping the node needs — a count, and every running lookup abortable at destroy().
 */
import { EMPTY_SET } from '../util/empty.js';
import { formatAddress, type Address } from '../net/address.js';
import type { NodeInfo, Query, ResponseBody } from '../krpc/types.js';
import type { SubnetKey } from '../net/ip-class.js';
import { runLookup, type LookupQuery, type LookupResult } from '../lookup/lookup.js';
import { type RoutingTable, isNotBad } from '../routing/routing-table.js';
import { linkedController } from '../util/abort.js';
import { bytesEqual } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';

export type LookupMethod = 'find_node' | 'get_peers';

/**
 * A walk with a query the caller builds (get_peers with scrape, BEP 44 get): `onReply` sees
 * every reply's whole body, after the responder was checked and fed to the routing table.
 */
export interface CustomLookup {
  query: Query;
  onReply(body: ResponseBody, from: NodeInfo): void;
}

export interface NodeLookupsOptions {
  clock: Clock;
  k: number;
  alpha: number;
  queryTimeoutMs: number;
  /** How long to wait for `node` before the lookup widens past it (from measured RTTs). */
  slowAfter(node: NodeInfo): number;
  /** BEP 42 check for lookup termination and announce targets (absent: all count). */
  verified?: (node: NodeInfo) => boolean;
  /** IP diversity within one lookup (absent: none). */
  subnetOf?: (node: NodeInfo) => SubnetKey | null;
  maxPerSubnet?: number;
  /** Our id (read per lookup: a saved state may set it during start). */
  localId(): Uint8Array;
  table(): RoutingTable;
  bootstrap(): Address[];
  /** Our socket speaks IPv6: follow `nodes6` (BEP 32), else `nodes`. */
  ipv6(): boolean;
  isOwn(address: Address): boolean;
  /** Resolves once the node is bound; throws once it is destroyed. */
  ready(): Promise<void>;
  /** One query to `to`; checks `expectedId` and feeds the routing table. */
  query(
    to: Address,
    query: Query,
    signal: AbortSignal | undefined,
    expectedId: Uint8Array | undefined,
    timeoutMs: number | undefined
  ): Promise<ResponseBody>;
}

export class NodeLookups {
  /** Lookups started so far. */
  count = 0;
  private running: ReadonlySet<AbortController> = EMPTY_SET;

  constructor(private readonly o: NodeLookupsOptions) {}

  /** Walk towards `target`; `onValues` sees each get_peers reply's peers. */
  async run(
    target: Uint8Array,
    method: LookupMethod | CustomLookup,
    signal?: AbortSignal,
    withBootstrap = false,
    onValues?: (values: Address[], from: NodeInfo) => void
  ): Promise<LookupResult> {
    await this.o.ready();
    const controller = linkedController(signal);
    this.ownRunning().add(controller);
    this.count++;
    const { k } = this.o;
    const localId = this.o.localId();
    // Plain copies: the lookup's result hands these nodes to the caller, who may keep or spread
    // them (a table contact builds its host text on read, which a spread would not copy).
    const seeds = this.o
      .table()
      .closest(target, k * 2, isNotBad)
      .map((c) => ({ id: c.id, host: c.host, port: c.port }));
    const useBootstrap = withBootstrap || seeds.length < k;
    try {
      return await runLookup({
        target,
        clock: this.o.clock,
        seeds,
        ...(useBootstrap ? { bootstrap: this.o.bootstrap() } : {}),
        k,
        alpha: this.o.alpha,
        slowAfterMs: (node) => this.o.slowAfter(node),
        ...(this.o.verified ? { verified: this.o.verified } : {}),
        ...(this.o.subnetOf ? { subnetOf: this.o.subnetOf, maxPerSubnet: this.o.maxPerSubnet ?? 1 } : {}),
        signal: controller.signal,
        exclude: (n) => bytesEqual(n.id, localId) || this.o.isOwn(n),
        query: this.queryFor(method, target, localId),
        ...(onValues ? { onValues } : {})
      });
    } finally {
      this.ownRunning().delete(controller);
      controller.dispose();
    }
  }

  /** get_peers lookup reporting each distinct peer once. */
  getPeers(
    infoHash: Uint8Array,
    signal: AbortSignal | undefined,
    onPeer: (peer: Address, from: NodeInfo) => void
  ): Promise<LookupResult> {
    const seen = new Set<string>();
    return this.run(infoHash, 'get_peers', signal, false, (values, from) => {
      for (const p of values) {
        const key = formatAddress(p);
        if (seen.has(key)) continue;
        seen.add(key);
        onPeer(p, from);
      }
    });
  }

  /** Abort every running lookup (the node is going away). */
  abortAll(): void {
    for (const c of this.running) c.abort();
    this.running = EMPTY_SET;
  }

  private queryFor(method: LookupMethod | CustomLookup, target: Uint8Array, id: Uint8Array): LookupQuery {
    const query: Query =
      typeof method !== 'string'
        ? method.query
        : method === 'find_node'
          ? { method, id, target }
          : { method, id, infoHash: target };
    const onReply = typeof method !== 'string' ? method.onReply : undefined;
    const timeoutMs = this.o.queryTimeoutMs;
    return async (node, signal, attempt) => {
      // A retry only covers a lost datagram: give it a short timeout so a dead node stays cheap.
      const retryTimeout = attempt > 1 ? Math.max(250, Math.floor(timeoutMs / 4)) : undefined;
      const body = await this.o.query(node, query, signal, node.id, retryTimeout);
      onReply?.(body, { id: body.id, host: node.host, port: node.port });
      // Our socket speaks one family: keep the contacts we can reach (BEP 32).
      const nodes = this.o.ipv6() ? (body.nodes6 ?? []) : (body.nodes ?? []);
      return {
        id: body.id,
        nodes,
        ...(body.token ? { token: body.token } : {}),
        ...(body.values ? { values: body.values } : {})
      };
    };
  }

  private ownRunning(): Set<AbortController> {
    if (this.running === EMPTY_SET) this.running = new Set();
    return this.running as Set<AbortController>;
  }
}
