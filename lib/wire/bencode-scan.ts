/**
 * Bounds-checked scan of untrusted bencode before `bencode.decode` touches it.
 *
 * bencode@4's decoder is unsafe on hostile input: a negative string length (`d1:a-3:xe`) makes
 * it loop forever, lengths past the end are truncated silently, nesting is recursive. So wire
 * payloads are scanned first by this iterative O(n) pass, which also finds where the first
 * value ends (ut_metadata appends raw bytes after its dictionary).
 */

const CH_0 = 0x30;
const CH_9 = 0x39;
const CH_COLON = 0x3a;
const CH_MINUS = 0x2d;
const CH_D = 0x64;
const CH_E = 0x65;
const CH_I = 0x69;
const CH_L = 0x6c;

const LIST = 0;
const DICT_KEY = 1;
const DICT_VALUE = 2;

/** Default nesting cap: extension messages are shallow dictionaries. */
export const DEFAULT_MAX_BENCODE_DEPTH = 16;
const MAX_STRING_LENGTH_DIGITS = 8;
const MAX_INT_DIGITS = 20;

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= CH_0 && c <= CH_9;

function scanString(data: Uint8Array, pos: number): number {
  let len = 0;
  let i = pos;
  while (isDigit(data[i])) {
    if (i - pos >= MAX_STRING_LENGTH_DIGITS) return -1;
    len = len * 10 + (data[i]! - CH_0);
    i++;
  }
  if (i === pos || data[i] !== CH_COLON) return -1;
  const end = i + 1 + len;
  return end <= data.length ? end : -1;
}

function scanInt(data: Uint8Array, pos: number): number {
  let i = pos + 1;
  if (data[i] === CH_MINUS) i++;
  const first = i;
  while (isDigit(data[i])) i++;
  const digits = i - first;
  if (digits === 0 || digits > MAX_INT_DIGITS || data[i] !== CH_E) return -1;
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
  return -1;
}
