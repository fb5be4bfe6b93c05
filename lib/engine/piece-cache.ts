/**
 * Read cache for uploading: whole pieces, LRU, bounded in bytes.
 *
 * Peers request a piece as consecutive 16 KiB blocks, so reading the whole piece once and
 * serving blocks as views of it turns ~16 storage reads into one and lets the socket write the
 * block without a copy. Concurrent requests for a piece share one read. Pieces we just
 * downloaded and verified are inserted directly: in a swarm they are the ones others ask for.
 */
import type { Storage } from './storage.js';

export class PieceCache {
  /** Map order is LRU order (oldest first). */
  private readonly pieces = new Map<number, Uint8Array>();
  private readonly loading = new Map<number, Promise<Uint8Array>>();
  private bytes = 0;

  constructor(
    private readonly storage: Storage,
    private readonly maxBytes: number
  ) {}

  get size(): number {
    return this.bytes;
  }

  /** The piece if cached (and marks it recently used), else undefined. */
  get(piece: number): Uint8Array | undefined {
    const data = this.pieces.get(piece);
    if (data) {
      this.pieces.delete(piece);
      this.pieces.set(piece, data);
    }
    return data;
  }

  /** Read the piece from storage (one read shared by concurrent callers) and cache it. */
  load(piece: number): Promise<Uint8Array> {
    const cached = this.get(piece);
    if (cached) return Promise.resolve(cached);
    let p = this.loading.get(piece);
    if (!p) {
      p = this.storage.readPiece(piece).then(
        (data) => {
          this.loading.delete(piece);
          this.insert(piece, data);
          return data;
        },
        (err: unknown) => {
          this.loading.delete(piece);
          throw err;
        }
      );
      this.loading.set(piece, p);
    }
    return p;
  }

  /** Cache a piece we hold already (the caller must not modify `data` afterwards). */
  insert(piece: number, data: Uint8Array): void {
    if (data.length > this.maxBytes) return;
    const old = this.pieces.get(piece);
    if (old) {
      this.bytes -= old.length;
      this.pieces.delete(piece);
    }
    this.pieces.set(piece, data);
    this.bytes += data.length;
    for (const [k, v] of this.pieces) {
      if (this.bytes <= this.maxBytes) break;
      this.pieces.delete(k);
      this.bytes -= v.length;
    }
  }

  /** Forget a piece (e.g. it failed a re-check). */
  delete(piece: number): void {
    const old = this.pieces.get(piece);
    if (old) {
      this.bytes -= old.length;
      this.pieces.delete(piece);
    }
  }

  clear(): void {
    this.pieces.clear();
    this.bytes = 0;
  }
}
