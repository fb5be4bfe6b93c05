/**
 * Public types of PiecePicker: options and the results of its block calls.
 */
import type { Bitfield } from '../bitfield.js';

export interface PiecePickerOptions {
  /** Total torrent length in bytes. */
  length: number;
  pieceLength: number;
  blockSize?: number;
  /** Pieces picked at random before switching to rarest first (default 4). */
  randomFirstPieces?: number;
  /** In endgame, how many peers may be asked for the same block at once (default 3). */
  endgameMaxRequestsPerBlock?: number;
  /** Pieces we already have (resume). */
  have?: Bitfield;
  /** Start new pieces lowest index first instead of rarest first (default false). */
  sequential?: boolean;
}

export interface PickOptions {
  /** Start pieces nobody has started yet (default true). */
  newPieces?: boolean;
  /** Pieces not to request from this peer now (e.g. it redirected us elsewhere for them). */
  exclude?: (piece: number) => boolean;
}

export interface BlockReceived<P> {
  /** False for a duplicate, a piece we already have or verify, or an invalid offset. */
  accepted: boolean;
  /** Every block of the piece is in: hash it, then call onPieceVerified or onPieceFailed. */
  pieceComplete: boolean;
  /** Other peers that still have this block requested (endgame): send them CANCEL. */
  cancel: P[];
}
