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

function take(n: number): Uint8Array {
  if (n > POOL_SIZE / 4) return new Uint8Array(nodeRandomBytes(n));
  if (poolAt + n > POOL_SIZE) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const out = pool.slice(poolAt, poolAt + n);
  pool.fill(0, poolAt, poolAt + n); // served bytes do not stay in memory
  poolAt += n;
  return out;
}

export const cryptoRandom: RandomSource = {
  bytes: (n) => take(n),
  int: (n) => {
    if (poolAt + 4 > POOL_SIZE) {
      randomFillSync(pool);
      poolAt = 0;
    }
    const v = ((pool[poolAt]! << 24) | (pool[poolAt + 1]! << 16) | (pool[poolAt + 2]! << 8) | pool[poolAt + 3]!) >>> 0;
    poolAt += 4;
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
