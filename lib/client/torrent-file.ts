/**
 * One file of a client's torrent: its place in the torrent (index, path, length, offset) and
 * how much of it is verified. Files exist once the metadata is known.
 *
 * This is where per-file operations hang: read streams and download priorities go here as
 * small methods that call the torrent's engine (the picker's priorities and deadlines, the
 * storage's verified reads), so an app reaches everything about a file through
 * `torrent.files[i]`.
 */
import type { Bitfield } from '../engine/bitfield.js';
import type { TorrentFileEntry, TorrentInfo } from '../torrent/metainfo.js';

export class TorrentFile {
  /** Zero-based index in the torrent's file list (what BEP 53 `so=` and selections use). */
  readonly index: number;
  /** Path relative to the download directory, with '/' separators (root folder included). */
  readonly path: string;
  readonly length: number;
  /** Offset of the file's first byte in the torrent's data. */
  readonly offset: number;
  /** A BEP 47 padding file (never written). */
  readonly padding: boolean;
  private readonly pieceLength: number;
  private readonly stored: () => Bitfield | undefined;

  constructor(info: TorrentInfo, index: number, stored: () => Bitfield | undefined) {
    const entry: TorrentFileEntry = info.files[index]!;
    this.index = index;
    this.path = entry.path.join('/');
    this.length = entry.length;
    this.offset = entry.offset;
    this.padding = entry.padding ?? false;
    this.pieceLength = info.pieceLength;
    this.stored = stored;
  }

  /** Bytes of this file in verified, stored pieces. */
  get verifiedBytes(): number {
    const have = this.stored();
    return have ? this.verifiedBytesIn(have) : 0;
  }

  /** Bytes of this file in the pieces set in `have`. */
  verifiedBytesIn(have: Bitfield): number {
    return verifiedBytesOf(this, this.pieceLength, have);
  }

  /** verifiedBytes / length, from 0 to 1 (1 for an empty file). */
  get progress(): number {
    return this.length === 0 ? 1 : this.verifiedBytes / this.length;
  }

  toJSON(): { index: number; path: string; length: number; progress: number } {
    return { index: this.index, path: this.path, length: this.length, progress: this.progress };
  }
}

/** Bytes of [offset, offset + length) that lie in pieces set in `have`. */
export function verifiedBytesOf(
  file: { offset: number; length: number },
  pieceLength: number,
  have: Bitfield
): number {
  if (file.length === 0) return 0;
  const end = file.offset + file.length;
  const first = Math.floor(file.offset / pieceLength);
  const last = Math.floor((end - 1) / pieceLength);
  let bytes = 0;
  for (let i = first; i <= last; i++) {
    if (!have.get(i)) continue;
    const start = Math.max(file.offset, i * pieceLength);
    const stop = Math.min(end, (i + 1) * pieceLength);
    bytes += stop - start;
  }
  return bytes;
}
