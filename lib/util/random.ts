import { randomBytes as nodeRandomBytes } from 'node:crypto';

/** Injectable random source: deterministic in simulations, crypto-strong by default. */
export interface RandomSource {
  bytes(n: number): Uint8Array;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

export const cryptoRandom: RandomSource = {
  bytes: (n) => new Uint8Array(nodeRandomBytes(n)),
  int: (n) => Math.floor((nodeRandomBytes(4).readUInt32BE(0) / 0x1_0000_0000) * n)
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
