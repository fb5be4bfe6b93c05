/**
 * The measures behind docs/no-routers.md: graph metrics against graphs whose values are
 * known in closed form, and the swarm model reproducible from its seed.
 */
import { describe, expect, it } from '@jest/globals';
import { components, diameter, largestComponent, spectralGap } from '../../bench/lib/graph-metrics.js';
import { DEFAULT_MODEL, distribute, runModel } from '../../bench/swarm-graph-model.js';
import { WALK_POLICY, type WalkPolicy } from '../../lib/engine/peers/walk-policy.js';
import { seededRandom } from '../../lib/util/random.js';

const cycle = (n: number): number[][] => Array.from({ length: n }, (_, i) => [(i + n - 1) % n, (i + 1) % n]);
const complete = (n: number): number[][] =>
  Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => j).filter((j) => j !== i));

describe('graph metrics', () => {
  it('spectral gap: 1 - cos(2 pi / n) for a cycle, n / (n - 1) for a complete graph', () => {
    expect(spectralGap(cycle(12), seededRandom(1), 3000)).toBeCloseTo(1 - Math.cos((2 * Math.PI) / 12), 3);
    expect(spectralGap(complete(10), seededRandom(1))).toBeCloseTo(10 / 9, 6);
  });

  it('diameter: exact, and the double-sweep bound on a large cycle', () => {
    expect(diameter(cycle(11), seededRandom(1))).toEqual({ diameter: 5, exact: true });
    expect(diameter(complete(6), seededRandom(1))).toEqual({ diameter: 1, exact: true });
    expect(diameter(cycle(3001), seededRandom(1))).toEqual({ diameter: 1500, exact: false });
  });

  it('components and the largest one', () => {
    const g = [[1], [0], [3], [2, 4], [3], []];
    expect(components(g).sizes).toEqual([2, 3, 1]);
    const big = largestComponent(g);
    expect(big.vertices).toEqual([2, 3, 4]);
    expect(big.adj).toEqual([[1], [0, 2], [1]]);
  });

  it('distribution: a path needs pieces + length - 1 rounds; an unreachable peer never finishes', () => {
    const path = [[1], [0, 2], [1, 3], [2]];
    expect(distribute(path, 0, 5, seededRandom(1))).toEqual({ rounds: 5 + 3 - 1, finished: 4 });
    expect(distribute([[1], [0], []], 0, 3, seededRandom(1)).finished).toBe(2);
  });
});

describe('swarm model', () => {
  it('is reproducible from its seed, and every scheme forms a working swarm of 50 peers', () => {
    const o = { ...DEFAULT_MODEL, peers: 50, minutes: 30, fillMinutes: 10, pieces: 20 };
    for (const scheme of ['tracker', 'dht', 'pex', 'pex+walk'] as const) {
      const a = runModel({ ...o, scheme }, seededRandom(42));
      expect(runModel({ ...o, scheme }, seededRandom(42))).toEqual(a);
      expect(a.alive).toBeGreaterThan(35);
      expect(a.largestShare).toBeGreaterThan(0.9);
      expect(a.distributionRounds).toBeGreaterThanOrEqual(20);
    }
  });

  it("pex+walk decides every step, acceptance and shedding with the engine's walk policy", () => {
    // A small cap, so peers fill up, accept into the slack and shed.
    const o = { ...DEFAULT_MODEL, peers: 60, minutes: 40, fillMinutes: 10, pieces: 20, maxConnections: 6 };
    const walking = { ...o, scheme: 'pex+walk' as const };
    const calls = new Map<string, number>();
    const watch = <F extends (...a: never[]) => unknown>(name: string, f: F): F =>
      ((...a: Parameters<F>) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return f(...a);
      }) as unknown as F;
    const watched: WalkPolicy = {
      stepDue: watch('stepDue', WALK_POLICY.stepDue),
      chooseStep: watch('chooseStep', WALK_POLICY.chooseStep),
      acceptsIncoming: watch('acceptsIncoming', WALK_POLICY.acceptsIncoming),
      surplus: watch('surplus', WALK_POLICY.surplus),
      canSpare: watch('canSpare', WALK_POLICY.canSpare)
    };
    const plain = runModel(walking, seededRandom(5));
    // The default is the engine's policy itself: watching it changes nothing, and all of it is used.
    expect(runModel({ ...walking, walkPolicy: watched }, seededRandom(5))).toEqual(plain);
    for (const name of Object.keys(WALK_POLICY)) expect(calls.get(name) ?? 0).toBeGreaterThan(0);
    // Its decisions are what moves the graph: a policy that never steps builds another one.
    const still: WalkPolicy = { ...WALK_POLICY, chooseStep: () => null };
    expect(runModel({ ...walking, walkPolicy: still }, seededRandom(5))).not.toEqual(plain);
    // PEX alone never asks it.
    calls.clear();
    runModel({ ...o, scheme: 'pex', walkPolicy: watched }, seededRandom(5));
    expect(calls.size).toBe(0);
  });
});
