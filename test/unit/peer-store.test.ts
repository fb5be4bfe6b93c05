import { describe, expect, it } from '@jest/globals';
import type { Address } from '../../lib/net/address.js';
import { PeerStore } from '../../lib/store/peer-store.js';
import { seededRandom } from '../../lib/util/random.js';
import { FakeClock } from '../support/fake-clock.js';

const TTL = 30 * 60_000;

function hash(n: number): Uint8Array {
  const h = new Uint8Array(20);
  h[0] = n >> 8;
  h[19] = n & 0xff;
  return h;
}

function peer(n: number): Address {
  return { host: `127.0.${n >> 8}.${n & 0xff}`, port: 6881 };
}

function setup(opts: { maxInfoHashes?: number; maxPeersPerInfoHash?: number } = {}): {
  clock: FakeClock;
  store: PeerStore;
} {
  const clock = new FakeClock(5_000);
  return { clock, store: new PeerStore({ clock, ttlMs: TTL, random: seededRandom(7), ...opts }) };
}

const sortKey = (a: Address): string => `${a.host}:${a.port}`;

describe('PeerStore', () => {
  it('stores, dedups and returns peers', () => {
    const { store } = setup();
    expect(store.add(hash(1), { host: '127.0.0.1', port: 6881 })).toBe(true);
    expect(store.add(hash(1), { host: '127.0.0.1', port: 6881 })).toBe(true);
    store.add(hash(1), { host: '127.0.0.1', port: 6882 });
    store.add(hash(2), { host: '127.0.0.1', port: 6881 });
    expect(store.peerCount()).toBe(3);
    expect(store.infoHashCount()).toBe(2);
    expect(store.get(hash(1), 10).map(sortKey).sort()).toEqual(['127.0.0.1:6881', '127.0.0.1:6882']);
    expect(store.get(hash(3), 10)).toEqual([]);
    expect(store.getCompact(hash(2), 10)).toEqual([new Uint8Array([127, 0, 0, 1, 0x1a, 0xe1])]);
  });

  it('round-trips IPv6 peers in canonical form and refuses unstorable addresses', () => {
    const { store } = setup();
    store.add(hash(1), { host: '::1', port: 1 });
    store.add(hash(1), { host: '2001:DB8:0:0:1::5', port: 65535 });
    store.add(hash(1), { host: '::ffff:127.0.0.1', port: 80 });
    expect(store.get(hash(1), 10).map(sortKey).sort()).toEqual(
      ['2001:db8::1:0:0:5:65535', '::1:1', '::ffff:127.0.0.1:80'].sort()
    );
    expect(store.getCompact(hash(1), 10).map((b) => b.length)).toEqual([18, 18, 18]);
    for (const bad of [
      { host: 'localhost', port: 1 },
      { host: '127.0.0.256', port: 1 },
      { host: '1:2:3:4:5:6:7:8:9', port: 1 },
      { host: '127.0.0.1', port: 0 },
      { host: '127.0.0.1', port: 70000 }
    ]) {
      expect(store.add(hash(1), bad)).toBe(false);
    }
    expect(store.peerCount()).toBe(3);
    expect(() => store.add(new Uint8Array(19), peer(1))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_INFOHASH' })
    );
  });

  it('caps peers per infohash, evicting the least recently announced', () => {
    const { clock, store } = setup({ maxPeersPerInfoHash: 3 });
    for (let i = 1; i <= 3; i++) {
      store.add(hash(1), peer(i));
      clock.advance(10);
    }
    store.add(hash(1), peer(1)); // refresh: peer 2 is now the oldest
    store.add(hash(1), peer(4));
    expect(store.peerCount()).toBe(3);
    expect(store.get(hash(1), 10).map(sortKey).sort()).toEqual(
      [peer(1), peer(3), peer(4)].map(sortKey).sort()
    );
  });

  it('caps infohashes, evicting the one with the oldest announce', () => {
    const { store } = setup({ maxInfoHashes: 3 });
    store.add(hash(1), peer(1));
    store.add(hash(1), peer(2));
    store.add(hash(2), peer(1));
    store.add(hash(3), peer(1));
    store.add(hash(1), peer(3)); // hash 1 active again: hash 2 is the oldest
    store.add(hash(4), peer(1));
    expect(store.infoHashCount()).toBe(3);
    expect(store.get(hash(2), 10)).toEqual([]);
    expect(store.get(hash(1), 10)).toHaveLength(3);
    expect(store.peerCount()).toBe(5);
  });

  it('expires peers after the TTL and a re-announce refreshes them', () => {
    const { clock, store } = setup();
    store.add(hash(1), peer(1));
    store.add(hash(1), peer(2));
    store.add(hash(2), peer(3));
    clock.advance(TTL - 1000);
    store.add(hash(1), peer(2)); // refreshed
    clock.advance(1000); // peer 1 and hash 2 expire exactly now
    expect(store.get(hash(1), 10)).toEqual([peer(2)]);
    expect(store.get(hash(2), 10)).toEqual([]);
    expect(store.sampleInfoHashes(10)).toEqual([hash(1)]);
    clock.advance(TTL);
    expect(store.prune()).toBe(1);
    expect(store.peerCount()).toBe(0);
    expect(store.infoHashCount()).toBe(0);
  });

  it('prune drops expired entries everywhere', () => {
    const { clock, store } = setup();
    for (let i = 0; i < 10; i++) store.add(hash(i), peer(i));
    clock.advance(TTL / 2);
    for (let i = 0; i < 5; i++) store.add(hash(i), peer(100 + i));
    clock.advance(TTL / 2);
    expect(store.prune()).toBe(10);
    expect(store.peerCount()).toBe(5);
    expect(store.infoHashCount()).toBe(5);
  });

  it('returns at most max peers, random and without duplicates', () => {
    const { store } = setup();
    for (let i = 0; i < 100; i++) store.add(hash(1), peer(i));
    const seen = new Set<string>();
    for (let round = 0; round < 50; round++) {
      const got = store.get(hash(1), 20).map(sortKey);
      expect(got).toHaveLength(20);
      expect(new Set(got).size).toBe(20);
      got.forEach((k) => seen.add(k));
    }
    expect(seen.size).toBeGreaterThan(80); // not always the same 20
    expect(store.get(hash(1), 0)).toEqual([]);
  });

  it('noseed prefers non-seeds, then fills with seeds', () => {
    const { store } = setup();
    for (let i = 0; i < 10; i++) store.add(hash(1), peer(i), i >= 3); // peers 0..2 are leechers
    const leechers = [peer(0), peer(1), peer(2)].map(sortKey).sort();
    expect(store.get(hash(1), 3, { noseed: true }).map(sortKey).sort()).toEqual(leechers);
    const five = store.get(hash(1), 5, { noseed: true }).map(sortKey);
    expect(five).toHaveLength(5);
    expect(five.slice(0, 3).sort()).toEqual(leechers);
    // Without noseed seeds are eligible like anyone else.
    const all = new Set<string>();
    for (let r = 0; r < 30; r++) store.get(hash(1), 3).forEach((a) => all.add(sortKey(a)));
    expect(all.size).toBeGreaterThan(3);
  });

  it('samples distinct infohashes', () => {
    const { store } = setup();
    for (let i = 0; i < 50; i++) store.add(hash(i), peer(1));
    const sample = store.sampleInfoHashes(20);
    expect(sample).toHaveLength(20);
    expect(new Set(sample.map((h) => Buffer.from(h).toString('hex'))).size).toBe(20);
    expect(store.sampleInfoHashes(100)).toHaveLength(50);
  });
});
