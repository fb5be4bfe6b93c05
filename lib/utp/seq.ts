/**
 * 16-bit sequence arithmetic with wrapping (BEP 29: seq_nr and ack_nr are 16 bits), and 32-bit
 * microsecond timestamps, which wrap every ~71 minutes.
 *
 * "a before b" means walking up from a reaches b in fewer steps than walking down: the nearer
 * reading wins, as in libtorrent's compare_less_wrap.
 */
import { SEQ_MASK } from './constants.js';

/** (a + n) mod 2^16. */
export function seqAdd(a: number, n: number): number {
  return (a + n) & SEQ_MASK;
}

/** Steps from b up to a, mod 2^16 (0..65535). */
export function seqDiff(a: number, b: number): number {
  return (a - b) & SEQ_MASK;
}

/** True if a comes before b on the 16-bit circle. */
export function seqLess(a: number, b: number): boolean {
  const up = (b - a) & SEQ_MASK;
  const down = (a - b) & SEQ_MASK;
  return up < down;
}

/** (a - b) mod 2^32 as an unsigned number: a timestamp difference across a wrap. */
export function u32Diff(a: number, b: number): number {
  return (a - b) >>> 0;
}

/** True if timestamp a comes before b on the 32-bit circle. */
export function u32Less(a: number, b: number): boolean {
  return u32Diff(b, a) < u32Diff(a, b);
}
