import { describe, expect, it } from '@jest/globals';
import { RoutingTable } from '../../lib/routing/routing-table.js';
import { compareDistance, randomIdWithPrefix } from '../../lib/id/node-id.js';
import { seededRandom } from '../../lib/util/random.js';
import { NODE_GOOD_MS } from '../../lib/constants.js';
import type { NodeInfo } from '../../lib/krpc/types.js';

const rnd = seededRandom(42);
let port = 1000;
const node = (id: Uint8Array = rnd.bytes(20)): NodeInfo => ({ id, host: '10.0.0.1', port: port++ });

function table(now = { t: 1 }) {
  const localId = rnd.bytes(20);
  const t = new RoutingTable({
    localId,
    now: () => now.t,
    isOwnAddress: (h, p) => h === '10.9.9.9' && p === 9
  });
  return { t, localId, now };
}

describe('RoutingTable', () => {
  it('inserts nodes that answered and never ourselves (by id or address)', () => {
    const { t, localId } = table();
    expect(t.nodeSeen(node()).kind).toBe('added');
    expect(t.nodeSeen({ id: localId, host: '10.0.0.2', port: 5 })).toEqual({
      kind: 'rejected',
      reason: 'self'
    });
    expect(t.nodeSeen({ id: rnd.bytes(20), host: '10.9.9.9', port: 9 })).toEqual({
      kind: 'rejected',
      reason: 'self'
    });
    expect(t.size()).toBe(1);
  });

  it('returns the exact closest nodes, in byte-wise XOR order', () => {
    const { t } = table();
    const all: NodeInfo[] = [];
    for (let i = 0; i < 300; i++) {
      const n = node();
      if (t.nodeSeen(n).kind === 'added') all.push(n);
    }
    // Small n (insertion sort) and large n (Array#sort) alike, with and without a filter.
    for (const n of [1, 8, 16, 40, 1000]) {
      for (let i = 0; i < 50; i++) {
        const target = rnd.bytes(20);
        const keep = i % 2 === 0 ? undefined : (c: { id: Uint8Array }) => c.id[0]! % 3 !== 0;
        const got = t.closest(target, n, keep).map((c) => Buffer.from(c.id).toString('hex'));
        const want = t
          .all()
          .filter((c) => !keep || keep(c))
          .sort((a, b) => compareDistance(target, a.id, b.id))
          .slice(0, n)
          .map((c) => Buffer.from(c.id).toString('hex'));
        expect(got).toEqual(want);
      }
    }
  });

  it("keeps each contact's packed address in step with its host", () => {
    const { t } = table();
    const a = node();
    t.nodeSeen(a);
    expect(t.get(a.id)!.packedIp).toBe((10 << 24) | 1);
    t.remove(a.id);
    t.restore({ id: a.id, host: 'fe80::2', port: 7 }); // questionable, so it may change address
    expect(t.get(a.id)!.packedIp).toEqual(new Uint8Array([0xfe, 0x80, ...new Array(13).fill(0), 2]));
    t.nodeSeen({ id: a.id, host: '200.1.2.3', port: 8 });
    expect(t.get(a.id)).toMatchObject({
      host: '200.1.2.3',
      port: 8,
      packedIp: (200 << 24) | (1 << 16) | (2 << 8) | 3
    });
  });

  it('orders ids that differ only in the last byte (beyond float precision)', () => {
    const { t, localId } = table();
    const base = randomIdWithPrefix(localId, 3, rnd);
    const ids = [5, 1, 3, 2].map((b) => {
      const id = new Uint8Array(base);
      id[19] = b;
      return id;
    });
    for (const id of ids) t.nodeSeen(node(id));
    const target = new Uint8Array(base);
    target[19] = 0;
    expect(t.closest(target, 4).map((c) => c.id[19])).toEqual([1, 2, 3, 5]);
  });

  it('full bucket: asks to ping the questionable node, replaces bad nodes at once, keeps good ones', () => {
    const { t, localId, now } = table();
    // Fill the far bucket (prefix 0): it never splits.
    const far = () => node(randomIdWithPrefix(localId, 0, rnd));
    const members = Array.from({ length: 8 }, far);
    for (const m of members) expect(t.nodeSeen(m).kind).toBe('added');
    // All good: a newcomer is rejected.
    expect(t.nodeSeen(far())).toEqual({ kind: 'rejected', reason: 'full' });
    // After 15 minutes the members become questionable: the owner must ping the oldest.
    now.t += NODE_GOOD_MS + 1;
    const candidate = far();
    const out = t.nodeSeen(candidate);
    expect(out.kind).toBe('bucket-full');
    if (out.kind !== 'bucket-full') throw new Error('unreachable');
    expect(members.map((m) => m.port)).toContain(out.ping.port);
    // It failed to answer: replace it.
    expect(t.replace(out.ping.id, candidate).kind).toBe('added');
    expect(t.get(out.ping.id)).toBeNull();
    // A node that failed twice is bad and is replaced without a ping.
    const victim = members.find((m) => t.get(m.id))!;
    t.nodeFailed(victim.id);
    t.nodeFailed(victim.id);
    expect(t.state(t.get(victim.id)!)).toBe('bad');
    const out2 = t.nodeSeen(far());
    expect(out2.kind).toBe('replaced');
  });

  it('restored nodes start questionable and only fill free room', () => {
    const { t } = table();
    const n = node();
    expect(t.restore(n).kind).toBe('added');
    expect(t.state(t.get(n.id)!)).toBe('questionable');
    t.nodeSeen(n);
    expect(t.state(t.get(n.id)!)).toBe('good');
  });

  it('a node changing id at the same address replaces the old entry', () => {
    const { t } = table();
    const a = node();
    t.nodeSeen(a);
    t.nodeSeen({ id: rnd.bytes(20), host: a.host, port: a.port });
    expect(t.size()).toBe(1);
    expect(t.get(a.id)).toBeNull();
  });

  it('reports idle and sparse buckets for refresh', () => {
    const { t, now } = table();
    for (let i = 0; i < 100; i++) t.nodeSeen(node());
    expect(t.bucketsToRefresh()).toEqual([]);
    now.t += 15 * 60_000;
    const due = t.bucketsToRefresh();
    expect(due.length).toBeGreaterThan(0);
    expect(due[0]).toBe(0);
    expect(t.sparseBuckets(100).length).toBeGreaterThan(0);
    t.touchBucket(0);
    expect(t.bucketsToRefresh()).not.toContain(0);
  });
});
