import { randomBytes as nodeRandomBytes, randomFillSync } from 'node:crypto';

/** Injectable random source: deterministic in simulations, crypto-strong by default. */
export interface RandomSource {
  bytes(n: number): Uint8Array;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

/**
 * CSPRNG bytes served from a pool refilled 4 KiB at a time: the same generator as
 * `crypto.randomBytes`, without a native call and a Buffer allocation for every transaction
 * id or piece-picker tie-break (a busy engine draws thousands of integers per second).
 */
const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let poolAt = POOL_SIZE;

/** Offset of `n` fresh pool bytes (refilling when too few are left); they are consumed. */
function reserve(n: number): number {
  if (poolAt + n > POOL_SIZE) {
    randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += n;
  return poolAt - n;
}

export const cryptoRandom: RandomSource = {
  bytes: (n) => {
    if (n > POOL_SIZE / 4) return new Uint8Array(nodeRandomBytes(n));
    const at = reserve(n);
    return pool.slice(at, at + n);
  },
  int: (n) => {
    const at = reserve(4);
    const v = ((pool[at]! << 24) | (pool[at + 1]! << 16) | (pool[at + 2]! << 8) | pool[at + 3]!) >>> 0;
    return Math.floor((v / 0x1_0000_0000) * n);
  }
};

/** Deterministic PRNG (mulberry32) for simulations and tests. */
export function seededRandom(seed: number): RandomSource {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
  return {
    bytes(n) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
      return out;
    },
    int: (n) => Math.floor(next() * n)
  };
}
