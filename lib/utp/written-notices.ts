/**
 * The `onWritten` callbacks of a connection's writes (WireStream.writev): each waits until the
 * peer has acknowledged every byte up to the end of its write, because until then the send
 * queue or the send window holds views of the written chunks (a packet may be resent until
 * acknowledged). The engine's upload cache then reads the next piece into the same buffer
 * instead of a fresh one. Called in write order; all at once when the connection ends (the
 * bytes are dropped, nothing holds them any more). A resend the socket still holds queued when
 * its bytes are acknowledged may then leave with changed bytes: the peer drops it unread, its
 * sequence number being acknowledged already.
 */
export class WrittenNotices {
  /** Stream offset (bytes written before and by the write) each callback waits for. */
  private ends: number[] = [];
  private callbacks: (() => void)[] = [];
  private head = 0;

  get pending(): boolean {
    return this.head < this.ends.length;
  }

  /** Call `cb` once every byte before stream offset `end` is acknowledged. */
  add(end: number, cb: () => void): void {
    this.ends.push(end);
    this.callbacks.push(cb);
  }

  /** Every byte before stream offset `acked` is acknowledged: call the writes it covers. */
  release(acked: number): void {
    while (this.head < this.ends.length && this.ends[this.head]! <= acked) this.next()();
    this.compact();
  }

  /** The connection ended: call every waiting write. */
  releaseAll(): void {
    while (this.head < this.ends.length) this.next()();
    this.compact();
  }

  private next(): () => void {
    const cb = this.callbacks[this.head]!;
    this.callbacks[this.head] = NOTHING;
    this.head++;
    return cb;
  }

  /** Drop called slots now and then so the arrays stay as long as what waits. */
  private compact(): void {
    if (this.head === this.ends.length) {
      // Emptied in place: a transfer empties it on most acks, and new arrays each time are garbage.
      this.ends.length = 0;
      this.callbacks.length = 0;
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.ends.length) {
      this.ends = this.ends.slice(this.head);
      this.callbacks = this.callbacks.slice(this.head);
      this.head = 0;
    }
  }
}

const NOTHING = (): void => {};
