/**
 * The crawler's frontier: nodes heard about but not yet asked, with bounded memory.
 *
 * Nodes are kept in 2^prefixBits buckets by the top bits of their id, each bucket a FIFO
 * (a Map: insertion order). take() walks the buckets round-robin, so one sweep of the crawl
 * moves through the keyspace in order instead of digging into whichever region the first
 * replies happened to point at. Nodes without a known id (bootstrap addresses) come first.
 *
 * Eviction (when `capacity` is reached): the oldest entry of the bucket being added to if
 * that bucket holds at least its fair share, else the oldest entry of the fullest bucket.
 * Either way the frontier stays spread over the keyspace, which is what a sweep needs.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Candidate } from './types.js';
import { formatAddress } from '../net/address.js';

/** What take() should do with a candidate: use it, leave it for later, or forget it. */
export type Eligibility = 'take' | 'skip' | 'drop';

/** How many entries of one bucket take() looks at before moving to the next bucket. */
const SCAN_PER_BUCKET = 8;

export class Frontier {
  private readonly capacity: number;
  private readonly bits: number;
  private readonly buckets: Array<Map<string, Candidate>>;
  private readonly noId = new Map<string, Candidate>();
  /** key -> bucket index (-1 for noId). */
  private readonly index = new Map<string, number>();
  private cursor = 0;
  private evictedCount = 0;

  constructor(opts: { capacity: number; prefixBits?: number }) {
    if (!Number.isSafeInteger(opts.capacity) || opts.capacity < 1) {
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        `frontier capacity must be a positive integer, got ${opts.capacity}`
      );
    }
    this.capacity = opts.capacity;
    this.bits = Math.min(12, Math.max(0, opts.prefixBits ?? 8));
    this.buckets = Array.from({ length: 1 << this.bits }, () => new Map<string, Candidate>());
  }

  size(): number {
    return this.index.size;
  }

  /** Entries evicted to respect the capacity, since construction. */
  get evicted(): number {
    return this.evictedCount;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  /** Add a candidate; false if it was already present (an id learned later is kept). */
  add(c: Candidate): boolean {
    const key = formatAddress(c);
    const at = this.index.get(key);
    if (at !== undefined) {
      if (at === -1 && c.id) {
        // A bootstrap address whose id we now know: move it into its bucket.
        this.noId.delete(key);
        this.index.delete(key);
      } else {
        return false;
      }
    }
    const b = c.id ? this.bucketOf(c.id) : -1;
    if (this.index.size >= this.capacity) this.evictFor(b);
    (b === -1 ? this.noId : this.buckets[b]!).set(key, c);
    this.index.set(key, b);
    return true;
  }

  remove(key: string): void {
    const b = this.index.get(key);
    if (b === undefined) return;
    (b === -1 ? this.noId : this.buckets[b]!).delete(key);
    this.index.delete(key);
  }

  /**
   * Remove and return the next candidate `eligible` accepts. Candidates it marks 'skip' stay
   * (e.g. their IP was queried a moment ago); 'drop' removes them. Null if none qualifies.
   */
  take(eligible: (c: Candidate, key: string) => Eligibility): Candidate | null {
    const fromNoId = this.takeFrom(this.noId, eligible);
    if (fromNoId) return fromNoId;
    const n = this.buckets.length;
    for (let i = 0; i < n; i++) {
      const b = (this.cursor + i) % n;
      const hit = this.takeFrom(this.buckets[b]!, eligible);
      if (hit) {
        this.cursor = (b + 1) % n;
        return hit;
      }
    }
    return null;
  }

  /** All entries (for persistence). */
  *entries(): IterableIterator<Candidate> {
    yield* this.noId.values();
    for (const bucket of this.buckets) yield* bucket.values();
  }

  private takeFrom(
    bucket: Map<string, Candidate>,
    eligible: (c: Candidate, key: string) => Eligibility
  ): Candidate | null {
    let scanned = 0;
    for (const [key, c] of bucket) {
      if (scanned++ >= SCAN_PER_BUCKET) return null;
      const verdict = eligible(c, key);
      if (verdict === 'skip') continue;
      bucket.delete(key);
      this.index.delete(key);
      if (verdict === 'take') return c;
      scanned--; // a dropped entry does not use up the scan budget
    }
    return null;
  }

  private bucketOf(id: Uint8Array): number {
    if (this.bits === 0) return 0;
    // Top `bits` bits of the id (bits <= 12 so two bytes are enough).
    const top = ((id[0] ?? 0) << 8) | (id[1] ?? 0);
    return top >>> (16 - this.bits);
  }

  private evictFor(bucket: number): void {
    const fair = this.capacity / (this.buckets.length + 1);
    let victim: Map<string, Candidate> = bucket === -1 ? this.noId : this.buckets[bucket]!;
    if (victim.size === 0 || victim.size < fair) {
      for (const b of this.buckets) if (b.size > victim.size) victim = b;
      if (this.noId.size > victim.size) victim = this.noId;
    }
    const oldest = victim.keys().next();
    if (oldest.done) return;
    victim.delete(oldest.value);
    this.index.delete(oldest.value);
    this.evictedCount++;
  }
}
