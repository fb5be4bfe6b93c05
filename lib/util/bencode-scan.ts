/**
 * Strict, bounds-checked structural scan of untrusted bencode, run before `bencode.decode`
 * (KRPC datagrams and BitTorrent extension payloads alike).
 *
 * Why: bencode@4's decoder is not safe on hostile input. It never checks bounds or signs:
 * `l-3:e` (5 bytes) makes it loop forever (a negative string length moves its cursor
 * backwards), `5:ab` silently yields 2 bytes, `i1.5e` yields 1, trailing garbage is ignored,
 * and nesting depth is unbounded (recursion). A try/catch cannot stop an infinite loop, so
 * untrusted bytes pass this iterative, O(n), allocation-light scan first. It also tells where
 * the first value ends (ut_metadata appends raw bytes after its dictionary).
 *
 * Accepted grammar (BEP 3):
 *   int    = 'i' ( '0' | '-'? [1-9][0-9]* ) 'e'      (no '-0', no leading zeros)
 *   string = [0-9]+ ':' <that many bytes>            (length must fit in the input)
 *   list   = 'l' value* 'e';  dict = 'd' (string value)* 'e'
 * Dict key order and duplicates are not checked (harmless for our readers; be lenient there).
 */

/** Default nesting cap: KRPC messages and extension messages are shallow dictionaries. */
export const DEFAULT_MAX_BENCODE_DEPTH = 16;

/** The bencode syntax bytes, shared by every bencode reader here. */
export const CH_0 = 0x30;
export const CH_9 = 0x39;
export const CH_COLON = 0x3a;
export const CH_MINUS = 0x2d;
export const CH_D = 0x64;
export const CH_E = 0x65;
export const CH_I = 0x69;
export const CH_L = 0x6c;

/** Containers on the scan stack. A dict alternates between expecting a key and a value. */
const LIST = 0;
const DICT_KEY = 1;
const DICT_VALUE = 2;

/** Longest string-length prefix we parse; 7 digits is far above any datagram size. */
const MAX_LENGTH_DIGITS = 7;

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= CH_0 && c <= CH_9;
}

/** End offset of the byte string starting at `pos`, or -1 if malformed / out of bounds. */
function scanString(data: Uint8Array, pos: number): number {
  let len = 0;
  let i = pos;
  while (isDigit(data[i])) {
    if (i - pos >= MAX_LENGTH_DIGITS) return -1;
    len = len * 10 + (data[i]! - CH_0);
    i++;
  }
  if (i === pos || data[i] !== CH_COLON) return -1;
  const end = i + 1 + len;
  return end <= data.length ? end : -1;
}

/** End offset of the integer starting at `pos` (which holds 'i'), or -1 if malformed. */
function scanInt(data: Uint8Array, pos: number): number {
  let i = pos + 1;
  const negative = data[i] === CH_MINUS;
  if (negative) i++;
  const first = i;
  while (isDigit(data[i])) i++;
  const digits = i - first;
  if (digits === 0 || data[i] !== CH_E) return -1;
  if (data[first] === CH_0 && (digits > 1 || negative)) return -1; // i03e, i-0e
  // No magnitude cap here: values beyond 2^53 decode as unsafe numbers and are rejected
  // by the schema checks of the fields that use them; unused huge integers are harmless.
  return i + 1;
}

/**
 * Offset just past the bencoded value starting at `start`, or -1 if it is malformed,
 * truncated or nested deeper than `maxDepth`.
 */
export function bencodeValueEnd(data: Uint8Array, start = 0, maxDepth = DEFAULT_MAX_BENCODE_DEPTH): number {
  const stack: number[] = [];
  let pos = start;
  while (pos < data.length) {
    const c = data[pos];
    const top = stack.length > 0 ? stack[stack.length - 1] : undefined;
    if (c === CH_E && (top === LIST || top === DICT_KEY)) {
      stack.pop();
      pos++;
    } else if (top === DICT_KEY) {
      pos = scanString(data, pos);
      if (pos < 0) return -1;
      stack[stack.length - 1] = DICT_VALUE;
    } else {
      // A value: it completes a pending dict entry, so the dict expects a key next.
      if (top === DICT_VALUE) stack[stack.length - 1] = DICT_KEY;
      if (c === CH_D || c === CH_L) {
        if (stack.length >= maxDepth) return -1;
        stack.push(c === CH_D ? DICT_KEY : LIST);
        pos++;
      } else {
        pos = c === CH_I ? scanInt(data, pos) : isDigit(c) ? scanString(data, pos) : -1;
        if (pos < 0) return -1;
      }
    }
    if (stack.length === 0) return pos;
  }
  return -1; // empty input, or a container left open
}

/** True when `data` is exactly one well-formed bencoded value nested at most `maxDepth` deep. */
export function isWellFormedBencode(data: Uint8Array, maxDepth = DEFAULT_MAX_BENCODE_DEPTH): boolean {
  return bencodeValueEnd(data, 0, maxDepth) === data.length;
}
