/**
 * Bytes written by the application and not yet cut into packets: a list of the caller's chunks
 * and a read offset into the first one. Packets take views of the chunks, never copies: a
 * datagram goes out as [header, views...] (scatter-gather) and the views stay in the send
 * window until acknowledged, so written chunks must not change afterwards (as with a socket).
 */
export class SendQueue {
  private chunks: Uint8Array[] = [];
  private head = 0;
  /** Offset into chunks[head]. */
  private offset = 0;
  private total = 0;

  get bytes(): number {
    return this.total;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Append views of the next `n` bytes (n <= bytes) to `out`, consuming them. */
  take(out: Uint8Array[], n: number): void {
    this.total -= n;
    while (n > 0) {
      const c = this.chunks[this.head]!;
      const avail = c.length - this.offset;
      const k = avail <= n ? avail : n;
      out.push(k === c.length ? c : c.subarray(this.offset, this.offset + k));
      n -= k;
      this.offset += k;
      if (this.offset === c.length) {
        this.chunks[this.head] = EMPTY_CHUNK;
        this.head++;
        this.offset = 0;
      }
    }
    // Drop consumed slots now and then so the array does not grow without bound.
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.total = 0;
  }
}

const EMPTY_CHUNK = new Uint8Array(0);
