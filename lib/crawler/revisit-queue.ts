/**
 * Nodes to ask again later, ordered by due time (a binary min-heap), with a hard capacity.
 * When full, a new entry is refused (and counted by the caller): the node is not lost for good,
 * it comes back whenever another node mentions it after its interval has passed.
 */
import type { Candidate } from './types.js';

export interface Revisit {
  dueMs: number;
  node: Candidate;
  /** Consecutive failed queries (retries after a failure). */
  failures?: number;
}

export class RevisitQueue {
  private readonly heap: Revisit[] = [];

  constructor(private readonly capacity: number) {}

  size(): number {
    return this.heap.length;
  }

  /** Earliest due time, or Infinity when empty. */
  peekDue(): number {
    return this.heap[0]?.dueMs ?? Infinity;
  }

  /** Add an entry; false when full. */
  push(entry: Revisit): boolean {
    if (this.heap.length >= this.capacity) return false;
    const heap = this.heap;
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.dueMs <= entry.dueMs) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
    return true;
  }

  /** Remove and return the earliest entry if it is due at `nowMs`. */
  popDue(nowMs: number): Revisit | null {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined || top.dueMs > nowMs) return null;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const child = r < n && heap[r]!.dueMs < heap[l]!.dueMs ? r : l;
        if (heap[child]!.dueMs >= last.dueMs) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }

  /** All entries, in no particular order (for persistence). */
  entries(): readonly Revisit[] {
    return this.heap;
  }
}
