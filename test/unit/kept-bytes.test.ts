import { describe, expect, it } from '@jest/globals';
import { keepBytes } from '../../lib/util/kept-bytes.js';

describe('keepBytes', () => {
  it('copies small byte strings into one shared buffer, each its own bytes', () => {
    const a = new Uint8Array(20).fill(1);
    const b = new Uint8Array(20).fill(2);
    const ka = keepBytes(a);
    const kb = keepBytes(b);
    expect(ka).toEqual(a);
    expect(kb).toEqual(b);
    expect(ka.length).toBe(20);
    expect(ka.buffer).toBe(kb.buffer);
    // Copies: the caller's arrays and the kept ones do not alias.
    a.fill(9);
    kb[0] = 7;
    expect(ka).toEqual(new Uint8Array(20).fill(1));
    expect(b[0]).toBe(2);
  });

  it('starts a new buffer when one is full, without touching what was handed out', () => {
    const kept = Array.from({ length: 300 }, (_, i) => keepBytes(new Uint8Array(20).fill(i & 0xff)));
    kept.forEach((k, i) => expect(k).toEqual(new Uint8Array(20).fill(i & 0xff)));
    expect(new Set(kept.map((k) => k.buffer)).size).toBeGreaterThan(1);
  });

  it('gives a large byte string an array of its own', () => {
    const big = new Uint8Array(1000).fill(5);
    const k = keepBytes(big);
    expect(k).toEqual(big);
    expect(k.buffer).not.toBe(big.buffer);
    expect(k.byteOffset).toBe(0);
    expect(k.buffer.byteLength).toBe(1000);
  });
});
