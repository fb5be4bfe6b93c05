/**
 * The reading side of a stream whose first bytes were read before its consumer attached (a
 * listener routing a connection, an MSE handshake): those bytes, and any that arrive before
 * delivery begins, are held and handed to the first `onData` on a later turn, like a socket's
 * first bytes; the consumer attaches its handlers right after constructing its wire and must
 * not miss the handshake.
 */
import type { Clock } from '../util/clock.js';

export class HeldData {
  private readonly dataCbs: ((chunk: Uint8Array) => void)[] = [];
  /** Bytes not delivered yet; undefined once delivery has begun. */
  private queued: Uint8Array[] | undefined;

  constructor(
    initial: readonly Uint8Array[],
    private readonly clock: Clock
  ) {
    this.queued = initial.filter((c) => c.length > 0);
  }

  /** A chunk that arrived after the hand-over. */
  push(chunk: Uint8Array): void {
    if (this.queued) this.queued.push(chunk);
    else for (const cb of this.dataCbs) cb(chunk);
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.dataCbs.push(cb);
    if (this.dataCbs.length > 1) return;
    this.clock.setImmediate(() => {
      const queued = this.queued ?? [];
      this.queued = undefined;
      for (const chunk of queued) for (const fn of this.dataCbs) fn(chunk);
    });
  }
}
