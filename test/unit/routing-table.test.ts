import { describe, expect, it } from '@jest/globals';
import { RoutingTable } from '../../lib/routing/routing-table.js';
import { IpDiversity } from '../../lib/routing/ip-diversity.js';
import { subnetKey } from '../../lib/net/ip-class.js';
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
    owner: { now: () => now.t, isOwn: (a) => a.host === '10.9.9.9' && a.port === 9 }
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
    // All good: a newcomer is rejected (and waits in the replacement cache).
    const waiting = far();
    expect(t.nodeSeen(waiting)).toEqual({ kind: 'rejected', reason: 'full' });
    expect(t.replacementCount()).toBe(1);
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
    // A node that failed twice is bad: it leaves at once, and the waiting node takes its slot.
    const victim = members.find((m) => t.get(m.id))!;
    t.nodeFailed(victim.id);
    expect(t.state(t.get(victim.id)!)).toBe('questionable');
    t.nodeFailed(victim.id);
    expect(t.get(victim.id)).toBeNull();
    expect(t.get(waiting.id)).not.toBeNull();
    expect(t.replacementCount()).toBe(0);
    // With nobody waiting, the next failure leaves a free slot for a newcomer.
    const next = members.find((m) => t.get(m.id))!;
    t.nodeFailed(next.id);
    t.nodeFailed(next.id);
    expect(t.size()).toBe(7);
    expect(t.nodeSeen(far()).kind).toBe('added');
  });

  it('replacement cache: the freshest waiting node first, a few per bucket, only nodes that answered', () => {
    const { t, localId, now } = table();
    const far = () => node(randomIdWithPrefix(localId, 0, rnd));
    const members = Array.from({ length: 8 }, far);
    for (const m of members) t.nodeSeen(m);
    const waiting = Array.from({ length: 5 }, () => {
      now.t += 1000;
      const w = far();
      t.nodeSeen(w);
      return w;
    });
    t.restore(far()); // known only from a saved state: never waits
    expect(t.replacementCount()).toBe(3);
    for (const m of members.slice(0, 4)) {
      t.nodeFailed(m.id);
      t.nodeFailed(m.id);
    }
    // The three most recent took the first three free slots, newest first; the fourth stays free.
    expect(waiting.map((w) => t.get(w.id) !== null)).toEqual([false, false, true, true, true]);
    expect(t.size()).toBe(7);
  });

  it('stalest: nodes in a bucket with replacements waiting qualify after a shorter silence', () => {
    const { t, localId, now } = table();
    const far = () => node(randomIdWithPrefix(localId, 0, rnd));
    const members = Array.from({ length: 8 }, far);
    for (const m of members) t.nodeSeen(m);
    const near = node(randomIdWithPrefix(localId, 5, rnd));
    t.nodeSeen(near);
    now.t += 2 * 60_000;
    expect(t.stalest(20, 5 * 60_000, 60_000)).toEqual([]); // nobody waiting yet
    t.nodeSeen(far()); // the far bucket is full: it waits
    const due = t.stalest(20, 5 * 60_000, 60_000).map((c) => c.port);
    expect(due.sort()).toEqual(members.map((m) => m.port).sort());
    now.t += 3 * 60_000;
    expect(t.stalest(20, 5 * 60_000, 60_000)).toHaveLength(9);
  });

  it('a restored node that never answered leaves at its first failure', () => {
    const { t } = table();
    const n = node();
    t.restore(n);
    t.nodeFailed(n.id);
    expect(t.get(n.id)).toBeNull();
    expect(t.size()).toBe(0);
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

describe('RoutingTable with IP diversity', () => {
  const make = (localId: Uint8Array, exempt: 'none' | 'loopback' = 'loopback') =>
    new RoutingTable({ localId, owner: { now: () => 1 }, diversity: new IpDiversity({ exempt }) });

  it('one entry per IP in the whole table; the slot frees when the entry leaves', () => {
    const localId = rnd.bytes(20);
    const t = make(localId);
    const a = { id: randomIdWithPrefix(localId, 0, rnd), host: '203.0.113.5', port: 1 };
    const b = { id: randomIdWithPrefix(localId, 1, rnd), host: '203.0.113.5', port: 2 };
    expect(t.nodeSeen(a).kind).toBe('added');
    expect(t.nodeSeen(b)).toEqual({ kind: 'rejected', reason: 'ip-limit' });
    t.nodeFailed(a.id);
    t.nodeFailed(a.id);
    expect(t.nodeSeen(b).kind).toBe('added');
    // The same node seen again is an update, not a second entry.
    expect(t.nodeSeen(b).kind).toBe('updated');
  });

  it('one entry per /24 (IPv4) or /64 (IPv6) in a bucket; other buckets may hold the subnet', () => {
    const localId = rnd.bytes(20);
    const t = make(localId);
    // Enough nodes near us (distinct subnets) that the tree has split into several buckets.
    for (let i = 0; i < 24; i++)
      t.nodeSeen({ id: randomIdWithPrefix(localId, 3 + (i % 6), rnd), host: `100.${i}.0.1`, port: 1 });
    const far = (host: string) => ({ id: randomIdWithPrefix(localId, 0, rnd), host, port: 6881 });
    expect(t.nodeSeen(far('198.51.100.1')).kind).toBe('added');
    expect(t.nodeSeen(far('198.51.100.2'))).toEqual({ kind: 'rejected', reason: 'ip-limit' });
    expect(t.nodeSeen(far('198.51.101.2')).kind).toBe('added');
    expect(
      t.nodeSeen({ id: randomIdWithPrefix(localId, 1, rnd), host: '198.51.100.2', port: 6881 }).kind
    ).toBe('added');
    expect(t.nodeSeen(far('2001:db8:1:2::1')).kind).toBe('added');
    expect(t.nodeSeen(far('2001:db8:1:2::ffff'))).toEqual({ kind: 'rejected', reason: 'ip-limit' });
    expect(t.nodeSeen(far('2001:db8:1:3::1')).kind).toBe('added');
  });

  it('loopback is exempt by default (test rigs run many nodes on 127.0.0.1), not with exempt none', () => {
    const localId = rnd.bytes(20);
    const lax = make(localId);
    const strict = make(localId, 'none');
    const nodes = Array.from({ length: 5 }, (_, i) => ({
      id: randomIdWithPrefix(localId, 0, rnd),
      host: '127.0.0.1',
      port: 7000 + i
    }));
    expect(nodes.map((n) => lax.nodeSeen(n).kind)).toEqual(['added', 'added', 'added', 'added', 'added']);
    expect(nodes.map((n) => strict.nodeSeen(n).kind)).toEqual([
      'added',
      'rejected',
      'rejected',
      'rejected',
      'rejected'
    ]);
  });

  it('setLocalId rebuilds the buckets around the new id and keeps each contact with its state', () => {
    const now = { t: 1 };
    const t = new RoutingTable({ localId: rnd.bytes(20), owner: { now: () => now.t } });
    const nodes = Array.from({ length: 40 }, () => node());
    for (const n of nodes) t.nodeSeen(n, 50);
    t.nodeFailed(nodes[0]!.id);
    const before = new Map(
      t.all().map((c) => [c.port, { lastSeen: c.lastSeen, failures: c.failures, rtt: c.rtt }])
    );
    const newId = rnd.bytes(20);
    t.setLocalId(newId);
    expect(t.localId).toBe(newId);
    for (const c of t.all()) {
      const old = before.get(c.port)!;
      expect([c.lastSeen, c.failures, c.rtt]).toEqual([old.lastSeen, old.failures, old.rtt]);
    }
    expect(t.size()).toBe(t.all().length);
    // Buckets now split around the new id: our own leaf is deeper than any far bucket.
    const target = rnd.bytes(20);
    const truth = t
      .all()
      .sort((a, b) => compareDistance(target, a.id, b.id))
      .slice(0, 8);
    expect(t.closest(target, 8)).toEqual(truth);
  });
});

describe('subnetKey', () => {
  it('keys an IPv4 /24 as a number, an IPv6 /64 as text, anything else by its text', () => {
    expect(subnetKey('198.51.100.7')).toBe(subnetKey('198.51.100.200'));
    expect(subnetKey('198.51.100.7')).toBe((198 << 16) | (51 << 8) | 100);
    expect(subnetKey('198.51.101.7')).not.toBe(subnetKey('198.51.100.7'));
    expect(subnetKey('10.0.0.1')).not.toBe(subnetKey('0.10.0.1'));
    expect(subnetKey('2001:db8:1:2::1')).toBe(subnetKey('2001:db8:1:2::ffff'));
    expect(subnetKey('2001:db8:1:3::1')).not.toBe(subnetKey('2001:db8:1:2::1'));
    expect(subnetKey('example.org')).toBe('example');
    expect(subnetKey('300.1.2.3')).toBe('300.1.2');
  });
});
