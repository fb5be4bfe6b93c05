/**
 * Entries keyed by 16-bit sequence number, for the packets of one window (sent and not yet
 * acked, or received out of order). A power-of-two array indexed by seq & mask: O(1) get, set and
 * delete with no hashing. When two live keys share a slot the array doubles; live keys span at
 * most one window, so the array stays about the window's size and never exceeds 2^16 slots.
 */
import { SEQ_MASK } from './constants.js';

const EMPTY = -1;

export class SeqRing<T> {
  private keys: Int32Array;
  private values: (T | undefined)[];
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 16) {
    let cap = 1;
    while (cap < initialCapacity) cap <<= 1;
    this.keys = new Int32Array(cap).fill(EMPTY);
    this.values = new Array<T | undefined>(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  get(seq: number): T | undefined {
    const i = seq & this.mask;
    return this.keys[i] === seq ? this.values[i] : undefined;
  }

  has(seq: number): boolean {
    return this.keys[seq & this.mask] === seq;
  }

  set(seq: number, value: T): void {
    let i = seq & this.mask;
    while (this.keys[i] !== EMPTY && this.keys[i] !== seq) {
      this.grow();
      i = seq & this.mask;
    }
    if (this.keys[i] === EMPTY) this.count++;
    this.keys[i] = seq;
    this.values[i] = value;
  }

  /** Remove and return the entry for `seq`, if any. */
  delete(seq: number): T | undefined {
    const i = seq & this.mask;
    if (this.keys[i] !== seq) return undefined;
    const v = this.values[i];
    this.keys[i] = EMPTY;
    this.values[i] = undefined;
    this.count--;
    return v;
  }

  clear(): void {
    this.keys.fill(EMPTY);
    this.values.fill(undefined);
    this.count = 0;
  }

  private grow(): void {
    const cap = this.keys.length * 2;
    if (cap > SEQ_MASK + 1) throw new Error('SeqRing: two entries for one sequence number'); // unreachable: keys are 16-bit
    const keys = new Int32Array(cap).fill(EMPTY);
    const values = new Array<T | undefined>(cap);
    const mask = cap - 1;
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i]!;
      if (k === EMPTY) continue;
      keys[k & mask] = k;
      values[k & mask] = this.values[i];
    }
    this.keys = keys;
    this.values = values;
    this.mask = mask;
  }
}
