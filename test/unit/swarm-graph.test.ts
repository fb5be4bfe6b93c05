/**
 * The measures behind docs/no-routers.md: graph metrics against graphs whose values are
 * known in closed form, and the swarm model reproducible from its seed.
 */
import { describe, expect, it } from '@jest/globals';
import { components, diameter, largestComponent, spectralGap } from '../../bench/lib/graph-metrics.js';
import { DEFAULT_MODEL, distribute, runModel } from '../../bench/swarm-graph-model.js';
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
});
