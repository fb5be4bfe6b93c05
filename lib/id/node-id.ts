/**
 * 20-byte node ids and infohashes, and exact XOR-distance comparison.
 * Comparison is byte-wise on the full 160 bits: never a JS number (which is exact only in
 * the top ~53 bits).
 */
import { ID_LENGTH } from '../constants.js';
import { InvalidArgumentError } from '../errors.js';
import { isHex, fromHex } from '../util/bytes.js';
import type { RandomSource } from '../util/random.js';
import { cryptoRandom } from '../util/random.js';

export type NodeId = Uint8Array;

/** Compare XOR distances: negative if `a` is closer to `target` than `b`, 0 if equal. */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  return compareDistanceAt(target, a, 0, b, 0);
}

/** compareDistance of the ids at `aAt` in `a` and `bAt` in `b` (ids packed in shared arrays). */
export function compareDistanceAt(
  target: Uint8Array,
  a: Uint8Array,
  aAt: number,
  b: Uint8Array,
  bAt: number
): number {
  for (let i = 0; i < ID_LENGTH; i++) {
    const t = target[i] ?? 0;
    const da = (a[aAt + i] ?? 0) ^ t;
    const db = (b[bAt + i] ?? 0) ^ t;
    if (da !== db) return da - db;
  }
  return 0;
}

/** XOR distance as 20 bytes. */
export function xorDistance(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(ID_LENGTH);
  for (let i = 0; i < ID_LENGTH; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

/** Number of leading bits `a` and `b` share (0..160). */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_LENGTH; i++) {
    const x = (a[i] ?? 0) ^ (b[i] ?? 0);
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return ID_LENGTH * 8;
}

export function randomId(random: RandomSource = cryptoRandom): NodeId {
  return random.bytes(ID_LENGTH);
}

/**
 * A random id sharing exactly `prefixBits` leading bits with `base` (bit `prefixBits` differs).
 * Used to refresh the bucket at that depth.
 */
export function randomIdWithPrefix(
  base: Uint8Array,
  prefixBits: number,
  random: RandomSource = cryptoRandom
): NodeId {
  const id = random.bytes(ID_LENGTH);
  const full = Math.min(prefixBits, ID_LENGTH * 8);
  for (let bit = 0; bit < full; bit++) setBit(id, bit, getBit(base, bit));
  if (full < ID_LENGTH * 8) setBit(id, full, getBit(base, full) ^ 1);
  return id;
}

function getBit(id: Uint8Array, bit: number): number {
  return ((id[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1;
}

function setBit(id: Uint8Array, bit: number, value: number): void {
  const mask = 1 << (7 - (bit & 7));
  const i = bit >> 3;
  id[i] = value ? (id[i] ?? 0) | mask : (id[i] ?? 0) & ~mask;
}

/**
 * Parse an infohash given as 40 hex chars, 32 base32 chars, or 20 bytes.
 * Throws InvalidArgumentError (ERR_INVALID_INFOHASH) otherwise.
 */
export function parseInfoHash(input: string | Uint8Array): Uint8Array {
  if (input instanceof Uint8Array) {
    if (input.length !== ID_LENGTH) {
      throw new InvalidArgumentError(
        'ERR_INVALID_INFOHASH',
        `infohash must be ${ID_LENGTH} bytes, got ${input.length}`
      );
    }
    return new Uint8Array(input);
  }
  if (typeof input !== 'string') {
    throw new InvalidArgumentError('ERR_INVALID_INFOHASH', 'infohash must be a hex string or 20 bytes');
  }
  if (isHex(input, ID_LENGTH)) return fromHex(input);
  if (/^[A-Za-z2-7]{32}$/.test(input)) return base32Decode(input.toUpperCase());
  throw new InvalidArgumentError(
    'ERR_INVALID_INFOHASH',
    `infohash must be 40 hex characters (or 32 base32), got ${JSON.stringify(input.slice(0, 64))}`
  );
}

/** A node id or lookup target: 20 bytes or 40 hex characters (ERR_INVALID_ARGUMENT otherwise). */
export function parseNodeId(input: string | Uint8Array): Uint8Array {
  try {
    return parseInfoHash(input);
  } catch {
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `node id / target must be ${ID_LENGTH} bytes or 40 hex characters`
    );
  }
}

/** RFC 4648 base32 (no padding) decode of a validated 32-char string into 20 bytes. */
export function base32Decode(s: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const out = new Uint8Array(Math.floor((s.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let index = 0;
  for (const ch of s) {
    value = (value << 5) | alphabet.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out[index++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out;
}
