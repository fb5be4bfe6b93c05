/**
 * In-order payload of one turn, joined into one chunk for the reader. A uTP packet carries
 * ~1,400 bytes, so a 16 KiB block would otherwise reach the peer wire as ~12 chunks, each a
 * call through its framing and partial-message bookkeeping; a TCP read brings up to 64 KiB.
 *
 * Ownership: the reader may keep (and decrypt in place) whatever it is given. Payloads are
 * copied into a buffer that is only ever written past what was handed out, and a buffer
 * without room is dropped for a fresh one, never rewritten. A turn with a single payload hands
 * it over as it is (no copy, no buffer). Pure: no clock, no sockets.
 */

/** Size of a batch buffer, bytes: about one read burst (libuv reads up to 32 datagrams per wake-up). */
export const BATCH_BYTES = 64 * 1024;
/** A buffer with less room than this after a hand-over is let go (the next turn starts a fresh one). */
const MIN_ROOM = 16 * 1024;

export class DeliveryBatch {
  private buf: Buffer | null = null;
  /** Start of the bytes not handed out yet, and the end of what was written. */
  private start = 0;
  private fill = 0;
  /** The turn's first payload, not copied until a second one joins it. */
  private first: Uint8Array | null = null;
  private pending = 0;

  constructor(private readonly size = BATCH_BYTES) {}

  /** Bytes waiting for `take`. */
  get pendingBytes(): number {
    return this.pending;
  }

  /** Add a payload; when the batch has no room for it, what was pending goes to `emit` first. */
  push(chunk: Uint8Array, emit: (chunk: Uint8Array) => void): void {
    if (chunk.length === 0) return;
    if (this.pending > 0 && !this.fits(chunk.length)) emit(this.take()!);
    if (this.pending === 0) {
      this.first = chunk;
      this.pending = chunk.length;
      return;
    }
    if (this.first !== null) {
      // A second payload this turn: both are copied, into a fresh buffer if this one is short.
      if (this.buf === null || this.buf.length - this.fill < this.pending + chunk.length) {
        this.buf = Buffer.allocUnsafeSlow(this.size);
        this.start = this.fill = 0;
      }
      this.copyIn(this.first);
      this.first = null;
    }
    this.copyIn(chunk);
    this.pending += chunk.length;
  }

  /** What is pending, as one chunk (null when nothing is); it belongs to the caller. */
  take(): Uint8Array | null {
    if (this.pending === 0) return null;
    this.pending = 0;
    if (this.first !== null) {
      const out = this.first;
      this.first = null;
      return out;
    }
    const buf = this.buf!;
    const out = buf.subarray(this.start, this.fill);
    this.start = this.fill;
    if (buf.length - this.fill < MIN_ROOM) this.buf = null;
    return out;
  }

  /** Drop what is pending and the buffer. */
  clear(): void {
    this.buf = null;
    this.first = null;
    this.start = this.fill = this.pending = 0;
  }

  private fits(n: number): boolean {
    if (this.pending + n > this.size) return false;
    // Nothing copied yet: a fresh buffer takes both payloads if this one cannot.
    return this.first !== null || this.buf!.length - this.fill >= n;
  }

  private copyIn(chunk: Uint8Array): void {
    this.buf!.set(chunk, this.fill);
    this.fill += chunk.length;
  }
}
