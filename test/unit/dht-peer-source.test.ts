/**
 * DhtPeerSource's announce loop in virtual time, with a scripted DHT: an announce stored on
 * no node is tried again soon (requeryMs, doubling up to requeryMaxMs), one that was stored
 * waits the full re-announce interval.
 */
import { describe, expect, it } from '@jest/globals';
import { DhtPeerSource, type SourceDht, type SourceEngine } from '../../lib/swarm/peer-sources.js';
import type { AnnounceResult } from '../../lib/dht/types.js';
import { FakeClock } from '../support/fake-clock.js';

/** Advance virtual time in small steps, letting promise callbacks run in between. */
async function run(clock: FakeClock, ms: number, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    clock.advance(step);
  }
}

/** A DHT whose announces are stored on as many nodes as `storedOn` says, in turn (then the last). */
function scriptedDht(clock: FakeClock, storedOn: number[], calls: number[]): SourceDht {
  const result = (n: number): AnnounceResult => ({
    storedOn: n,
    targets: n,
    peers: [],
    queries: 0,
    lookup: { closest: [], queries: 0, responses: 0, failures: 0, hops: 0, durationMs: 0, aborted: false }
  });
  return {
    address: () => ({ host: '127.0.0.1', port: 6881 }),
    externalAddress: () => null,
    // eslint-disable-next-line require-yield
    findPeers: async function* () {
      return;
    },
    announce: () => {
      calls.push(clock.now());
      return Promise.resolve(result(storedOn[Math.min(calls.length, storedOn.length) - 1]!));
    },
    addNode: () => Promise.resolve()
  };
}

const engine: SourceEngine = { wantsPeers: () => false, addPeer: () => {}, announcePort: 6881 };

async function announceTimes(storedOn: number[], ms: number): Promise<number[]> {
  const clock = new FakeClock(0);
  const calls: number[] = [];
  const source = new DhtPeerSource(
    scriptedDht(clock, storedOn, calls),
    new Uint8Array(20),
    engine,
    { peer: () => {}, announced: () => {}, warning: () => {} },
    { clock, requeryMs: 1_000, requeryMaxMs: 30_000, announceIntervalMs: 60_000, idlePollMs: 5_000 }
  );
  source.start();
  await run(clock, ms);
  await source.stop();
  return calls;
}

describe('DhtPeerSource announces', () => {
  it('retries an announce stored nowhere after requeryMs, doubling, then keeps the interval', async () => {
    // Stored nowhere three times (every reply lost), then on 3 nodes.
    expect(await announceTimes([0, 0, 0, 3], 130_000)).toEqual([0, 1_000, 3_000, 7_000, 67_000, 127_000]);
  });

  it('waits the whole interval after an announce that was stored', async () => {
    expect(await announceTimes([5], 130_000)).toEqual([0, 60_000, 120_000]);
  });

  it('the retry wait doubles up to requeryMaxMs', async () => {
    const times = await announceTimes([0], 300_000);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps.slice(0, 7)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(Math.max(...gaps)).toBe(30_000);
  });
});
