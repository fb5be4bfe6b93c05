/**
 * The downloader's piece buffers: one buffer per piece being assembled, plus a pool of spare
 * full-size buffers to reuse once a piece's write resolved (Storage implementations copy or
 * write the bytes and keep no reference). Fresh large buffers cost page faults and full GCs,
 * which measured as the largest cost of a loopback transfer. The last piece's (shorter)
 * buffers are not pooled.
 */

export interface PieceBuffer<P> {
  data: Buffer;
  /** Who sent each block (for SmartBan when the piece fails its hash). */
  senders: (P | undefined)[];
}

export interface PieceBuffersOptions {
  pieceLength: number;
  blockSize: number;
  /** Byte size of piece `index` (the last one is shorter). */
  pieceSize(index: number): number;
  /** Spare buffers kept at most. */
  maxPooled: number;
}

export class PieceBuffers<P> {
  private readonly buffers = new Map<number, PieceBuffer<P>>();
  /** Spare buffers of `pieceLength` bytes. */
  private readonly pool: Buffer[] = [];
  private assemblingBytes = 0;
  private closed = false;

  constructor(private readonly o: PieceBuffersOptions) {}

  /** Bytes held by pieces being assembled (not the pool). */
  get bytes(): number {
    return this.assemblingBytes;
  }

  has(index: number): boolean {
    return this.buffers.has(index);
  }

  /** The piece's buffer, taken from the pool or allocated on its first use. */
  forPiece(index: number): PieceBuffer<P> {
    let buf = this.buffers.get(index);
    if (!buf) {
      const size = this.o.pieceSize(index);
      // Uninitialised / reused memory is fine: the hash covers every byte, all of them received.
      const data = (size === this.o.pieceLength ? this.pool.pop() : undefined) ?? Buffer.allocUnsafe(size);
      buf = { data, senders: new Array(Math.ceil(size / this.o.blockSize)).fill(undefined) };
      this.buffers.set(index, buf);
      this.assemblingBytes += size;
    }
    return buf;
  }

  /** The piece is complete: its buffer leaves the assembling set (the caller now owns it). */
  release(index: number): void {
    const buf = this.buffers.get(index);
    if (!buf) return;
    this.buffers.delete(index);
    this.assemblingBytes -= buf.data.length;
  }

  /** A released buffer is free again (written, or its piece failed): pool it if it fits. */
  recycle(data: Buffer): void {
    if (data.length === this.o.pieceLength && this.pool.length < this.o.maxPooled && !this.closed)
      this.pool.push(data);
  }

  /** Drop every buffer; nothing is pooled any more. */
  close(): void {
    this.closed = true;
    this.buffers.clear();
    this.pool.length = 0;
    this.assemblingBytes = 0;
  }
}
