/**
 * Measures of an undirected graph given as adjacency lists over 0..n-1: connected components,
 * diameter, spectral gap. Pure; the random source only picks BFS start points.
 *
 * - Diameter: exact (a BFS from every vertex) up to `exactUpTo` vertices; above that the
 *   largest eccentricity seen from `sweeps` double sweeps (BFS from a random vertex, then from
 *   the farthest one found), a lower bound that is almost always exact on such graphs.
 * - Spectral gap: 1 - lambda2 of the normalised adjacency D^-1/2 A D^-1/2 of the largest
 *   component (lambda1 = 1). A random walk mixes in about log(n)/gap steps; a random regular
 *   graph of degree d has gap close to 1 - 2*sqrt(d-1)/d. Computed by power iteration on the
 *   lazy matrix (I + M)/2 with the top eigenvector (proportional to sqrt(degree)) projected
 *   out; `iterations` bounds the work.
 */
import type { RandomSource } from '../../lib/util/random.js';

export type Adjacency = readonly (readonly number[])[];

/** Component of every vertex (-1 for none: never), and the components' sizes. */
export function components(adj: Adjacency): { of: Int32Array; sizes: number[] } {
  const of = new Int32Array(adj.length).fill(-1);
  const sizes: number[] = [];
  const queue = new Int32Array(adj.length);
  for (let s = 0; s < adj.length; s++) {
    if (of[s] !== -1) continue;
    const c = sizes.length;
    let head = 0;
    let tail = 0;
    queue[tail++] = s;
    of[s] = c;
    while (head < tail) {
      const v = queue[head++]!;
      for (const w of adj[v]!) {
        if (of[w] === -1) {
          of[w] = c;
          queue[tail++] = w;
        }
      }
    }
    sizes.push(tail);
  }
  return { of, sizes };
}

/** Distances from `s` (-1 = unreachable) and the farthest vertex reached. */
function bfs(adj: Adjacency, s: number, dist: Int32Array, queue: Int32Array): { far: number; ecc: number } {
  dist.fill(-1);
  let head = 0;
  let tail = 0;
  queue[tail++] = s;
  dist[s] = 0;
  let far = s;
  while (head < tail) {
    const v = queue[head++]!;
    if (dist[v]! > dist[far]!) far = v;
    for (const w of adj[v]!) {
      if (dist[w] === -1) {
        dist[w] = dist[v]! + 1;
        queue[tail++] = w;
      }
    }
  }
  return { far, ecc: dist[far]! };
}

/** The largest component's vertices, as a graph of its own (indices 0..m-1). */
export function largestComponent(adj: Adjacency): { adj: number[][]; vertices: number[] } {
  const { of, sizes } = components(adj);
  if (sizes.length === 0) return { adj: [], vertices: [] };
  const big = sizes.indexOf(Math.max(...sizes));
  const vertices: number[] = [];
  const index = new Int32Array(adj.length).fill(-1);
  for (let v = 0; v < adj.length; v++) if (of[v] === big) index[v] = vertices.push(v) - 1;
  return { adj: vertices.map((v) => adj[v]!.map((w) => index[w]!)), vertices };
}

export interface DiameterResult {
  diameter: number;
  exact: boolean;
}

/** Diameter of a connected graph (see the header for exactness). */
export function diameter(
  adj: Adjacency,
  random: RandomSource,
  exactUpTo = 1500,
  sweeps = 16
): DiameterResult {
  const n = adj.length;
  if (n <= 1) return { diameter: 0, exact: true };
  const dist = new Int32Array(n);
  const queue = new Int32Array(n);
  let best = 0;
  if (n <= exactUpTo) {
    for (let s = 0; s < n; s++) best = Math.max(best, bfs(adj, s, dist, queue).ecc);
    return { diameter: best, exact: true };
  }
  for (let i = 0; i < sweeps; i++) {
    const first = bfs(adj, random.int(n), dist, queue);
    best = Math.max(best, first.ecc, bfs(adj, first.far, dist, queue).ecc);
  }
  return { diameter: best, exact: false };
}

/** 1 - lambda2 of the normalised adjacency of a connected graph. */
export function spectralGap(adj: Adjacency, random: RandomSource, iterations = 400): number {
  const n = adj.length;
  if (n <= 1) return 1;
  const sq = Float64Array.from(adj, (a) => Math.sqrt(a.length));
  const norm1 = Math.sqrt(sq.reduce((s, v) => s + v * v, 0));
  const top = sq.map((v) => v / norm1);
  let x: Float64Array = Float64Array.from({ length: n }, () => random.int(1 << 30) / (1 << 30) - 0.5);
  const y = new Float64Array(n);
  const project = (v: Float64Array): void => {
    let dot = 0;
    for (let i = 0; i < n; i++) dot += v[i]! * top[i]!;
    for (let i = 0; i < n; i++) v[i]! -= dot * top[i]!;
    let len = 0;
    for (let i = 0; i < n; i++) len += v[i]! * v[i]!;
    len = Math.sqrt(len) || 1;
    for (let i = 0; i < n; i++) v[i]! /= len;
  };
  /** y = (I + M) / 2 x, M = D^-1/2 A D^-1/2. */
  const apply = (src: Float64Array, dst: Float64Array): void => {
    for (let v = 0; v < n; v++) {
      let s = 0;
      for (const w of adj[v]!) s += src[w]! / sq[w]!;
      dst[v] = (src[v]! + s / sq[v]!) / 2;
    }
  };
  project(x);
  let mu = 0;
  for (let i = 0; i < iterations; i++) {
    apply(x, y);
    let dot = 0;
    for (let v = 0; v < n; v++) dot += x[v]! * y[v]!;
    mu = dot; // Rayleigh quotient of the lazy matrix (x has unit length)
    x = Float64Array.from(y);
    project(x);
  }
  // lambda2(M) = 2 mu - 1.
  return 1 - (2 * mu - 1);
}
