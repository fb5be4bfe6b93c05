/**
 * Per-node schedule: for every node (ip:port) the crawler asked, the earliest time it may ask
 * again. This is what makes "never re-query a node before its BEP 51 `interval` expires" a
 * checked invariant instead of a hope: the crawler consults it before every query and records
 * the provisional/actual next-allowed time as soon as it sends.
 *
 * Bounded: at most `capacity` entries. Only expired entries (next-allowed time in the past)
 * are ever evicted, because dropping a live one could let the node be asked early. When the
 * schedule is full of live entries, reserve() refuses and the crawler waits: capacity bounds
 * memory and, with the intervals, the crawl rate (capacity >= rate * interval keeps it busy).
 */
import { InvalidArgumentError } from '../errors.js';
import type { ScheduleEntry } from './types.js';

export class NodeSchedule {
  private readonly capacity: number;
  private readonly next = new Map<string, number>();
  /** Keys changed since the last takeDirty(), for incremental persistence. */
  private dirty = new Set<string>();
  /** No point sweeping before this time: no live entry expires earlier. */
  private sweepNotBefore = -Infinity;

  constructor(opts: { capacity: number }) {
    if (!Number.isSafeInteger(opts.capacity) || opts.capacity < 1) {
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        `schedule capacity must be a positive integer, got ${opts.capacity}`
      );
    }
    this.capacity = opts.capacity;
  }

  /** When `key` may next be queried (-Infinity if never scheduled or forgotten). */
  nextAllowed(key: string): number {
    return this.next.get(key) ?? -Infinity;
  }

  canQuery(key: string, nowMs: number): boolean {
    return this.nextAllowed(key) <= nowMs;
  }

  /**
   * Record that `key` must not be queried before `atMs` (used right before sending, with a
   * provisional time). Never moves an existing time earlier. False when there is no room.
   */
  reserve(key: string, atMs: number, nowMs: number): boolean {
    const current = this.next.get(key);
    if (current === undefined && this.next.size >= this.capacity && !this.makeRoom(nowMs)) return false;
    this.set(key, Math.max(current ?? -Infinity, atMs));
    return true;
  }

  /**
   * Set the next-allowed time from a reply (may be earlier than the provisional reservation,
   * e.g. after a failure backoff was reserved; never earlier than `nowMs`).
   */
  update(key: string, atMs: number, nowMs: number): void {
    if (!this.next.has(key) && this.next.size >= this.capacity && !this.makeRoom(nowMs)) return;
    this.set(key, Math.max(atMs, nowMs));
  }

  /** Restore a persisted entry (skipped when expired or when full). */
  restore(entry: ScheduleEntry, nowMs: number): void {
    if (entry.nextAllowedMs <= nowMs || this.next.size >= this.capacity) return;
    this.next.set(entry.key, entry.nextAllowedMs);
  }

  size(): number {
    return this.next.size;
  }

  /** Entries changed since the last call (still present), for incremental saves. */
  takeDirty(): ScheduleEntry[] {
    const out: ScheduleEntry[] = [];
    for (const key of this.dirty) {
      const at = this.next.get(key);
      if (at !== undefined) out.push({ key, nextAllowedMs: at });
    }
    this.dirty = new Set();
    return out;
  }

  private set(key: string, atMs: number): void {
    this.next.set(key, atMs);
    this.dirty.add(key);
  }

  /** Drop expired entries; true if that made room. Sweeps at most once per earliest expiry. */
  private makeRoom(nowMs: number): boolean {
    if (nowMs < this.sweepNotBefore) return false;
    let earliest = Infinity;
    for (const [key, at] of this.next) {
      if (at <= nowMs) {
        this.next.delete(key);
        this.dirty.delete(key);
      } else if (at < earliest) {
        earliest = at;
      }
    }
    this.sweepNotBefore = this.next.size >= this.capacity ? earliest : -Infinity;
    return this.next.size < this.capacity;
  }
}
