import { describe, expect, it } from '@jest/globals';
import { Choker, type PeerSnapshot } from '../../lib/engine/upload/choker.js';
import type { Clock } from '../../lib/util/clock.js';
import { seededRandom } from '../../lib/util/random.js';

class FakeClock implements Clock {
  time = 1_000_000;
  now(): number {
    return this.time;
  }
  setTimeout(): { cancel(): void } {
    throw new Error('the choker must not set timers');
  }
  setImmediate(): { cancel(): void } {
    throw new Error('the choker must not set timers');
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

function peer(id: string, rate: number, extra: Partial<PeerSnapshot<string>> = {}): PeerSnapshot<string> {
  return { id, interested: true, downloadRate: rate, uploadRate: 0, ...extra };
}

/** 10 interested peers p0..p9; p9 sends us the most. */
const swarm = (): PeerSnapshot<string>[] => Array.from({ length: 10 }, (_, i) => peer(`p${i}`, i * 1000));

describe('Choker', () => {
  it('leeching: unchokes the 4 fastest uploaders to us plus 1 optimistic', () => {
    const clock = new FakeClock();
    const choker = new Choker<string>({ clock, random: seededRandom(1) });
    const result = choker.recompute(swarm(), false);
    expect(result.unchoke.size).toBe(5);
    for (const id of ['p9', 'p8', 'p7', 'p6']) expect(result.unchoke.has(id)).toBe(true);
    expect(result.optimistic).toBeDefined();
    expect(['p9', 'p8', 'p7', 'p6']).not.toContain(result.optimistic);
    expect(result.unchoke.has(result.optimistic!)).toBe(true);
    expect(result.optimisticPeers).toEqual([result.optimistic]);
  });

  it('never unchokes uninterested peers and gives snubbed peers no regular slot', () => {
    const clock = new FakeClock();
    const choker = new Choker<string>({ clock, random: seededRandom(2) });
    const peers = swarm();
    peers[9] = peer('p9', 9000, { interested: false });
    peers[8] = peer('p8', 8000, { snubbed: true });
    const result = choker.recompute(peers, false);
    expect(result.unchoke.has('p9')).toBe(false);
    const regular = [...result.unchoke].filter((id) => id !== result.optimistic);
    expect(regular.sort()).toEqual(['p4', 'p5', 'p6', 'p7']);
  });

  it('seeding: ranks by our upload rate to them', () => {
    const clock = new FakeClock();
    const choker = new Choker<string>({ clock, random: seededRandom(3) });
    const peers = Array.from({ length: 8 }, (_, i) =>
      peer(`p${i}`, 0, { uploadRate: (8 - i) * 100, snubbed: i === 0 })
    );
    const result = choker.recompute(peers, true);
    const regular = [...result.unchoke].filter((id) => id !== result.optimistic);
    expect(regular.sort()).toEqual(['p0', 'p1', 'p2', 'p3']);
    expect(['p4', 'p5', 'p6', 'p7']).toContain(result.optimistic);
  });

  it('keeps the optimistic unchoke for 30 s, then rotates it', () => {
    const clock = new FakeClock();
    const choker = new Choker<string>({ clock, random: seededRandom(4) });
    const peers = swarm();
    expect(choker.isDue()).toBe(true);
    const first = choker.recompute(peers, false).optimistic;
    expect(choker.isDue()).toBe(false);
    clock.advance(10_000);
    expect(choker.isDue()).toBe(true);
    expect(choker.recompute(peers, false).optimistic).toBe(first);
    clock.advance(10_000);
    expect(choker.recompute(peers, false).optimistic).toBe(first);
    clock.advance(10_000);
    const second = choker.recompute(peers, false).optimistic;
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    const seen = new Set([first, second]);
    for (let i = 0; i < 20; i++) {
      clock.advance(30_000);
      seen.add(choker.recompute(peers, false).optimistic);
    }
    expect(seen.size).toBeGreaterThanOrEqual(5); // rotates among all 6 choked interested peers
    for (const id of ['p6', 'p7', 'p8', 'p9']) expect(seen.has(id)).toBe(false);
  });

  it('replaces an optimistic peer that lost interest, left, or earned a regular slot', () => {
    const clock = new FakeClock();
    const choker = new Choker<string>({ clock, random: seededRandom(5) });
    let peers = swarm();
    const first = choker.recompute(peers, false).optimistic!;
    clock.advance(10_000);
    peers = peers.map((p) => (p.id === first ? { ...p, interested: false } : p));
    const second = choker.recompute(peers, false).optimistic!;
    expect(second).not.toBe(first);
    clock.advance(10_000);
    peers = peers.map((p) => (p.id === second ? { ...p, downloadRate: 1e9 } : p));
    const third = choker.recompute(peers, false);
    expect(third.unchoke.has(second)).toBe(true);
    expect(third.optimistic).not.toBe(second);
    expect(third.unchoke.size).toBe(5);
    clock.advance(10_000);
    const gone = peers.filter((p) => p.id !== third.optimistic);
    const fourth = choker.recompute(gone, false);
    expect(fourth.optimistic).toBeDefined();
    expect(fourth.optimistic).not.toBe(third.optimistic);
  });

  it('with few peers unchokes every interested one and needs no optimistic slot', () => {
    const clock = new FakeClock();
    const choker = new Choker<string>({ clock, random: seededRandom(6) });
    const result = choker.recompute([peer('a', 1), peer('b', 2), peer('c', 0, { interested: false })], false);
    expect([...result.unchoke].sort()).toEqual(['a', 'b']);
    expect(result.optimistic).toBeUndefined();
    const five = choker.recompute(
      [peer('a', 1), peer('b', 2), peer('c', 3), peer('d', 4), peer('e', 5)],
      false
    );
    expect(five.unchoke.size).toBe(5);
    expect(five.optimistic).toBe('a');
  });

  it('honours custom slot counts', () => {
    const clock = new FakeClock();
    const choker = new Choker<string>({
      clock,
      random: seededRandom(7),
      regularSlots: 2,
      optimisticSlots: 2
    });
    const result = choker.recompute(swarm(), false);
    expect(result.unchoke.size).toBe(4);
    expect(result.optimisticPeers).toHaveLength(2);
    expect(result.unchoke.has('p9') && result.unchoke.has('p8')).toBe(true);
  });

  it('weights newly connected peers 3x for the optimistic slot', () => {
    const clock = new FakeClock();
    let newPicked = 0;
    const trials = 600;
    for (let seed = 0; seed < trials; seed++) {
      const choker = new Choker<string>({ clock, random: seededRandom(seed), regularSlots: 0 });
      const peers = [
        peer('old1', 0, { connectedAt: clock.now() - 600_000 }),
        peer('old2', 0, { connectedAt: clock.now() - 600_000 }),
        peer('old3', 0),
        peer('new', 0, { connectedAt: clock.now() - 5_000 })
      ];
      if (choker.recompute(peers, false).optimistic === 'new') newPicked++;
    }
    // Weight 3 among 3 + 1 + 1 + 1: expected 50 % (uniform would be 25 %).
    expect(newPicked / trials).toBeGreaterThan(0.42);
    expect(newPicked / trials).toBeLessThan(0.58);
  });
});
