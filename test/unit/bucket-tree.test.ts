/**
 * Pins what bucket-tree.ts assumes about k-bucket's private tree: every answer it derives
 * from the tree is checked against k-bucket's public behaviour (get, toArray, count, the
 * 'ping' event it emits when a full bucket cannot split). If a k-bucket upgrade changes the
 * tree, these fail before the routing table misbehaves.
 */
import { describe, expect, it } from '@jest/globals';
import KBucket from 'k-bucket';
import { BucketTree, type TreeContact } from '../../lib/routing/bucket-tree.js';
import { commonPrefixLength, compareDistance, randomIdWithPrefix } from '../../lib/id/node-id.js';
import { seededRandom } from '../../lib/util/random.js';
import { bytesEqual, toHex } from '../../lib/util/bytes.js';

const K = 8;
interface C extends TreeContact {
  /** The plain k-bucket's default arbiter reads it; the tree's contacts need not have one. */
  vectorClock: number;
  n: number;
}

function contact(id: Uint8Array, n = 0): C {
  return { id, vectorClock: 0, n, hasId: (other) => bytesEqual(id, other) };
}

/** A tree and a plain k-bucket fed the same contacts; the plain one reports 'ping' (full, no split). */
function twins(seed: number) {
  const rnd = seededRandom(seed);
  const localId = rnd.bytes(20);
  const tree = new BucketTree<C>({ localId, k: K });
  const plain = new KBucket<C>({ localNodeId: localId, numberOfNodesPerKBucket: K });
  let n = 0;
  // Ids spread over all depths: half random, half sharing a long prefix with us.
  const make = (): C =>
    contact(rnd.int(2) ? rnd.bytes(20) : randomIdWithPrefix(localId, rnd.int(40), rnd), n++);
  return { rnd, localId, tree, plain, make };
}

describe('BucketTree over k-bucket 5', () => {
  it('add() reports false exactly when k-bucket emits ping; that leaf is then full and may not split', () => {
    const { tree, plain, make } = twins(1);
    let pinged = 0;
    plain.on('ping', () => pinged++);
    for (let i = 0; i < 3000; i++) {
      const c = make();
      const before = pinged;
      plain.add({ ...c });
      expect(tree.add(c)).toBe(pinged === before);
      // Refused: its leaf is now full and may not split (what the routing table relies on).
      const leaf = tree.leaf(c.id);
      if (pinged > before) expect([leaf.contacts.length, leaf.canSplit]).toEqual([K, false]);
    }
    expect(tree.count()).toBe(plain.count());
  });

  it('leaf() holds exactly the contacts k-bucket files under that id, sharing the leaf prefix', () => {
    const { tree, make, localId } = twins(2);
    for (let i = 0; i < 2000; i++) tree.add(make());
    const all = tree.toArray();
    let total = 0;
    const seen = new Set<string>();
    for (const c of all) {
      const leaf = tree.leaf(c.id);
      expect(leaf.contacts).toContain(c);
      expect(leaf.contacts.length).toBeLessThanOrEqual(K);
      for (const other of leaf.contacts) {
        expect(commonPrefixLength(other.id, c.id)).toBeGreaterThanOrEqual(leaf.depth);
        expect(tree.get(other.id)).toBe(other);
      }
      const key = leaf.contacts.map((x) => x.n).join(',');
      if (!seen.has(key)) {
        seen.add(key);
        total += leaf.contacts.length;
      }
    }
    expect(total).toBe(all.length);
    // Our own leaf is the one bucket that may split; every bucket beside it may not.
    expect(tree.leaf(localId).canSplit).toBe(true);
    for (const c of all) {
      const leaf = tree.leaf(c.id);
      const ownLeaf = commonPrefixLength(c.id, localId) >= leaf.depth;
      expect(leaf.canSplit).toBe(ownLeaf);
    }
  });

  it('nearest() returns whole buckets nearest-first so that they hold the exact n closest (of those kept)', () => {
    const { tree, make, rnd } = twins(3);
    for (let i = 0; i < 1500; i++) tree.add(make());
    const all = tree.toArray();
    for (let trial = 0; trial < 200; trial++) {
      const target = rnd.bytes(20);
      const n = 1 + rnd.int(20);
      const keep = trial % 2 === 0 ? undefined : (c: C) => c.n % 3 !== 0;
      const got = tree.nearest(target, n, keep);
      const kept = all.filter((c) => !keep || keep(c));
      expect(got.length).toBeGreaterThanOrEqual(Math.min(n, kept.length));
      for (const c of got) expect(kept).toContain(c);
      const sortedGot = got
        .sort((a, b) => compareDistance(target, a.id, b.id))
        .slice(0, n)
        .map((c) => toHex(c.id));
      const truth = kept
        .sort((a, b) => compareDistance(target, a.id, b.id))
        .slice(0, n)
        .map((c) => toHex(c.id));
      expect(sortedGot).toEqual(truth);
    }
  });

  it('remove() goes through k-bucket and returns the removed contact', () => {
    const rnd = seededRandom(4);
    const tree = new BucketTree<TreeContact>({ localId: rnd.bytes(20), k: K });
    const c = contact(rnd.bytes(20));
    expect(tree.add(c)).toBe(true);
    expect(tree.remove(rnd.bytes(20))).toBeNull();
    expect(tree.remove(c.id)).toBe(c);
    expect(tree.get(c.id)).toBeNull();
    expect(tree.count()).toBe(0);
  });

  it("re-adding a known contact moves it to its bucket's recent end, as k-bucket does; get() finds what k-bucket finds", () => {
    const { tree, plain, make, rnd } = twins(5);
    const made: C[] = [];
    for (let i = 0; i < 800; i++) {
      const c = make();
      made.push(c);
      tree.add(c);
      plain.add(c);
    }
    for (let i = 0; i < 2000; i++) {
      const c = made[rnd.int(made.length)]!;
      expect(tree.get(c.id) === c).toBe(plain.get(c.id) === c);
      plain.add(c); // k-bucket's update: the same object to the end of its bucket
      expect(tree.add(c)).toBe(plain.get(c.id) === c);
    }
    expect(tree.toArray().map((c) => c.n)).toEqual(plain.toArray().map((c) => c.n));
    for (const c of made) expect(tree.get(c.id)).toBe(plain.get(c.id));
    expect(tree.get(rnd.bytes(20))).toBeNull();
  });
});
