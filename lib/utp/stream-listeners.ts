/**
 * The reading side of a uTP connection as its WireStream shows it: the data, drain and close
 * listeners, the in-order data of a turn (joined into one chunk, delivery-batch.ts, handed over
 * at the end of the turn), and the data that arrives before anyone listens (held, counted
 * against the receive window, handed over on a later turn as a socket would).
 */
import { DeliveryBatch } from './delivery-batch.js';

export class StreamListeners {
  private readonly dataCbs: ((chunk: Uint8Array) => void)[] = [];
  private readonly drainCbs: (() => void)[] = [];
  private readonly closeCbs: (() => void)[] = [];
  private early: Uint8Array[] | null = null;
  private earlyLength = 0;
  private closed = false;
  private readonly batch = new DeliveryBatch();
  private readonly emitData = (chunk: Uint8Array): void => {
    for (const cb of this.dataCbs) cb(chunk);
  };

  /** Someone reads the data. */
  get listening(): boolean {
    return this.dataCbs.length > 0;
  }

  /** Data held for a listener that was not there yet. */
  get hasEarly(): boolean {
    return this.early !== null;
  }

  /** Data of this turn waiting for `deliverPending`. */
  get hasPending(): boolean {
    return this.batch.pendingBytes > 0;
  }

  /** Bytes of the early data (they still take receive-window room). */
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

  /**
   * In-order data: joined to the turn's batch (the listeners get it from `deliverPending`, or
   * at once when the batch is full), or held until there is a listener and the held data went
   * first. Nothing after close.
   */
  deliver(chunk: Uint8Array): void {
    if (this.closed) return;
    if (this.dataCbs.length === 0 || this.early !== null) {
      (this.early ??= []).push(chunk);
      this.earlyLength += chunk.length;
      return;
    }
    this.batch.push(chunk, this.emitData);
  }

  /** End of the turn: hand the batch to the listeners. */
  deliverPending(): void {
    const chunk = this.batch.take();
    if (chunk !== null && !this.closed) this.emitData(chunk);
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

  /**
   * Once, after the data that arrived before the end (a socket, too, reads it out first); with
   * nobody listening, held data is dropped.
   */
  emitClose(): void {
    if (this.closed) return;
    this.deliverEarly();
    this.deliverPending();
    if (this.closed) return;
    this.closed = true;
    this.batch.clear();
    this.early = null;
    this.earlyLength = 0;
    for (const cb of this.closeCbs.slice()) cb();
  }
}
