import { describe, expect, it } from '@jest/globals';
import { BanList } from '../../lib/engine/peers/ban-list.js';

describe('BanList', () => {
  it('bans until the given time, keeps the longer of two bans', () => {
    const bans = new BanList(10);
    bans.add('a', 1_000);
    expect(bans.has('a', 999)).toBe(true);
    bans.add('a', 500); // shorter: ignored
    expect(bans.has('a', 999)).toBe(true);
    expect(bans.has('a', 1_000)).toBe(false);
    expect(bans.size).toBe(0); // an expired ban is forgotten when looked at
    bans.add('b', Infinity);
    expect(bans.has('b', Number.MAX_SAFE_INTEGER)).toBe(true);
  });

  it('stays within its cap: the oldest ban is forgotten first', () => {
    const bans = new BanList(100);
    for (let i = 0; i < 10_000; i++) bans.add(`peer-${i}`, Infinity);
    expect(bans.size).toBe(100);
    expect(bans.has('peer-9999', 0)).toBe(true);
    expect(bans.has('peer-9899', 0)).toBe(false);
    expect(bans.has('peer-9900', 0)).toBe(true);
  });
});
