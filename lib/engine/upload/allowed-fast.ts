/**
 * BEP 6 allowed-fast sets: the pieces a starting peer may download from us while choked
 * (the uploader grants them).
 */
import { createHash } from 'node:crypto';

/** BEP 6 allowed-fast set size (the BEP's reference value is 10). */
export const ALLOWED_FAST_COUNT = 10;

/**
 * BEP 6 canonical allowed-fast set for a peer at IPv4 `ip`: SHA-1 chain over (ip & /24 mask,
 * infohash), 4-byte words mod the piece count.
 */
export function allowedFastSet(ip: string, infoHash: Uint8Array, pieceCount: number, k: number): number[] {
  const want = Math.min(k, pieceCount);
  const out: number[] = [];
  const octets = ip.split('.').map(Number);
  let x: Buffer = Buffer.alloc(24);
  x.set([octets[0] ?? 0, octets[1] ?? 0, octets[2] ?? 0, 0], 0);
  x.set(infoHash, 4);
  while (out.length < want) {
    x = createHash('sha1').update(x).digest();
    for (let i = 0; i < 5 && out.length < want; i++) {
      const index = x.readUInt32BE(i * 4) % pieceCount;
      if (!out.includes(index)) out.push(index);
    }
  }
  return out;
}
