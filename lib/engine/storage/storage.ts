/**
 * Where piece data lives. The engine only ever speaks in (piece, offset, length); a Storage
 * maps that onto memory or files. Kept tiny so other backends (a database, a cache, a
 * read-only seed of existing files) are easy to write.
 */
import { createHash } from 'node:crypto';
import { AbortError, InvalidArgumentError } from '../../errors.js';
import { pieceHash, type TorrentInfo } from '../../torrent/metainfo.js';
import { pieceCount, pieceSize, type PieceLayout } from '../../torrent/piece-layout.js';
import { bytesEqual } from '../../util/bytes.js';
import { Bitfield } from '../bitfield.js';

export interface Storage {
  /** Bytes [offset, offset + length) of `piece`. Rejects if that data is not stored. */
  readBlock(piece: number, offset: number, length: number): Promise<Uint8Array>;
  /**
   * Store `data` at [offset, offset + data.length) of `piece`. The caller may reuse `data`
   * once the promise settles (the engine recycles its piece buffers): copy it if kept.
   */
  writeBlock(piece: number, offset: number, data: Uint8Array): Promise<void>;
  /**
   * The whole piece (to hash it, or to serve its blocks). The result may be a view of the
   * storage's own memory: callers must not modify it.
   */
  readPiece(piece: number): Promise<Uint8Array>;
  /**
   * Optional: fill `target` with bytes [offset, offset + target.length) of `piece` (a caller
   * reusing its buffers, like the upload cache). Rejects as readBlock does.
   */
  readInto?(piece: number, offset: number, target: Uint8Array): Promise<void>;
  /** Make written data durable. */
  flush(): Promise<void>;
  /** Release resources; later calls reject. */
  close(): Promise<void>;
}

/**
 * Validate a block range inside a piece and return its absolute offset in the torrent.
 * Every storage calls this first, so a bad request from the wire cannot read or write
 * outside the torrent.
 */
export function blockPosition(layout: PieceLayout, piece: number, offset: number, length: number): number {
  const count = pieceCount(layout);
  if (!Number.isInteger(piece) || piece < 0 || piece >= count) {
    throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `piece ${piece} out of range [0, ${count})`);
  }
  const size = pieceSize(layout, piece);
  if (
    !Number.isInteger(offset) ||
    !Number.isInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > size
  ) {
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `block [${offset}, +${length}) outside piece ${piece} of ${size} bytes`
    );
  }
  return piece * layout.pieceLength + offset;
}

export interface VerifyOptions {
  /** Called after each piece: (checked, total). */
  onProgress?(checkedPieces: number, totalPieces: number): void;
  signal?: AbortSignal;
  /** Return false to skip a piece without reading it (known missing). */
  shouldCheck?(piece: number): boolean;
}

/**
 * Hash every piece in `storage` and return the bitfield of pieces whose SHA-1 matches (resume,
 * or seeding existing data). Unreadable pieces count as missing.
 */
export async function verifyPieces(
  storage: Storage,
  info: Pick<TorrentInfo, 'length' | 'pieceLength' | 'pieceCount' | 'pieceHashes'>,
  opts: VerifyOptions = {}
): Promise<Bitfield> {
  const total = info.pieceCount;
  const have = new Bitfield(total);
  for (let piece = 0; piece < total; piece++) {
    if (opts.signal?.aborted) throw new AbortError('verification aborted');
    if (opts.shouldCheck?.(piece) ?? true) {
      let data: Uint8Array | undefined;
      try {
        data = await storage.readPiece(piece);
      } catch {
        data = undefined; // not on disk, short file, unreadable: missing
      }
      const expected = pieceHash(info, piece);
      if (data && expected && bytesEqual(createHash('sha1').update(data).digest(), expected)) have.set(piece);
    }
    opts.onProgress?.(piece + 1, total);
  }
  return have;
}
