/**
 * Iterative lookups run by a DHT node: seeds from its routing table (the bootstrap nodes when
 * the table is thin), one generic Kademlia walk (lookup/lookup.ts) over our RPC, and the
 * bookkeeping the node needs — a count, and every running lookup abortable at destroy().
 */
import { EMPTY_SET } from '../util/empty.js';
import { formatAddress, type Address } from '../net/address.js';
import type { NodeInfo, Query, ResponseBody } from '../krpc/types.js';
import type { IpDiversity } from '../routing/ip-diversity.js';
import { isBep42Compliant } from '../id/bep42.js';
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

/** What lookups need from their node (node-core.ts), read when each lookup starts. */
export interface LookupHost {
  readonly clock: Clock;
  readonly k: number;
  readonly alpha: number;
  readonly queryTimeoutMs: number;
  /** Our id (a saved state may set it during start; BEP 42 may change it). */
  readonly localId: Uint8Array;
  readonly table: RoutingTable;
  readonly bootstrapAddresses: readonly Address[];
  /** Our socket speaks IPv6: follow `nodes6` (BEP 32), else `nodes`. */
  readonly ipv6: boolean;
  /** BEP 42: only compliant nodes count for termination and announce targets. */
  readonly bep42: boolean;
  /** IP diversity within one lookup (absent: none). */
  readonly diversity: IpDiversity | undefined;
  /** How long to wait for `node` before the lookup widens past it (from measured RTTs). */
  slowAfter(node: NodeInfo): number;
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

/** BEP 42 check of a lookup's responders (one function for every node and lookup). */
const bep42Verified = (n: NodeInfo): boolean => isBep42Compliant(n.id, n.host);

export class NodeLookups {
  /** Lookups started so far. */
  count = 0;
  private running: ReadonlySet<AbortController> = EMPTY_SET;

  constructor(private readonly host: LookupHost) {}

  /** Walk towards `target`; `onValues` sees each get_peers reply's peers. */
  async run(
    target: Uint8Array,
    method: LookupMethod | CustomLookup,
    signal?: AbortSignal,
    withBootstrap = false,
    onValues?: (values: Address[], from: NodeInfo) => void
  ): Promise<LookupResult> {
    const host = this.host;
    await host.ready();
    const controller = linkedController(signal);
    this.ownRunning().add(controller);
    this.count++;
    const { k, diversity } = host;
    const localId = host.localId;
    // Plain copies: the lookup's result hands these nodes to the caller, who may keep or spread
    // them (a table contact builds its host text on read, which a spread would not copy).
    const seeds = host.table
      .closest(target, k * 2, isNotBad)
      .map((c) => ({ id: c.id, host: c.host, port: c.port }));
    const useBootstrap = withBootstrap || seeds.length < k;
    try {
      return await runLookup({
        target,
        clock: host.clock,
        seeds,
        ...(useBootstrap ? { bootstrap: host.bootstrapAddresses } : {}),
        k,
        alpha: host.alpha,
        slowAfterMs: (node) => host.slowAfter(node),
        ...(host.bep42 ? { verified: bep42Verified } : {}),
        ...(diversity
          ? {
              subnetOf: (n: NodeInfo) => diversity.subnetOf(n.host),
              maxPerSubnet: diversity.maxPerSubnetPerLookup
            }
          : {}),
        signal: controller.signal,
        exclude: (n) => bytesEqual(n.id, localId) || host.isOwn(n),
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
    const host = this.host;
    const timeoutMs = host.queryTimeoutMs;
    return async (node, signal, attempt) => {
      // A retry only covers a lost datagram: give it a short timeout so a dead node stays cheap.
      const retryTimeout = attempt > 1 ? Math.max(250, Math.floor(timeoutMs / 4)) : undefined;
      const body = await host.query(node, query, signal, node.id, retryTimeout);
      onReply?.(body, { id: body.id, host: node.host, port: node.port });
      // Our socket speaks one family: keep the contacts we can reach (BEP 32).
      const nodes = host.ipv6 ? (body.nodes6 ?? []) : (body.nodes ?? []);
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
