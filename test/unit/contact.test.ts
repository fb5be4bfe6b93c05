/**
 * Packed routing-table contacts (lib/routing/contact.ts): what a contact reads back, that a
 * freed slot's reuse never changes what an earlier holder sees (its contact or an id it read),
 * and that handed-out ids keep nothing of the table alive.
 */
import { describe, expect, it } from '@jest/globals';
import { ContactStore } from '../../lib/routing/contact.js';
import { RoutingTable } from '../../lib/routing/routing-table.js';
import { IpDiversity } from '../../lib/routing/ip-diversity.js';
import { compareDistance, randomIdWithPrefix } from '../../lib/id/node-id.js';
import { packIp } from '../../lib/net/ip.js';
import { subnetKey } from '../../lib/net/ip-class.js';
import { toHex } from '../../lib/util/bytes.js';
import { seededRandom } from '../../lib/util/random.js';
import { NODE_GOOD_MS } from '../../lib/constants.js';
import { encodeCompactNodes } from '../../lib/krpc/compact.js';

const rnd = seededRandom(7);

describe('ContactStore', () => {
  it('reads back what went in, for IPv4, IPv6 and non-literal hosts, past several growths', () => {
    const store = new ContactStore();
    const hosts = [
      '10.1.2.3',
      '255.255.255.255',
      '0.0.0.0',
      '2001:db8::7',
      '::ffff:1.2.3.4',
      '::1',
      'example.org'
    ];
    const made = Array.from({ length: 300 }, (_, i) => {
      const want = { id: rnd.bytes(20), host: hosts[i % hosts.length]!, port: 1 + i * 200 };
      const c = store.add(want.id, want.host, want.port, i * 1000.5, i / 4, i % 2 === 0);
      c.failures = i % 3;
      return { c, want, i };
    });
    for (const { c, want, i } of made) {
      expect({ id: toHex(c.id), host: c.host, port: c.port }).toEqual({ ...want, id: toHex(want.id) });
      expect([c.lastSeen, c.rtt, c.failures]).toEqual([i * 1000.5, i / 4, i % 3]);
      expect(c.packedIp).toEqual(packIp(want.host));
      expect(c.hasId(want.id)).toBe(true);
      expect(c.hasHost(packIp(want.host), want.host)).toBe(true);
      expect(c.hasHost(packIp('10.1.2.4'), '10.1.2.4')).toBe(false);
    }
    expect(store.size()).toBe(300);
  });

  it('derives the subnet IP diversity counts exactly as subnetKey does, and null when not limited', () => {
    const store = new ContactStore();
    for (const host of ['198.51.100.7', '1.2.3.4', '255.0.0.1', '2001:db8:1:2::1']) {
      expect(store.add(rnd.bytes(20), host, 1, 1, 0, true).subnet).toBe(subnetKey(host));
      expect(store.add(rnd.bytes(20), host, 1, 1, 0, false).subnet).toBeNull();
    }
  });

  it('writes the same compact node info as the codec, and compares distances exactly', () => {
    const store = new ContactStore();
    const nodes = [
      { id: rnd.bytes(20), host: '203.0.113.9', port: 6881 },
      { id: rnd.bytes(20), host: 'fe80::1:2', port: 65535 }
    ];
    for (const [i, n] of nodes.entries()) {
      const c = store.add(n.id, n.host, n.port, 1, 0, false);
      const out = new Uint8Array(40);
      const end = c.writeCompact(out, 1);
      expect(out.subarray(1, end)).toEqual(encodeCompactNodes([n], i === 0 ? 4 : 6));
    }
    const contacts = Array.from({ length: 40 }, () => store.add(rnd.bytes(20), '10.0.0.1', 1, 1, 0, false));
    for (let i = 0; i < 200; i++) {
      const target = rnd.bytes(20);
      const a = contacts[rnd.int(40)]!;
      const b = contacts[rnd.int(40)]!;
      expect(Math.sign(a.compareDistance(target, b))).toBe(Math.sign(compareDistance(target, a.id, b.id)));
    }
  });

  it('a reused slot changes neither a detached contact nor an id view handed out before', () => {
    const store = new ContactStore();
    const a = store.add(rnd.bytes(20), '10.0.0.1', 1000, 5, 12, false);
    const b = store.add(rnd.bytes(20), '2001:db8::1', 2000, 6, 13, true);
    const aId = toHex(a.id);
    const aView = a.id;
    const bView = b.id;
    a.failures = 2;
    a.detach();
    b.detach();
    // Both slots are free: the next contacts take them.
    const c = store.add(rnd.bytes(20), '10.9.9.9', 9, 9, 9, false);
    const d = store.add(rnd.bytes(20), '10.8.8.8', 8, 8, 8, false);
    expect(toHex(aView)).toBe(aId);
    expect(toHex(bView)).toBe(toHex(b.id));
    expect([toHex(a.id), a.host, a.port, a.lastSeen, a.rtt, a.failures]).toEqual([
      aId,
      '10.0.0.1',
      1000,
      5,
      12,
      2
    ]);
    expect([b.host, b.port, b.subnet]).toEqual(['2001:db8::1', 2000, subnetKey('2001:db8::1')]);
    expect([c.host, d.host]).toEqual(['10.9.9.9', '10.8.8.8']);
    expect(store.size()).toBe(2);
  });
});

describe('handed-out ids', () => {
  it('an id read from a contact (a lookup seed, a node of nodes()) is a copy of exactly its own 20 bytes', () => {
    const store = new ContactStore();
    const ids = Array.from({ length: 40 }, () => rnd.bytes(20));
    const contacts = ids.map((id, i) =>
      store.add(id, i % 2 ? '10.0.0.1' : '2001:db8::3', 100 + i, 1, 0, false)
    );
    const held = [3, 38, 20].map((i) => contacts[i]!.id);
    // Nothing of the store is kept alive by a held id (a view would keep all its records).
    for (const id of held) expect([id.byteOffset, id.buffer.byteLength]).toEqual([0, 20]);
    // The contacts leave and their slots take new ids: what was handed out stays.
    for (const i of [3, 38, 20]) contacts[i]!.discard();
    for (let i = 0; i < 3; i++) store.add(rnd.bytes(20), '10.0.0.9', 9, 1, 0, false);
    expect(held.map(toHex)).toEqual([3, 38, 20].map((i) => toHex(ids[i]!)));
  });
});

describe('RoutingTable over packed contacts', () => {
  const far = (localId: Uint8Array, host = '10.0.0.1', port = 1 + rnd.int(60000)) => ({
    id: randomIdWithPrefix(localId, 0, rnd),
    host,
    port
  });

  it('a contact that leaves the table stays what it was for whoever holds it', () => {
    const now = { t: 1 };
    const localId = rnd.bytes(20);
    const t = new RoutingTable({ localId, owner: { now: () => now.t } });
    const members = Array.from({ length: 8 }, () => far(localId));
    for (const m of members) t.nodeSeen(m, 40);
    now.t += NODE_GOOD_MS + 1;
    // A full bucket asks us to ping its stalest member: we hold that contact while we ask.
    const out = t.nodeSeen(far(localId));
    if (out.kind !== 'bucket-full') throw new Error(`expected bucket-full, got ${out.kind}`);
    const held = out.ping;
    const heldId = held.id;
    const snapshot = [toHex(held.id), held.host, held.port, held.lastSeen, held.rtt];
    // It fails, leaves, and many newcomers take the freed slots.
    t.replace(held.id, out.candidate);
    for (let i = 0; i < 8; i++) {
      const victim = t.all()[0]!;
      t.nodeFailed(victim.id);
      t.nodeFailed(victim.id);
      t.nodeSeen(far(localId));
    }
    expect([toHex(held.id), held.host, held.port, held.lastSeen, held.rtt]).toEqual(snapshot);
    expect(toHex(heldId)).toBe(snapshot[0]);
    expect(t.get(heldId)).toBeNull();
    // Failing the held (departed) contact again touches nobody else.
    const size = t.size();
    t.nodeFailed(held.id);
    t.nodeFailed(held.id);
    expect(t.size()).toBe(size);
  });

  it('holds IPv6 contacts beside IPv4 ones and follows an address change in place', () => {
    const t = new RoutingTable({ localId: rnd.bytes(20), owner: { now: () => 1 } });
    const a = { id: rnd.bytes(20), host: '2001:db8::5', port: 7 };
    const b = { id: rnd.bytes(20), host: '192.0.2.1', port: 8 };
    t.restore(a); // questionable: may move
    t.nodeSeen(b);
    const c = t.get(a.id)!;
    expect([c.host, c.port, c.packedIp]).toEqual([a.host, 7, packIp(a.host)]);
    expect(t.nodeSeen({ id: a.id, host: '203.0.113.4', port: 9 }).kind).toBe('updated');
    expect(t.get(a.id)).toBe(c); // the same entry, not a new one
    expect([c.host, c.port, c.packedIp]).toEqual(['203.0.113.4', 9, packIp('203.0.113.4')]);
    expect(t.size()).toBe(2);
    // Its old address is free: another id may live there now.
    expect(t.nodeSeen({ id: rnd.bytes(20), host: '2001:db8::5', port: 7 }).kind).toBe('added');
  });

  it('an address change moves the per-IP count with it', () => {
    const localId = rnd.bytes(20);
    const t = new RoutingTable({
      localId,
      owner: { now: () => 1 },
      diversity: new IpDiversity({ exempt: 'none' })
    });
    const a = { id: randomIdWithPrefix(localId, 0, rnd), host: '198.51.100.1', port: 1 };
    t.restore(a);
    t.nodeSeen({ ...a, host: '203.0.113.1' }); // moved
    // Its old IP holds nobody now; its new one is taken.
    expect(t.nodeSeen({ id: randomIdWithPrefix(localId, 1, rnd), host: '198.51.100.1', port: 2 }).kind).toBe(
      'added'
    );
    expect(t.nodeSeen({ id: randomIdWithPrefix(localId, 2, rnd), host: '203.0.113.1', port: 3 })).toEqual({
      kind: 'rejected',
      reason: 'ip-limit'
    });
  });

  it('setLocalId: contacts that find no room leave (and stay readable); the replacement cache empties', () => {
    const now = { t: 1 };
    const localId = rnd.bytes(20);
    const t = new RoutingTable({ localId, owner: { now: () => now.t } });
    const nodes = Array.from({ length: 200 }, () => ({
      id: rnd.bytes(20),
      host: '10.0.0.1',
      port: 1 + rnd.int(60000)
    }));
    for (const n of nodes) t.nodeSeen(n);
    expect(t.replacementCount()).toBeGreaterThan(0);
    const before = t.all();
    const snapshot = before.map((c) => `${toHex(c.id)} ${c.port}`);
    t.setLocalId(rnd.bytes(20));
    expect(t.replacementCount()).toBe(0);
    const kept = new Set(t.all());
    expect(kept.size).toBe(t.size());
    expect(kept.size).toBeLessThanOrEqual(before.length);
    // Fill the table again: every old contact, kept or dropped, still reads as before.
    for (let i = 0; i < 200; i++) t.nodeSeen({ id: rnd.bytes(20), host: '10.0.0.2', port: 1 + i });
    expect(before.map((c) => `${toHex(c.id)} ${c.port}`)).toEqual(snapshot);
    for (const c of before) expect(t.get(c.id) === c).toBe(kept.has(c));
  });

  it('replacement cache: a promoted node keeps its address and answer time', () => {
    const now = { t: 1 };
    const localId = rnd.bytes(20);
    const t = new RoutingTable({ localId, owner: { now: () => now.t } });
    const members = Array.from({ length: 8 }, () => far(localId));
    for (const m of members) t.nodeSeen(m);
    now.t = 5000;
    const waiting = far(localId, '2001:db8::9', 4242);
    expect(t.nodeSeen(waiting, 30)).toEqual({ kind: 'rejected', reason: 'full' });
    now.t = 9000;
    t.nodeFailed(members[0]!.id);
    t.nodeFailed(members[0]!.id);
    const c = t.get(waiting.id)!;
    expect([c.host, c.port, c.lastSeen, c.rtt]).toEqual(['2001:db8::9', 4242, 5000, 30]);
    expect(t.state(c)).toBe('good');
  });
});
