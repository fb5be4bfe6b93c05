/**
 * Create v1 torrents from a file, a folder or a buffer.
 *
 * Hashing streams each file into one reusable piece-sized buffer, so memory stays at one piece
 * whatever the size of the content. The result goes through `parseInfo`, so a created torrent
 * obeys exactly the rules we apply to torrents from strangers (a file name we would refuse to
 * download is refused here too, with the same message).
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, join } from 'node:path';
import bencode from 'bencode';
import { AbortError, InvalidArgumentError, throwIfAborted } from '../errors.js';
import { MAX_PIECE_LENGTH, MIN_PIECE_LENGTH, parseInfo, type TorrentInfo } from './metainfo.js';
import { pieceCount } from './piece-layout.js';

/** Auto piece length aims for at most this many pieces (libtorrent/mktorrent use ~1-2k). */
export const TARGET_MAX_PIECES = 2000;
/** Largest piece length chosen automatically (explicit values may go up to 64 MiB). */
export const MAX_AUTO_PIECE_LENGTH = 16 * 1024 * 1024;

export interface CreateTorrentOptions {
  /** Power of two in [16 KiB, 64 MiB]; chosen from the total size when omitted. */
  pieceLength?: number;
  /** Torrent name; defaults to the base name of the path. */
  name?: string;
  /** BEP 27 private flag. */
  private?: boolean;
  signal?: AbortSignal;
  onProgress?(hashedBytes: number, totalBytes: number): void;
}

interface SourceFile {
  absolute: string;
  /** Path inside the torrent folder (multi-file only). */
  path: string[];
  length: number;
}

/**
 * Smallest power of two >= 16 KiB that keeps the piece count at or under TARGET_MAX_PIECES,
 * capped at 16 MiB: so a torrent has ~1000-2000 pieces between ~16 MiB and ~32 GiB of content.
 */
export function autoPieceLength(totalLength: number): number {
  let pieceLength = MIN_PIECE_LENGTH;
  while (pieceLength < MAX_AUTO_PIECE_LENGTH && Math.ceil(totalLength / pieceLength) > TARGET_MAX_PIECES)
    pieceLength *= 2;
  return pieceLength;
}

function checkPieceLength(pieceLength: number): void {
  if (
    !Number.isInteger(pieceLength) ||
    pieceLength < MIN_PIECE_LENGTH ||
    pieceLength > MAX_PIECE_LENGTH ||
    (pieceLength & (pieceLength - 1)) !== 0
  ) {
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `pieceLength must be a power of two in [${MIN_PIECE_LENGTH}, ${MAX_PIECE_LENGTH}], got ${pieceLength}`
    );
  }
}

/** Byte-wise (UTF-8 order) comparison of path component lists, like other torrent creators. */
function comparePaths(a: string[], b: string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = Buffer.compare(Buffer.from(a[i] ?? ''), Buffer.from(b[i] ?? ''));
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** Regular files under `dir`, recursively. Symlinks are skipped: they could point anywhere. */
async function listFolder(
  dir: string,
  prefix: string[],
  out: SourceFile[],
  signal?: AbortSignal
): Promise<void> {
  throwIfAborted(signal);
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const absolute = join(dir, entry.name);
    if (entry.isDirectory()) {
      await listFolder(absolute, [...prefix, entry.name], out, signal);
    } else if (entry.isFile()) {
      const st = await fsp.stat(absolute);
      out.push({ absolute, path: [...prefix, entry.name], length: st.size });
    }
    // symlinks, sockets, FIFOs, devices: skipped
  }
}

function encodeInfo(fields: {
  name: string;
  pieceLength: number;
  pieces: Uint8Array;
  length?: number;
  files?: { length: number; path: string[] }[];
  private?: boolean;
}): Uint8Array {
  const dict: Record<string, unknown> = {
    name: fields.name,
    'piece length': fields.pieceLength,
    pieces: fields.pieces
  };
  if (fields.files) dict['files'] = fields.files.map((f) => ({ length: f.length, path: f.path }));
  else dict['length'] = fields.length;
  if (fields.private) dict['private'] = 1;
  return bencode.encode(dict);
}

/** Create a torrent from a file or a folder (recursive, sorted, symlinks skipped). */
export async function createTorrent(path: string, opts: CreateTorrentOptions = {}): Promise<TorrentInfo> {
  const { signal } = opts;
  throwIfAborted(signal);
  const root = await fsp.stat(path); // follows a symlink given explicitly as the root
  const name = opts.name ?? basename(path);
  let files: SourceFile[];
  const multiFile = root.isDirectory();
  if (multiFile) {
    files = [];
    await listFolder(path, [], files, signal);
    files.sort((a, b) => comparePaths(a.path, b.path));
    if (files.length === 0)
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `folder ${path} holds no regular files`);
  } else if (root.isFile()) {
    files = [{ absolute: path, path: [name], length: root.size }];
  } else {
    throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `${path} is neither a file nor a folder`);
  }

  const total = files.reduce((sum, f) => sum + f.length, 0);
  if (total === 0) throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `${path} holds no data (0 bytes)`);
  const pieceLength = opts.pieceLength ?? autoPieceLength(total);
  checkPieceLength(pieceLength);

  const pieces = await hashFiles(files, pieceLength, total, opts);
  const infoBytes = encodeInfo({
    name,
    pieceLength,
    pieces,
    private: opts.private ?? false,
    ...(multiFile ? { files: files.map((f) => ({ length: f.length, path: f.path })) } : { length: total })
  });
  return parseInfo(infoBytes);
}

/**
 * SHA-1 of each piece of the concatenated files. One piece buffer is reused throughout; a
 * file that shrinks or grows while we read it is an error (the hashes would be wrong).
 */
async function hashFiles(
  files: SourceFile[],
  pieceLength: number,
  total: number,
  opts: CreateTorrentOptions
): Promise<Uint8Array> {
  const { signal, onProgress } = opts;
  const count = pieceCount({ length: total, pieceLength });
  const hashes = new Uint8Array(count * 20);
  const buffer = Buffer.allocUnsafe(Math.min(pieceLength, total));
  let filled = 0;
  let piece = 0;
  let hashed = 0;

  const finishPiece = (): void => {
    hashes.set(createHash('sha1').update(buffer.subarray(0, filled)).digest(), piece * 20);
    hashed += filled;
    piece++;
    filled = 0;
    onProgress?.(hashed, total);
  };

  for (const file of files) {
    if (file.length === 0) continue;
    const fh = await fsp.open(file.absolute, 'r');
    try {
      let position = 0;
      while (position < file.length) {
        if (signal?.aborted) throw new AbortError('torrent creation aborted');
        const want = Math.min(buffer.length - filled, file.length - position);
        const { bytesRead } = await fh.read(buffer, filled, want, position);
        if (bytesRead === 0)
          throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `${file.absolute} shrank while hashing`);
        position += bytesRead;
        filled += bytesRead;
        if (filled === buffer.length) finishPiece();
      }
      const st = await fh.stat();
      if (st.size !== file.length)
        throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `${file.absolute} changed size while hashing`);
    } finally {
      await fh.close();
    }
  }
  if (filled > 0) finishPiece();
  return hashes;
}

/** Create a single-file torrent from bytes in memory (tests, demos). */
export function createTorrentFromBuffer(name: string, data: Uint8Array, pieceLength?: number): TorrentInfo {
  if (data.length === 0) throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'data is empty');
  const pl = pieceLength ?? autoPieceLength(data.length);
  checkPieceLength(pl);
  const count = pieceCount({ length: data.length, pieceLength: pl });
  const pieces = new Uint8Array(count * 20);
  for (let i = 0; i < count; i++) {
    pieces.set(
      createHash('sha1')
        .update(data.subarray(i * pl, (i + 1) * pl))
        .digest(),
      i * 20
    );
  }
  return parseInfo(encodeInfo({ name, pieceLength: pl, pieces, length: data.length }));
}
