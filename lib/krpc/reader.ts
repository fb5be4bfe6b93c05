/**
 * Bencode reader for untrusted datagrams: the strict scan (util/bencode-scan.ts) first, then
 * one pass that builds the values.
 *
 * Why not bencode.decode: it copies the whole datagram, then decodes every dictionary key
 * through TextDecoder (~6 % of a busy node's CPU in the serve benchmark; a query now decodes
 * in about half the time). This reader returns the
 * same values as bencode.decode (property-tested against it): dictionaries as plain objects
 * (keys as UTF-8 text, hex when not valid UTF-8; later duplicates win; one deliberate
 * difference: a `__proto__` key is an own property, not a new prototype), byte strings as fresh
 * Uint8Array copies (nothing keeps the datagram alive), integers as numbers, lists as arrays.
 *
 * Safety: bencode@4 can loop forever on hostile input, so nothing is built before the scan
 * has accepted the whole input (every length in bounds, integers well-formed, nesting at most
 * `maxDepth`). The building pass below relies on that and does no checks of its own, and it
 * is only reachable through readBencode, which runs the scan.
 */
import { CH_COLON, CH_D, CH_E, CH_I, CH_L, CH_MINUS, isWellFormedBencode } from '../util/bencode-scan.js';

/** bencode's key decoder: UTF-8, non-fatal (bad sequences become U+FFFD), BOM stripped. */
const keyDecoder = new TextDecoder();

/**
 * The input being read and the read position. Module state instead of a cursor object:
 * reading is synchronous and never re-entered, and this runs for every datagram.
 */
const NOTHING = new Uint8Array(0);
let src: Uint8Array = NOTHING;
let at = 0;

/** The value encoded in `data`, or undefined when it is not exactly one well-formed value. */
export function readBencode(data: Uint8Array, maxDepth: number): unknown {
  if (!isWellFormedBencode(data, maxDepth)) return undefined;
  // A plain Uint8Array view, so that `slice` copies into plain Uint8Arrays (a Buffer's slice
  // would return views of the datagram).
  src =
    data.constructor === Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  at = 0;
  try {
    return next();
  } finally {
    src = NOTHING; // do not keep the datagram alive
  }
}

function next(): unknown {
  const c = src[at];
  if (c === CH_D) {
    at++;
    const dict: Record<string, unknown> = {};
    while (src[at] !== CH_E) {
      const key = readKey();
      if (key === '__proto__') {
        // bencode.decode assigns, which swaps the object's prototype; an own property instead.
        Object.defineProperty(dict, key, {
          value: next(),
          enumerable: true,
          writable: true,
          configurable: true
        });
      } else {
        dict[key] = next();
      }
    }
    at++;
    return dict;
  }
  if (c === CH_L) {
    at++;
    const list: unknown[] = [];
    while (src[at] !== CH_E) list.push(next());
    at++;
    return list;
  }
  if (c === CH_I) return readInt();
  const end = readLength();
  const bytes = src.slice(at, end);
  at = end;
  return bytes;
}

/** Reads "<digits>:" and returns where the string's bytes end (`at` is then at their start). */
function readLength(): number {
  let len = 0;
  while (src[at] !== CH_COLON) len = len * 10 + (src[at++]! - 0x30);
  at++;
  return at + len;
}

function readInt(): number {
  at++; // 'i'
  let sign = 1;
  if (src[at] === CH_MINUS) {
    sign = -1;
    at++;
  }
  let n = 0;
  while (src[at] !== CH_E) n = n * 10 + (src[at++]! - 0x30);
  at++;
  return n * sign; // same arithmetic as bencode.decode, so the same value beyond 2^53
}

function readKey(): string {
  const end = readLength();
  let key = '';
  let ascii = end - at <= 32;
  for (let i = at; i < end && ascii; i++) {
    const b = src[i]!;
    if (b >= 0x80) ascii = false;
    else key += String.fromCharCode(b);
  }
  if (!ascii) {
    const bytes = src.subarray(at, end);
    key = keyDecoder.decode(bytes);
    if (key.includes('\uFFFD'))
      key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  }
  at = end;
  return key;
}
