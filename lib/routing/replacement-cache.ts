/**
 * Replacement cache (Kademlia's, as in libtorrent's `replacements`): nodes that answered us
 * while their bucket was full of live-looking nodes wait here, a few per bucket, most recently
 * seen last. When a table entry fails (dead), the freshest waiting node takes its slot at once
 * instead of the slot staying empty until someone new answers; and a bucket with nodes waiting
 * is worth probing sooner, since a dead entry there has a live node ready to replace it.
 *
 * Buckets are named by their depth in the bucket tree: only buckets that cannot split fill up,
 * and among those the depth names one (our own bucket, which splits, has none). A depth can
 * change meaning when our own bucket splits; the table re-checks an entry's bucket before use. Pure and bounded: at most
 * `perBucket` entries per depth, no map until the first entry.
 */
import type { NodeInfo } from '../krpc/types.js';
import { bytesEqual } from '../util/bytes.js';

export interface Replacement {
  readonly id: Uint8Array;
  readonly host: string;
  readonly port: number;
  /** When it last answered us, on the table's time line. */
  readonly seenAt: number;
}

export class ReplacementCache {
  private byDepth: Map<number, Replacement[]> | null = null;

  constructor(private readonly perBucket: number) {}

  /** `node` (its id already copied by the caller) answered us but found its bucket full. */
  offer(depth: number, node: NodeInfo, seenAt: number): void {
    const byDepth = (this.byDepth ??= new Map<number, Replacement[]>());
    let list = byDepth.get(depth);
    if (!list) byDepth.set(depth, (list = []));
    const same = list.findIndex((r) => bytesEqual(r.id, node.id)); // its latest address wins
    if (same >= 0) list.splice(same, 1);
    list.push({ id: node.id, host: node.host, port: node.port, seenAt });
    if (list.length > this.perBucket) list.shift();
  }

  /** Are nodes waiting for the bucket at `depth`? */
  has(depth: number): boolean {
    return (this.byDepth?.get(depth)?.length ?? 0) > 0;
  }

  /** The most recently seen node waiting for `depth`, removed from the cache. */
  take(depth: number): Replacement | undefined {
    const list = this.byDepth?.get(depth);
    const r = list?.pop();
    if (list && list.length === 0) this.byDepth!.delete(depth);
    return r;
  }

  /** Nodes waiting, over all buckets. */
  size(): number {
    let n = 0;
    for (const list of this.byDepth?.values() ?? []) n += list.length;
    return n;
  }

  clear(): void {
    this.byDepth = null;
  }
}
