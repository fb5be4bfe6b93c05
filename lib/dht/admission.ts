/**
 * Routing-table admission (BEP 5 liveness), kept out of the DHT's composition root.
 *
 * - A node that answered one of our queries is "seen". If its bucket is full of good nodes it
 *   is dropped; if the bucket holds a questionable node, that node is pinged and replaced only
 *   if it does not answer.
 * - A node that queried us enters the table only after it answers a ping of ours, and only if
 *   its bucket has a free slot: offering every questionable slot to strangers would make pings
 *   cascade through a network of freshly restarted (unverified) tables.
 *
 * Pending verifications are bounded so a flood of queriers cannot make us flood pings.
 */
import { EMPTY_SET } from '../util/empty.js';
import type { Address } from '../net/address.js';
import type { NodeInfo } from '../krpc/types.js';
import type { RoutingTable } from '../routing/routing-table.js';
import { toHex } from '../util/bytes.js';
import { formatAddress } from '../net/address.js';

/** Pings of questionable nodes / new queriers in flight at once. */
export const MAX_VERIFYING = 32;

/** What admission needs from its node (node-core.ts). */
export interface AdmissionHost {
  readonly table: RoutingTable;
  /** Ping `node`; resolves if it answered (with `expectedId` when given). */
  ping(node: Address, expectedId?: Uint8Array): Promise<unknown>;
  /** A node entered the table. */
  onAdded(node: NodeInfo): void;
  isOwn(address: Address): boolean;
  isClosed(): boolean;
}

export class Admission {
  private verifying: ReadonlySet<string> = EMPTY_SET;

  constructor(private readonly host: AdmissionHost) {}

  /** Verifications in flight. */
  get pending(): number {
    return this.verifying.size;
  }

  /** `node` answered one of our queries (in `rtt` ms). */
  answered(node: NodeInfo, rtt?: number): void {
    if (this.host.isClosed()) return;
    const outcome = this.host.table.nodeSeen(node, rtt);
    if (outcome.kind === 'added' || outcome.kind === 'replaced') this.host.onAdded(node);
    if (outcome.kind !== 'bucket-full') return;
    const key = toHex(outcome.ping.id);
    if (!this.begin(key)) return;
    this.host.ping(outcome.ping, outcome.ping.id).then(
      () => this.ownVerifying().delete(key),
      () => {
        this.ownVerifying().delete(key);
        if (this.host.isClosed()) return;
        const r = this.host.table.replace(outcome.ping.id, outcome.candidate);
        if (r.kind === 'added') this.host.onAdded(outcome.candidate);
      }
    );
  }

  /** `node` queried us: if its bucket has room, ping it (an answer admits it via `answered`). */
  queried(node: NodeInfo): void {
    if (this.host.isClosed() || !this.host.table.hasRoomFor(node.id, false) || this.host.isOwn(node)) return;
    const key = formatAddress(node);
    if (!this.begin(key)) return;
    const done = (): boolean => this.ownVerifying().delete(key);
    this.host.ping(node).then(done, done);
  }

  private begin(key: string): boolean {
    if (this.verifying.has(key) || this.verifying.size >= MAX_VERIFYING) return false;
    this.ownVerifying().add(key);
    return true;
  }

  private ownVerifying(): Set<string> {
    if (this.verifying === EMPTY_SET) this.verifying = new Set();
    return this.verifying as Set<string>;
  }
}
