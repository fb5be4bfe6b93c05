/**
 * The bucket tree of `k-bucket`, behind the few operations the routing table needs. The only
 * file that imports k-bucket.
 *
 * k-bucket's public API (add, remove, toArray, count) covers most of
 * it. Two things BEP 5 needs it does not expose: which leaf bucket an id falls into (its
 * contacts and whether it may still split: the replacement policy and the IP-diversity rule
 * look at one bucket), and the nearest buckets to a target (k-bucket's `closest` sorts every
 * contact it passes by a float distance exact in ~53 bits only).
 * For those this file reads k-bucket's tree (`root`, `contacts`, `left`/`right`,
 * `dontSplit`), and only this file; it also finds contacts by id itself and moves a known
 * contact to its bucket's recent end itself, the way k-bucket's `get` and `_update` do,
 * because k-bucket compares ids by reading every contact's `id` and ours copy it on each read
 * (contact.ts). test/unit/bucket-tree.test.ts checks every assumption against k-bucket's
 * public behaviour, so an upgrade that changes the tree fails there.
 */
import KBucket from 'k-bucket';

/**
 * What the tree needs of a contact: its id (20 bytes; k-bucket reads it), and a comparison
 * that reads it in place (lookups by id make no copy per contact they pass).
 */
export interface TreeContact {
  readonly id: Uint8Array;
  hasId(id: Uint8Array): boolean;
}

/**
 * k-bucket's declared contact type has a `vectorClock` for its default arbiter; ours never
 * reads it, so contacts do not carry one (8 bytes per contact saved).
 */
type Stored<T> = T & { vectorClock: number };

/** One leaf bucket: its contacts (read only), its depth, and whether adding may split it. */
export interface Leaf<T> {
  readonly contacts: readonly T[];
  /** Bits of prefix every id in this bucket shares with the local id's path to it. */
  readonly depth: number;
  readonly canSplit: boolean;
}

/** k-bucket's tree node, as version 5 lays it out. */
interface TreeNode<T> {
  contacts: T[] | null;
  left: TreeNode<T>;
  right: TreeNode<T>;
  dontSplit?: boolean;
}

export class BucketTree<T extends TreeContact> {
  private readonly kb: KBucket<Stored<T>>;

  constructor(opts: { localId: Uint8Array; k: number }) {
    this.kb = new KBucket<Stored<T>>({
      localNodeId: opts.localId,
      numberOfNodesPerKBucket: opts.k,
      arbiter: keepCandidate
    });
  }

  /**
   * Insert (or move to the recent end); false if the bucket was full and could not split.
   * `id`: the contact's id, when the caller has it at hand (ours copy it on each read).
   */
  add(contact: T, id: Uint8Array = contact.id): boolean {
    const leaf = this.leafNode(id).contacts!;
    const at = leaf.indexOf(contact);
    if (at >= 0) {
      // Already in: to the most-recently-seen end, as k-bucket's own update does (splice +
      // push), without its id comparisons (each reads every id in the bucket). This runs for
      // every answer from a known node.
      leaf.splice(at, 1);
      leaf.push(contact);
      return true;
    }
    this.kb.add(contact as Stored<T>);
    return this.leafNode(id).contacts!.includes(contact);
  }

  get(id: Uint8Array): T | null {
    for (const c of this.leafNode(id).contacts!) if (c.hasId(id)) return c;
    return null;
  }

  /**
   * Remove the contact with this id; returns it (null if none). Spliced out of its leaf as
   * k-bucket's `remove` does (it has no 'removed' listener), in one walk instead of a lookup
   * and then k-bucket's own, which reads every id in the bucket again.
   */
  remove(id: Uint8Array): T | null {
    const leaf = this.leafNode(id).contacts!;
    const at = leaf.findIndex((c) => c.hasId(id));
    return at < 0 ? null : leaf.splice(at, 1)[0]!;
  }

  toArray(): T[] {
    return this.kb.toArray();
  }

  count(): number {
    return this.kb.count();
  }

  /** The first contact `match` accepts (a walk of the whole tree), or null. */
  find(match: (c: T) => boolean): T | null {
    const nodes: TreeNode<T>[] = [this.root()];
    while (nodes.length > 0) {
      const node = nodes.pop()!;
      if (node.contacts === null) nodes.push(node.left, node.right);
      else for (const c of node.contacts) if (match(c)) return c;
    }
    return null;
  }

  /** The leaf bucket `id` falls into. */
  leaf(id: Uint8Array): Leaf<T> {
    let node = this.root();
    let depth = 0;
    while (node.contacts === null) node = bitAt(id, depth++) ? node.right : node.left;
    return { contacts: node.contacts, depth, canSplit: !node.dontSplit };
  }

  private leafNode(id: Uint8Array): TreeNode<T> {
    let node = this.root();
    for (let depth = 0; node.contacts === null; depth++) node = bitAt(id, depth) ? node.right : node.left;
    return node;
  }

  /**
   * The contacts `keep` accepts (all without it) of the leaf buckets nearest `target` (by XOR
   * distance of their ranges), whole buckets nearest-first until at least `n` are found, in
   * no particular order within a bucket. One array per call, no closure: every reply we send
   * runs this.
   */
  nearest(target: Uint8Array, n: number, keep?: (c: T) => boolean): T[] {
    const out: T[] = [];
    collectNearest(this.root(), 0, target, n, keep, out);
    return out;
  }

  private root(): TreeNode<T> {
    return (this.kb as unknown as { root: TreeNode<T> }).root;
  }
}

/**
 * k-bucket's arbiter: always keep the object we pass (contacts are updated in place). One
 * function for every tree, not a closure per table.
 */
function keepCandidate<T>(_incumbent: T, candidate: T): T {
  return candidate;
}

/** Into `out`: the subtree at `node` (at `depth`), its half nearer `target` first, until `n`. */
function collectNearest<T>(
  node: TreeNode<T>,
  depth: number,
  target: Uint8Array,
  n: number,
  keep: ((c: T) => boolean) | undefined,
  out: T[]
): void {
  if (node.contacts !== null) {
    for (const c of node.contacts) if (keep === undefined || keep(c)) out.push(c);
    return;
  }
  const bit = bitAt(target, depth);
  collectNearest(bit ? node.right : node.left, depth + 1, target, n, keep, out);
  if (out.length < n) collectNearest(bit ? node.left : node.right, depth + 1, target, n, keep, out);
}

function bitAt(id: Uint8Array, bit: number): number {
  return ((id[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1;
}
