/**
 * BEP 53 "select only" applied to a torrent: which pieces a selection of files needs.
 *
 * BEP 53 indices are positions in the info dictionary's `files` list, zero-based, so BEP 47
 * padding files take a number like any other entry (a single-file torrent has one file,
 * index 0). A piece is wanted when it overlaps a byte of a selected file: the piece is the
 * unit of verification, so a piece that straddles a selected and an unselected file is fetched
 * whole, and the storage writes the unselected file's part of it too (as libtorrent does
 * without a part file). Files that own no bytes select no piece: a zero-length file (the
 * storage creates it empty) and a padding file (zeros, never stored).
 */
import { InvalidArgumentError } from '../../errors.js';
import type { TorrentInfo } from '../../torrent/metainfo.js';
import { Bitfield } from '../bitfield.js';
import { piecesBytes } from '../../torrent/piece-layout.js';

export type FileLayout = Pick<TorrentInfo, 'files' | 'length' | 'pieceLength' | 'pieceCount'>;

/**
 * Validate a selection given to the API (before the metadata is known): a non-empty list of
 * non-negative integers. Returns the indices sorted and unique. The upper bound is checked
 * by `selectedPieces` once the file count is known.
 */
export function normalizeSelection(indices: readonly number[]): number[] {
  if (!Array.isArray(indices) || indices.length === 0) {
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      'selectFiles must list at least one file index (omit it to download every file)'
    );
  }
  for (const i of indices) {
    if (!Number.isSafeInteger(i) || i < 0) {
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        `selectFiles: ${String(i)} is not a file index (a non-negative integer)`
      );
    }
  }
  return [...new Set(indices)].sort((a, b) => a - b);
}

/**
 * The pieces needed for the selected files. Throws InvalidArgumentError('ERR_INVALID_SELECTION')
 * naming the first index past the end of the file list: a selection that does not fit the
 * torrent is a wrong link or a typo, and downloading something else instead (everything, or
 * the indices that happen to exist) would be a surprise.
 */
export function selectedPieces(layout: FileLayout, selected: readonly number[]): Bitfield {
  const wanted = new Bitfield(layout.pieceCount);
  const count = layout.files.length;
  for (const index of selected) {
    const file = Number.isSafeInteger(index) && index >= 0 ? layout.files[index] : undefined;
    if (!file) {
      throw new InvalidArgumentError(
        'ERR_INVALID_SELECTION',
        `file index ${String(index)} is out of range: the torrent has ${count} file${count === 1 ? '' : 's'} (indices 0-${count - 1})`
      );
    }
    if (file.length === 0 || file.padding) continue;
    const first = Math.floor(file.offset / layout.pieceLength);
    const last = Math.floor((file.offset + file.length - 1) / layout.pieceLength);
    for (let p = first; p <= last; p++) wanted.set(p);
  }
  return wanted;
}

/** Bytes of the wanted pieces (the last piece may be shorter). */
export function wantedBytes(
  layout: Pick<FileLayout, 'length' | 'pieceLength' | 'pieceCount'>,
  wanted: Bitfield
): number {
  return piecesBytes(layout, wanted.count, wanted.get(layout.pieceCount - 1));
}

/** How much a file is wanted: 'skip' downloads none of it, 'high' starts its pieces first. */
export type FilePriority = 'skip' | 'normal' | 'high';

const PRIORITIES: readonly FilePriority[] = ['skip', 'normal', 'high'];

/** Throws InvalidArgumentError('ERR_INVALID_PRIORITY') unless `p` is a FilePriority. */
export function checkPriority(p: unknown): FilePriority {
  if (!PRIORITIES.includes(p as FilePriority)) {
    throw new InvalidArgumentError(
      'ERR_INVALID_PRIORITY',
      `file priority must be one of ${PRIORITIES.join(', ')}, got ${String(p)}`
    );
  }
  return p as FilePriority;
}

/**
 * The pieces per-file priorities need: `wanted` overlaps a file that is not skipped (null when
 * every piece is), `high` overlaps a high-priority file (null when none). A piece shared by a
 * skipped and a wanted file is wanted, as with a BEP 53 selection.
 */
export function priorityPieces(
  layout: FileLayout,
  priorities: readonly FilePriority[]
): { wanted: Bitfield | null; high: Bitfield | null } {
  const indices = (p: FilePriority): number[] =>
    priorities.flatMap((q, i) => (q === p || (p === 'normal' && q === 'high') ? [i] : []));
  const skipped = priorities.some((p) => p === 'skip');
  const wanted = skipped ? selectedPieces(layout, indices('normal')) : null;
  const highFiles = indices('high');
  const high = highFiles.length > 0 ? selectedPieces(layout, highFiles) : null;
  return { wanted, high };
}
