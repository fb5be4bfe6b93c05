/**
 * Our outstanding block requests on one connection, with the BEP 3 / BEP 6 rules for when a
 * request ends: a piece or (BEP 6) a reject answers it; without BEP 6 a choke drops them all
 * and a cancel forgets one at once, while with BEP 6 both still get an answer.
 */
export type SettleResult = 'ok' | 'unrequested' | 'wrong-length';

export class RequestBook {
  /** `${index}:${begin}` -> block length. A string key: index and begin are both uint32. */
  private readonly pending = new Map<string, number>();

  get size(): number {
    return this.pending.size;
  }

  add(index: number, begin: number, length: number): void {
    this.pending.set(`${index}:${begin}`, length);
  }

  has(index: number, begin: number): boolean {
    return this.pending.has(`${index}:${begin}`);
  }

  /** A cancel we sent: without BEP 6 the request is over; with it, an answer still comes. */
  cancelled(index: number, begin: number, fast: boolean): void {
    if (!fast) this.pending.delete(`${index}:${begin}`);
  }

  /** The remote choked us: without BEP 6 every pending request is dropped (BEP 3). */
  choked(fast: boolean): void {
    if (!fast) this.pending.clear();
  }

  /** A piece or reject arrived for (index, begin) with `length` bytes: match and remove it. */
  settle(index: number, begin: number, length: number): SettleResult {
    const key = `${index}:${begin}`;
    const expected = this.pending.get(key);
    if (expected === undefined) return 'unrequested';
    if (expected !== length) return 'wrong-length';
    this.pending.delete(key);
    return 'ok';
  }

  clear(): void {
    this.pending.clear();
  }
}
