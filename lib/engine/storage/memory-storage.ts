/**
 * Storage in memory, one buffer per piece allocated on first write (sparse), for tests and
 * in-process demos. Unwritten ranges read as zeros (they will fail verification).
 */
import { DestroyedError } from '../../errors.js';
import { blockPosition, type Storage } from './storage.js';
import { pieceCount, pieceSize, type PieceLayout } from '../../torrent/piece-layout.js';

export class MemoryStorage implements Storage {
  private readonly pieces = new Map<number, Uint8Array>();
  private closed = false;

  constructor(private readonly layout: PieceLayout) {
    blockPosition(layout, 0, 0, 0); // validates the layout has at least one piece
  }

  /** A storage holding `data` already (a seed). */
  static fromData(layout: PieceLayout, data: Uint8Array): MemoryStorage {
    const storage = new MemoryStorage(layout);
    const count = pieceCount(layout);
    for (let i = 0; i < count; i++) {
      const start = i * layout.pieceLength;
      const piece = new Uint8Array(pieceSize(layout, i));
      piece.set(data.subarray(start, start + piece.length));
      storage.pieces.set(i, piece);
    }
    return storage;
  }

  async readBlock(piece: number, offset: number, length: number): Promise<Uint8Array> {
    this.check();
    blockPosition(this.layout, piece, offset, length);
    const stored = this.pieces.get(piece);
    return stored ? stored.slice(offset, offset + length) : new Uint8Array(length);
  }

  async writeBlock(piece: number, offset: number, data: Uint8Array): Promise<void> {
    this.check();
    blockPosition(this.layout, piece, offset, data.length);
    let stored = this.pieces.get(piece);
    if (!stored) {
      stored = new Uint8Array(pieceSize(this.layout, piece));
      this.pieces.set(piece, stored);
    }
    stored.set(data, offset);
  }

  /** A view of the stored piece, not a copy (uploads serve blocks straight from it). */
  async readPiece(piece: number): Promise<Uint8Array> {
    this.check();
    blockPosition(this.layout, piece, 0, 0);
    return this.pieces.get(piece) ?? new Uint8Array(pieceSize(this.layout, piece));
  }

  async flush(): Promise<void> {
    this.check();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pieces.clear();
  }

  private check(): void {
    if (this.closed) throw new DestroyedError('storage');
  }
}
