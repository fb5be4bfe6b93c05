/**
 * Query targets of the crawl. BEP 51 puts `target` in sample_infohashes so that one query per
 * node both samples it and points the crawler onwards (the reply's `nodes` are the responder's
 * closest to the target): choosing targets well is how the walk covers the keyspace.
 *
 * - Neighbourhood: the queried node's own id prefix. A Kademlia node knows its neighbours best,
 *   so the reply lists nodes near it, which fills in the region being swept.
 * - Sweep: 16-bit prefixes in bit-reversed order (0, 1/2, 1/4, 3/4, 1/8, ...): after any 2^j
 *   queries the targets are spread evenly over the whole id space, so discovery never stays
 *   stuck where the first replies pointed (a linear sweep of a 400-node network dried up after
 *   reaching a quarter of it; this one covers it all).
 * Exploration (sweep only) whenever the frontier runs low, else the two alternate.
 */
import type { RandomSource } from '../util/random.js';
import type { Candidate } from './types.js';

const ID_LEN = 20;

export class TargetPicker {
  private sweepIndex = 0;
  private count = 0;

  constructor(private readonly random: RandomSource) {}

  next(node: Candidate, starving: boolean): Uint8Array {
    const t = this.random.bytes(ID_LEN);
    const neighbourhood =
      !starving && node.id !== undefined && node.id.length === ID_LEN && this.count++ % 2 === 0;
    if (neighbourhood) {
      t.set(node.id!.subarray(0, 4)); // 32 shared bits: its closest neighbours in any real DHT
      return t;
    }
    const prefix = reverse16(this.sweepIndex);
    this.sweepIndex = (this.sweepIndex + 1) & 0xffff;
    t[0] = prefix >>> 8;
    t[1] = prefix & 0xff;
    return t;
  }
}

/** The 16 bits of `x` in reverse order (van der Corput sequence in base 2). */
export function reverse16(x: number): number {
  let r = 0;
  for (let i = 0; i < 16; i++) r = (r << 1) | ((x >>> i) & 1);
  return r;
}
