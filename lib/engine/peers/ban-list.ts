/**
 * Banned keys (addresses, peer ids) with an expiry. Bounded: at the cap the ban given first is
 * forgotten, so a flood of distinct violators cannot grow memory without limit.
 */
export class BanList {
  /** key -> the time the ban ends (Infinity: for the engine's lifetime). Insertion order = age. */
  private readonly until = new Map<string, number>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.until.size;
  }

  /**
   * Ban `key` until `untilMs`; a longer ban already in place is kept. A key given again (with an
   * end no earlier than its own) becomes the newest, the last to be forgotten at the cap.
   */
  add(key: string, untilMs: number): void {
    const current = this.until.get(key);
    if (current !== undefined && current > untilMs) return;
    this.until.delete(key);
    if (this.until.size >= this.maxEntries) {
      const oldest = this.until.keys().next().value;
      if (oldest !== undefined) this.until.delete(oldest);
    }
    this.until.set(key, untilMs);
  }

  /** Lift the ban on `key`, if any. */
  delete(key: string): void {
    this.until.delete(key);
  }

  has(key: string, nowMs: number): boolean {
    const end = this.until.get(key);
    if (end === undefined) return false;
    if (end > nowMs) return true;
    this.until.delete(key);
    return false;
  }
}
