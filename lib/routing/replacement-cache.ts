/**
 * Replacement cache (Kademlia's, as in libtorrent's `replacements`): nodes that answered us
 * while their bucket was full of live-looking nodes wait here, a few per bucket, most recently
 * seen last. When a table entry fails (dead), the freshest waiting node takes its slot at once
 * instead of the slot staying empty until someone new answers; and a bucket with nodes waiting
 * is worth probing sooner, since a dead entry there has a live node ready to replace it.
 *
 * Buckets are named by their depth in the bucket tree: only buckets that cannot split fill up,
 * and among those the depth names one (our own bucket, which splits, has none). A depth can
 * change meaning when our own bucket splits; the table re-checks an entry's bucket before use.
 * Pure and bounded: at most `perBucket` entries per depth, no map until the first entry. The
 * entries are the table's own packed contacts (contact.ts), never handed out: whatever leaves
 * the cache is returned to the table, which discards it or promotes it.
 */
import type { Contact } from './contact.js';

export class ReplacementCache {
  private byDepth: Map<number, Contact[]> | null = null;

  constructor(private readonly perBucket: number) {}

  /**
   * `node` answered us (at `node.lastSeen`) but found its bucket full. Returns the entry it
   * pushes out, if any (an older entry for the same id, or the stalest one over the limit).
   */
  offer(depth: number, node: Contact): Contact | undefined {
    const byDepth = (this.byDepth ??= new Map<number, Contact[]>());
    let list = byDepth.get(depth);
    if (!list) byDepth.set(depth, (list = []));
    const id = node.id;
    const same = list.findIndex((r) => r.hasId(id)); // its latest address wins
    const out = same >= 0 ? list.splice(same, 1)[0] : undefined;
    list.push(node);
    return out ?? (list.length > this.perBucket ? list.shift() : undefined);
  }

  /** Are nodes waiting for the bucket at `depth`? */
  has(depth: number): boolean {
    return (this.byDepth?.get(depth)?.length ?? 0) > 0;
  }

  /** The most recently seen node waiting for `depth`, removed from the cache. */
  take(depth: number): Contact | undefined {
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

  /** Empty the cache; returns what it held. */
  clear(): Contact[] {
    const all = [...(this.byDepth?.values() ?? [])].flat();
    this.byDepth = null;
    return all;
  }
}
