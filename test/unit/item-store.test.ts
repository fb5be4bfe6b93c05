/** The BEP 44 item store: expiry and refresh, caps on count and bytes, per-source shares. */
import { describe, expect, it } from '@jest/globals';
import { ItemStore } from '../../lib/store/item-store.js';
import { FakeClock } from '../support/fake-clock.js';

const target = (n: number): Uint8Array => {
  const t = new Uint8Array(20);
  t[0] = n >> 8;
  t[1] = n & 0xff;
  return t;
};
const item = (n: number, size = 10) => ({ v: new Uint8Array(size).fill(n & 0xff) });

describe('ItemStore', () => {
  it('expires an item ttl after its last put; re-putting refreshes it', () => {
    const clock = new FakeClock();
    const store = new ItemStore({ clock, ttlMs: 1000 });
    store.put(target(1), item(1), '10.0.0.1');
    clock.advance(800);
    store.put(target(1), item(1), '10.0.0.2'); // refresh
    clock.advance(800);
    expect(store.get(target(1))).toEqual(item(1));
    clock.advance(200);
    expect(store.get(target(1))).toBeUndefined();
    expect(store.size()).toBe(0);
  });

  it('keeps at most maxItems, evicting the least recently put', () => {
    const clock = new FakeClock();
    const store = new ItemStore({ clock, maxItems: 3, maxItemsPerSource: 100 });
    for (let i = 0; i < 3; i++) store.put(target(i), item(i), `10.0.0.${i}`);
    store.put(target(0), item(0), '10.0.0.0'); // 0 is now the most recent
    store.put(target(3), item(3), '10.0.0.3');
    expect(store.get(target(1))).toBeUndefined();
    for (const n of [0, 2, 3]) expect(store.get(target(n))).toBeDefined();
  });

  it('keeps the bytes under maxBytes', () => {
    const clock = new FakeClock();
    const store = new ItemStore({ clock, maxBytes: 3 * (64 + 1000) });
    for (let i = 0; i < 10; i++) store.put(target(i), item(i, 1000), `10.0.0.${i}`);
    expect(store.size()).toBe(3);
    expect(store.bytes()).toBeLessThanOrEqual(3 * 1064);
  });

  it('a source over its share replaces its own oldest item, not anyone else', () => {
    const clock = new FakeClock();
    const store = new ItemStore({ clock, maxItems: 100, maxItemsPerSource: 5 });
    store.put(target(1000), item(1), '10.9.9.9'); // an honest item
    for (let i = 0; i < 50; i++) store.put(target(i), item(i), '10.6.6.6');
    expect(store.size()).toBe(6);
    expect(store.get(target(1000))).toBeDefined();
    for (let i = 45; i < 50; i++) expect(store.get(target(i))).toBeDefined();
    expect(store.get(target(44))).toBeUndefined();
  });

  it('a mutable update replaces the value under the same target', () => {
    const clock = new FakeClock();
    const store = new ItemStore({ clock });
    const k = new Uint8Array(32);
    store.put(target(7), { v: Uint8Array.of(0x31, 0x3a, 0x61), k, seq: 1 }, '10.0.0.1');
    store.put(target(7), { v: Uint8Array.of(0x31, 0x3a, 0x62), k, seq: 2 }, '10.0.0.2');
    expect(store.get(target(7))?.seq).toBe(2);
    expect(store.size()).toBe(1);
  });
});
