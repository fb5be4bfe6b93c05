/**
 * Piece geometry (BEP 3): a torrent of `length` bytes is cut into pieces of `pieceLength`
 * bytes; only the last piece may be shorter. The one place this arithmetic is written.
 */
import { InvalidArgumentError } from '../errors.js';

/** What piece geometry depends on (a TorrentInfo is one). */
export interface PieceLayout {
  /** Total bytes. */
  length: number;
  /** Bytes per piece (the last piece may be shorter). */
  pieceLength: number;
}

export function pieceCount(layout: PieceLayout): number {
  return Math.ceil(layout.length / layout.pieceLength);
}

/** Bytes of piece `index`. Throws InvalidArgumentError for an index outside the torrent. */
export function pieceSize(layout: PieceLayout, index: number): number {
  const last = pieceCount(layout) - 1;
  if (!Number.isInteger(index) || index < 0 || index > last) {
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `piece index ${index} out of range [0, ${last + 1})`
    );
  }
  return index === last ? layout.length - last * layout.pieceLength : layout.pieceLength;
}

/** Bytes of `count` pieces; `withLast`: the (possibly shorter) last piece is one of them. */
export function piecesBytes(layout: PieceLayout, count: number, withLast: boolean): number {
  const bytes = count * layout.pieceLength;
  return withLast ? bytes - layout.pieceLength + pieceSize(layout, pieceCount(layout) - 1) : bytes;
}
