/**
 * The random-walk peer sampler over PEX, in virtual time: walk steps go two hops (a random
 * neighbour, then a random peer it told us about), at most one per interval, swap a connection
 * only at the cap and only an old one, never redial what they just dropped, and keep memory
 * bounded under a PEX flood.
 */
import { describe, expect, it } from '@jest/globals';
import { RandomWalkSampler } from '../../lib/engine/peers/random-walk.js';
import type { Address } from '../../lib/net/address.js';
import { formatAddress } from '../../lib/net/address.js';
import { seededRandom } from '../../lib/util/random.js';
import { FakeClock } from '../support/fake-clock.js';

const peer = (i: number): Address => ({ host: `10.0.${i >> 8}.${i & 0xff}`, port: 6881 });
const key = formatAddress;

describe('RandomWalkSampler', () => {
  it('steps at most once per interval, dialling a neighbour of a neighbour', () => {
    const clock = new FakeClock(1_000_000);
    const s = new RandomWalkSampler(clock, seededRandom(1), { intervalMs: 60_000 }, peer(0));
    expect(s.step()).toBeNull(); // no neighbour yet
    s.connected(peer(1));
    s.heard(peer(1), [peer(0), peer(2), peer(3)]);
    const first = s.step();
    expect(first).not.toBeNull();
    expect(key(first!.via)).toBe(key(peer(1)));
    expect([key(peer(2)), key(peer(3))]).toContain(key(first!.dial)); // never ourselves
    expect(first!.drop).toBeUndefined();
    clock.advance(59_999);
    expect(s.step()).toBeNull();
    clock.advance(1);
    expect(s.step()).not.toBeNull();
  });

  it('over many steps picks among the neighbours and their peers roughly uniformly', () => {
    const clock = new FakeClock(0);
    const s = new RandomWalkSampler(clock, seededRandom(7), { intervalMs: 1, maxConnections: 100 });
    for (let n = 1; n <= 4; n++) {
      s.connected(peer(n));
      s.heard(
        peer(n),
        Array.from({ length: 5 }, (_, j) => peer(100 * n + j))
      );
    }
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      clock.advance(1);
      const step = s.step()!;
      counts.set(key(step.dial), (counts.get(key(step.dial)) ?? 0) + 1);
    }
    expect(counts.size).toBe(20);
    for (const c of counts.values()) expect(c).toBeGreaterThan(120); // 200 expected each
  });

  it('at the cap moves the connection it walked through one hop on (only an old one)', () => {
    const clock = new FakeClock(0);
    const s = new RandomWalkSampler(clock, seededRandom(3), {
      intervalMs: 1_000,
      maxConnections: 2,
      minAgeMs: 10_000
    });
    s.connected(peer(1));
    clock.advance(5_000);
    s.connected(peer(2));
    s.heard(peer(1), [peer(5)]);
    s.heard(peer(2), [peer(6)]);
    expect(s.step()).toBeNull(); // both too young to close
    clock.advance(5_000); // peer 1 is old enough, peer 2 not yet
    for (let i = 0; i < 5; i++) {
      clock.advance(1_000);
      const step = s.step()!;
      expect([key(step.via), key(step.drop!), key(step.dial)]).toEqual([
        key(peer(1)),
        key(peer(1)),
        key(peer(5))
      ]);
    }
  });

  it('does not redial a peer it just dropped, nor a current neighbour', () => {
    const clock = new FakeClock(0);
    const s = new RandomWalkSampler(clock, seededRandom(5), {
      intervalMs: 1_000,
      maxConnections: 2,
      minAgeMs: 0
    });
    s.connected(peer(1));
    s.connected(peer(2));
    // peer 1 names only peer 2 (a neighbour already), peer 2 names peer 1 and 9.
    s.heard(peer(1), [peer(2)]);
    s.heard(peer(2), [peer(1), peer(9)]);
    const step = s.step()!;
    expect([key(step.via), key(step.drop!), key(step.dial)]).toEqual([
      key(peer(2)),
      key(peer(2)),
      key(peer(9))
    ]);
    s.disconnected(step.drop!);
    s.connected(step.dial);
    // Peer 9 names peer 2, which we just left: not dialled again at once.
    s.heard(peer(9), [peer(2)]);
    clock.advance(1_000);
    expect(s.step()).toBeNull();
  });

  it('forgets what a neighbour said when it disconnects, and ignores PEX from strangers', () => {
    const clock = new FakeClock(0);
    const s = new RandomWalkSampler(clock, seededRandom(2), { intervalMs: 1 });
    s.heard(peer(1), [peer(5)]); // not connected: ignored
    s.connected(peer(2));
    s.heard(peer(2), [peer(6)], []);
    s.heard(peer(2), [], [peer(6)]); // dropped again
    clock.advance(1);
    expect(s.step()).toBeNull();
    s.heard(peer(2), [peer(7)]);
    s.disconnected(peer(2));
    clock.advance(1);
    expect(s.step()).toBeNull();
    expect(s.size).toBe(0);
  });

  it('keeps at most maxPeersPerNeighbour entries per neighbour under a PEX flood', () => {
    const clock = new FakeClock(0);
    const s = new RandomWalkSampler(clock, seededRandom(9), { intervalMs: 1, maxPeersPerNeighbour: 50 });
    s.connected(peer(1));
    for (let round = 0; round < 100; round++)
      s.heard(
        peer(1),
        Array.from({ length: 50 }, (_, j) => peer(1000 + round * 50 + j))
      );
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      clock.advance(1);
      seen.add(key(s.step()!.dial));
    }
    expect(seen.size).toBeLessThanOrEqual(50);
    expect(seen.size).toBeGreaterThan(40);
  });

  it('a connection can be spared only if another neighbour reaches its peer and that peer keeps others', () => {
    const s = new RandomWalkSampler(new FakeClock(0), seededRandom(3));
    for (const n of [1, 2, 3]) s.connected(peer(n));
    s.heard(peer(1), [peer(10), peer(11)]); // peer 1 has two neighbours of its own
    s.heard(peer(2), [peer(1), peer(12)]); // peer 2 reaches peer 1
    expect(s.spare(peer(1))).toBe(false); // only two others: a simultaneous close could isolate it
    s.heard(peer(1), [peer(13)]);
    expect(s.spare(peer(1))).toBe(true);
    expect(s.spare(peer(3))).toBe(false); // nobody else names peer 3
    s.heard(peer(2), [], [peer(1)]);
    expect(s.spare(peer(1))).toBe(false); // the other path is gone
  });
});
