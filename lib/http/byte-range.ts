/**
 * The HTTP `Range` request header (RFC 9110 §14.2) for one file: a single byte range, in any
 * of its three forms (`bytes=A-B`, `bytes=A-`, `bytes=-N`). Parsed strictly, with a length
 * cap, since it is untrusted input; several ranges are refused rather than served as
 * multipart (no player needs them, and each would be a separate piece-waiting stream).
 */

/** The header is longer than any single range needs. */
const MAX_HEADER = 100;

export type RangeResult =
  /** No Range header: the whole file (200). */
  | { kind: 'none' }
  /** Inclusive byte offsets (206). */
  | { kind: 'range'; start: number; end: number }
  /** Well-formed but past the end of the file, or a zero-length suffix (416). */
  | { kind: 'unsatisfiable' }
  /** Malformed, or several ranges (400 / 416 with a message). */
  | { kind: 'invalid'; reason: string };

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'none' };
  if (header.length > MAX_HEADER) return { kind: 'invalid', reason: 'Range header too long' };
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return { kind: 'invalid', reason: 'only byte ranges are supported' };
  const spec = m[1]!.trim();
  if (spec.includes(','))
    return { kind: 'invalid', reason: 'several ranges in one request are not supported' };
  const r = /^(\d*)-(\d*)$/.exec(spec);
  if (!r || (r[1] === '' && r[2] === '')) return { kind: 'invalid', reason: `malformed range '${spec}'` };
  const first = r[1] === '' ? undefined : Number(r[1]);
  const last = r[2] === '' ? undefined : Number(r[2]);
  if (
    (first !== undefined && !Number.isSafeInteger(first)) ||
    (last !== undefined && !Number.isSafeInteger(last))
  )
    return { kind: 'unsatisfiable' };
  if (first === undefined) {
    // Suffix: the last N bytes.
    if (last === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - last!), end: size - 1 };
  }
  if (last !== undefined && last < first)
    return { kind: 'invalid', reason: `range end before start in '${spec}'` };
  if (first >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start: first, end: Math.min(last ?? size - 1, size - 1) };
}
