/**
 * The reading side of a uTP connection as its WireStream shows it: the data, drain and close
 * listeners, and the in-order data that arrives before anyone listens (held, counted against
 * the receive window, handed over on a later turn as a socket would).
 */
export class StreamListeners {
  private readonly dataCbs: ((chunk: Uint8Array) => void)[] = [];
  private readonly drainCbs: (() => void)[] = [];
  private readonly closeCbs: (() => void)[] = [];
  private early: Uint8Array[] | null = null;
  private earlyLength = 0;
  private closed = false;

  /** Someone reads the data. */
  get listening(): boolean {
    return this.dataCbs.length > 0;
  }

  /** Data held for a listener that was not there yet. */
  get hasEarly(): boolean {
    return this.early !== null;
  }

  /** Bytes of that data (they still take receive-window room). */
  get earlyBytes(): number {
    return this.earlyLength;
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.dataCbs.push(cb);
  }

  onDrain(cb: () => void): void {
    this.drainCbs.push(cb);
  }

  onClose(cb: () => void): void {
    this.closeCbs.push(cb);
  }

  /** In-order data: to the listeners, or held until there is one. Nothing after close. */
  deliver(chunk: Uint8Array): void {
    if (this.closed) return;
    if (this.dataCbs.length === 0) {
      (this.early ??= []).push(chunk);
      this.earlyLength += chunk.length;
      return;
    }
    for (const cb of this.dataCbs) cb(chunk);
  }

  /** Hand the held data to the listeners (stopping if one of them closes the stream). */
  deliverEarly(): void {
    if (this.early === null || this.dataCbs.length === 0) return;
    const chunks = this.early;
    this.early = null;
    this.earlyLength = 0;
    for (const c of chunks) {
      if (this.closed) break;
      for (const cb of this.dataCbs) cb(c);
    }
  }

  emitDrain(): void {
    for (const cb of this.drainCbs.slice()) cb();
  }

  /** Once; held data is dropped. */
  emitClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.early = null;
    this.earlyLength = 0;
    for (const cb of this.closeCbs.slice()) cb();
  }
}
