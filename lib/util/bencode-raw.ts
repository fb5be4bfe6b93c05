/**
 * Bencode as bytes, not values: where a value sits inside a message, and whether bytes are the
 * one canonical encoding of their value.
 *
 * Why: BEP 44 hashes and signs a value's bencoded form. Decoding it and encoding it again is
 * not the same bytes when the sender's encoding was not canonical (unsorted or duplicate keys,
 * a string length written "05:"), and the reader turns binary dictionary keys into hex text.
 * So the storing node keeps the exact bytes it received, and refuses non-canonical ones
 * (BEP 44: "invalid bencoding (e.g. a dictionary with unsorted keys) ... MUST reject").
 *
 * Both functions expect input that already passed the strict scan (bencode-scan.ts) for
 * structure and bounds; they still never read out of bounds on other input.
 */
import { bencodeValueEnd, CH_0, CH_COLON, CH_D, CH_E, CH_I, CH_L } from './bencode-scan.js';

/**
 * The bytes of the value at `path` (dictionary keys, outermost first) in the bencoded `data`,
 * or undefined when a step is missing or not a dictionary. With duplicate keys the last one
 * wins, as in reader.ts, so these bytes are the value the decoded message carries.
 */
export function rawDictValue(
  data: Uint8Array,
  path: readonly string[],
  maxDepth = 16
): Uint8Array | undefined {
  let start = 0;
  let end = data.length;
  for (const key of path) {
    if (data[start] !== CH_D) return undefined;
    const want = Buffer.from(key, 'utf8');
    let pos = start + 1;
    let found: [number, number] | undefined;
    while (pos < end && data[pos] !== CH_E) {
      const keyEnd = stringEnd(data, pos);
      if (keyEnd < 0) return undefined;
      const valueEnd = bencodeValueEnd(data, keyEnd, maxDepth);
      if (valueEnd < 0) return undefined;
      if (sameBytes(data, data.indexOf(CH_COLON, pos) + 1, keyEnd, want)) found = [keyEnd, valueEnd];
      pos = valueEnd;
    }
    if (!found) return undefined;
    [start, end] = found;
  }
  return data.slice(start, end);
}

/**
 * True when `data` is exactly one value in canonical bencode: dictionary keys in strictly
 * increasing byte order (sorted, no duplicates), no leading zeros in string lengths, integers
 * without leading zeros or "-0", nesting at most `maxDepth`.
 */
export function isCanonicalBencode(data: Uint8Array, maxDepth = 16): boolean {
  if (bencodeValueEnd(data, 0, maxDepth) !== data.length) return false; // structure, ints, bounds
  return canonicalEnd(data, 0, 0, maxDepth) === data.length;
}

/** End of the canonical value at `pos`, or -1. Recursion is bounded by `maxDepth`. */
function canonicalEnd(data: Uint8Array, pos: number, depth: number, maxDepth: number): number {
  const c = data[pos];
  if (c === CH_I) return bencodeValueEnd(data, pos, 1);
  if (c === CH_L || c === CH_D) {
    if (depth >= maxDepth) return -1;
    pos++;
    let prevKey: [number, number] | undefined;
    while (data[pos] !== CH_E) {
      if (pos >= data.length) return -1;
      if (c === CH_D) {
        if (data[pos] === CH_I || data[pos] === CH_L || data[pos] === CH_D) return -1; // keys are strings
        const keyEnd = canonicalEnd(data, pos, depth + 1, maxDepth);
        if (keyEnd < 0) return -1;
        const key: [number, number] = [data.indexOf(CH_COLON, pos) + 1, keyEnd];
        if (prevKey && compareSpans(data, prevKey, key) >= 0) return -1;
        prevKey = key;
        pos = keyEnd;
      }
      pos = canonicalEnd(data, pos, depth + 1, maxDepth);
      if (pos < 0) return -1;
    }
    return pos + 1;
  }
  if (c === CH_0 && data[pos + 1] !== CH_COLON) return -1; // "05:" is not canonical
  return stringEnd(data, pos);
}

/** End of the byte string at `pos` (its digits, ':', bytes), or -1. */
function stringEnd(data: Uint8Array, pos: number): number {
  let len = 0;
  let i = pos;
  while (i < data.length && data[i]! >= CH_0 && data[i]! <= CH_0 + 9 && i - pos < 8) {
    len = len * 10 + (data[i]! - CH_0);
    i++;
  }
  if (i === pos || data[i] !== CH_COLON) return -1;
  const end = i + 1 + len;
  return end <= data.length ? end : -1;
}

function sameBytes(data: Uint8Array, from: number, to: number, want: Uint8Array): boolean {
  if (to - from !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (data[from + i] !== want[i]) return false;
  return true;
}

/** Byte-wise order of two spans of `data` (shorter first when one is a prefix). */
function compareSpans(data: Uint8Array, a: [number, number], b: [number, number]): number {
  const la = a[1] - a[0];
  const lb = b[1] - b[0];
  for (let i = 0; i < Math.min(la, lb); i++) {
    const d = data[a[0] + i]! - data[b[0] + i]!;
    if (d !== 0) return d;
  }
  return la - lb;
}
