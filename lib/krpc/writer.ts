/**
 * A small bencode writer for the messages we build ourselves (KRPC queries and replies).
 *
 * Why not `bencode.encode`: serving replies is our hottest path, and the generic encoder
 * converts every key and string to bytes and concatenates many small arrays per message
 * (≈ 25 % of a busy node's CPU in the serve benchmark). This writer sizes the message first
 * and writes it once into one buffer. Output is byte-identical to `bencode.encode` for the
 * value types it accepts (checked by a property test): byte strings, strings, safe integers,
 * lists, and dictionaries (keys sorted). Responses have their own fixed-shape writer
 * (response-writer.ts); decoding is reader.ts behind the strict pre-scan.
 */
export type BencodeValue =
  Uint8Array | string | number | RawBencode | BencodeValue[] | { [key: string]: BencodeValue | undefined };

/**
 * A value that is already bencoded, written as is (BEP 44 values are signed and hashed in the
 * exact form they were put; re-encoding could change them). The caller vouches for the bytes.
 */
export class RawBencode {
  constructor(readonly bytes: Uint8Array) {}
}

const encoder = new TextEncoder();
const keyCache = new Map<string, Uint8Array>();

function keyBytes(key: string): Uint8Array {
  let bytes = keyCache.get(key);
  if (!bytes) {
    bytes = encoder.encode(key);
    if (keyCache.size < 256) keyCache.set(key, bytes); // KRPC has a few dozen keys
  }
  return bytes;
}

function digits(n: number): number {
  return String(n).length;
}

function size(v: BencodeValue): number {
  if (v instanceof Uint8Array) return digits(v.length) + 1 + v.length;
  if (typeof v === 'string') {
    const n = Buffer.byteLength(v);
    return digits(n) + 1 + n;
  }
  if (typeof v === 'number') return 2 + digits(Math.trunc(v));
  if (v instanceof RawBencode) return v.bytes.length;
  let total = 2;
  if (Array.isArray(v)) {
    for (const item of v) total += size(item);
    return total;
  }
  for (const key of Object.keys(v)) {
    const item = v[key];
    if (item === undefined) continue;
    const k = keyBytes(key);
    total += digits(k.length) + 1 + k.length + size(item);
  }
  return total;
}

function writeBytes(out: Buffer, pos: number, bytes: Uint8Array): number {
  pos += out.write(String(bytes.length), pos, 'latin1');
  out[pos++] = 0x3a; // ':'
  out.set(bytes, pos);
  return pos + bytes.length;
}

function write(out: Buffer, pos: number, v: BencodeValue): number {
  if (v instanceof Uint8Array) return writeBytes(out, pos, v);
  if (typeof v === 'string') {
    pos += out.write(String(Buffer.byteLength(v)), pos, 'latin1');
    out[pos++] = 0x3a;
    return pos + out.write(v, pos, 'utf8');
  }
  if (typeof v === 'number') {
    out[pos++] = 0x69; // 'i'
    pos += out.write(String(Math.trunc(v)), pos, 'latin1');
    out[pos++] = 0x65; // 'e'
    return pos;
  }
  if (v instanceof RawBencode) {
    out.set(v.bytes, pos);
    return pos + v.bytes.length;
  }
  if (Array.isArray(v)) {
    out[pos++] = 0x6c; // 'l'
    for (const item of v) pos = write(out, pos, item);
    out[pos++] = 0x65;
    return pos;
  }
  out[pos++] = 0x64; // 'd'
  for (const key of sortedKeys(v)) {
    const item = v[key];
    if (item === undefined) continue;
    pos = writeBytes(out, pos, keyBytes(key));
    pos = write(out, pos, item);
  }
  out[pos++] = 0x65;
  return pos;
}

/**
 * Keys in bencode order. The messages we build list them in order already: checking first
 * spares the sort's own allocations (it was ~7 % of all bytes allocated in a simulated build).
 */
function sortedKeys(v: object): string[] {
  const keys = Object.keys(v);
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return keys.sort();
  return keys;
}

/** Bencode `value` into one freshly allocated buffer. */
export function writeBencode(value: BencodeValue): Uint8Array {
  const out = Buffer.allocUnsafe(size(value));
  const end = write(out, 0, value);
  return end === out.length ? out : out.subarray(0, end);
}
