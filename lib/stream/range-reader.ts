/**
 * The pull core of every file stream: hands out bytes [start, end) of a torrent in chunks, each
 * only once its piece is verified and stored, while a read head tells the engine where the
 * reader is (the piece under it first, then the readahead: see engine/download/demand.ts).
 *
 * One chunk is in memory at a time (at most `chunkBytes`, and never past a piece boundary), so
 * a reader holds what its consumer has not taken yet and nothing more: backpressure is the
 * consumer simply not calling `next()`.
 */
import { InvalidArgumentError } from '../errors.js';
import type { ReadHead } from '../engine/download/demand.js';
import { pieceSize, type PieceLayout } from '../torrent/piece-layout.js';

/** What a reader needs from an engine (the built-in BitTorrentEngine has it). */
export interface StreamSource {
  /** Resolves once the piece is verified and stored; rejects on abort or when the engine stops. */
  waitForPiece(index: number, options?: { signal?: AbortSignal }): Promise<void>;
  /** Bytes of a verified piece; rejects for any other. */
  readPiece(index: number, offset: number, length: number): Promise<Uint8Array>;
  addReadHead(): ReadHead;
}

/** Default chunk: a few blocks, small enough that many readers cost little memory. */
export const DEFAULT_CHUNK_BYTES = 64 * 1024;

export class RangeReader {
  private pos: number;
  private head: ReadHead | undefined;
  private headPiece = -1;

  /** `start`/`end`: absolute torrent offsets, end exclusive. */
  constructor(
    private readonly source: StreamSource,
    private readonly layout: PieceLayout,
    start: number,
    private readonly end: number,
    private readonly chunkBytes = DEFAULT_CHUNK_BYTES
  ) {
    if (!(
      Number.isSafeInteger(start) &&
      Number.isSafeInteger(end) &&
      0 <= start &&
      start <= end &&
      end <= layout.length
    ))
      throw new InvalidArgumentError('ERR_INVALID_RANGE', `bad byte range [${start}, ${end})`);
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0)
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'chunkBytes must be a positive integer');
    this.pos = start;
  }

  /** The next byte to read (absolute). */
  get position(): number {
    return this.pos;
  }

  /** Continue from `position` (absolute, within the range): the engine's window moves there. */
  seek(position: number): void {
    if (!Number.isSafeInteger(position) || position < 0 || position > this.end)
      throw new InvalidArgumentError('ERR_INVALID_RANGE', `cannot seek to ${position}`);
    this.pos = position;
    this.moveHead();
  }

  /** The next chunk, or null at the end of the range. Never more than one call in flight. */
  async next(signal?: AbortSignal): Promise<Uint8Array | null> {
    if (this.pos >= this.end) {
      this.close();
      return null;
    }
    this.moveHead();
    const piece = Math.floor(this.pos / this.layout.pieceLength);
    const offset = this.pos - piece * this.layout.pieceLength;
    const length = Math.min(pieceSize(this.layout, piece) - offset, this.end - this.pos, this.chunkBytes);
    await this.source.waitForPiece(piece, signal ? { signal } : {});
    const data = await this.source.readPiece(piece, offset, length);
    this.pos += length;
    return data;
  }

  /** Give up the read head (its pieces lose their deadlines). Idempotent. */
  close(): void {
    this.head?.close();
    this.head = undefined;
    this.headPiece = -2;
  }

  /** Tell the engine when the reader enters another piece (not on every chunk). */
  private moveHead(): void {
    if (this.headPiece === -2) return;
    const piece = Math.floor(this.pos / this.layout.pieceLength);
    if (piece === this.headPiece) return;
    this.headPiece = piece;
    this.head ??= this.source.addReadHead();
    this.head.moveTo(this.pos, this.end);
  }
}
