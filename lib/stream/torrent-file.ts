/**
 * One file of a torrent, readable while it downloads: `createReadStream` (a Node Readable) and
 * `stream` (a web ReadableStream) can be called before any of its bytes are here. Both pull
 * from a RangeReader: only verified pieces are read, the bytes the stream needs next get
 * deadline priority, and a consumer that stops reading stops the reading (backpressure).
 *
 * Reading a file the priorities skip makes it 'normal': a reader wants those bytes.
 *
 * The one file type of the library: `swarm.files[i]` and a Client's `torrent.files[i]` are
 * both TorrentFiles, over the engine that runs the torrent (the client's source follows its
 * torrent across pause and resume). It also tells how much of the file is verified.
 */
import { Readable } from 'node:stream';
import { InvalidArgumentError } from '../errors.js';
import type { ReadonlyBitfield } from '../engine/bitfield.js';
import type { FilePriority } from '../engine/storage/file-selection.js';
import type { TorrentInfo } from '../torrent/metainfo.js';
import { DEFAULT_CHUNK_BYTES, RangeReader, type StreamSource } from './range-reader.js';

/** What a file needs from its engine: reads, per-file priorities, the verified pieces. */
export interface FileSource extends StreamSource {
  filePriorities(): FilePriority[];
  setFilePriority(index: number, priority: FilePriority): void;
  /** The pieces verified and stored, if known (a live view: read, don't keep). */
  storedPieces(): ReadonlyBitfield | undefined;
}

/** Like fs.createReadStream: `start` and `end` are inclusive byte offsets in the file. */
export interface ReadRange {
  start?: number;
  end?: number;
  /** Largest chunk handed out, bytes (default 64 KiB). */
  chunkBytes?: number;
}

export class TorrentFile {
  /** Position in the info dictionary's file list (BEP 53 index, zero-based). */
  readonly index: number;
  /** Path components, the torrent's name first (as on disk). */
  readonly pathParts: readonly string[];
  readonly length: number;
  /** Offset of the file's first byte in the torrent's data. */
  readonly offset: number;
  /** A BEP 47 padding file (zeros, never stored, not listed to users). */
  readonly padding: boolean;

  constructor(
    private readonly source: FileSource,
    private readonly info: TorrentInfo,
    index: number
  ) {
    const entry = info.files[index];
    if (!entry) throw new InvalidArgumentError('ERR_INVALID_SELECTION', `no file ${index} in the torrent`);
    this.index = index;
    this.pathParts = entry.path;
    this.length = entry.length;
    this.offset = entry.offset;
    this.padding = entry.padding ?? false;
  }

  /** Path with '/' separators, the torrent's name first. */
  get path(): string {
    return this.pathParts.join('/');
  }

  get name(): string {
    return this.pathParts[this.pathParts.length - 1] ?? '';
  }

  /** Bytes of this file in verified, stored pieces. */
  get verifiedBytes(): number {
    const have = this.source.storedPieces();
    return have ? this.verifiedBytesIn(have) : 0;
  }

  /** Bytes of this file in the pieces set in `have`. */
  verifiedBytesIn(have: ReadonlyBitfield): number {
    return verifiedBytesOf(this, this.info.pieceLength, have);
  }

  /** verifiedBytes / length, from 0 to 1 (1 for an empty file). */
  get progress(): number {
    return this.length === 0 ? 1 : this.verifiedBytes / this.length;
  }

  toJSON(): { index: number; path: string; length: number; progress: number } {
    return { index: this.index, path: this.path, length: this.length, progress: this.progress };
  }

  get priority(): FilePriority {
    return this.source.filePriorities()[this.index] ?? 'normal';
  }

  setPriority(priority: FilePriority): void {
    this.source.setFilePriority(this.index, priority);
  }

  /** A reader over [start, end] (inclusive, like fs.createReadStream). */
  reader(range: ReadRange = {}): RangeReader {
    const start = range.start ?? 0;
    const end = range.end ?? this.length - 1;
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(end) ||
      start < 0 ||
      end >= this.length ||
      start > end + 1
    ) {
      throw new InvalidArgumentError(
        'ERR_INVALID_RANGE',
        `range ${start}-${end} is outside file ${this.index} of ${this.length} bytes`
      );
    }
    if (this.priority === 'skip') this.setPriority('normal');
    return new RangeReader(
      this.source,
      this.info,
      this.offset + start,
      this.offset + end + 1,
      range.chunkBytes ?? DEFAULT_CHUNK_BYTES
    );
  }

  /** A Node Readable of [start, end] (inclusive); destroy it to stop early. */
  createReadStream(range: ReadRange = {}): Readable {
    const reader = this.reader(range);
    const abort = new AbortController();
    return new Readable({
      highWaterMark: range.chunkBytes ?? DEFAULT_CHUNK_BYTES,
      read(): void {
        reader.next(abort.signal).then(
          (chunk) => this.push(chunk),
          (err: Error) => this.destroy(err)
        );
      },
      destroy(err, callback): void {
        abort.abort();
        reader.close();
        callback(err);
      }
    });
  }

  /** A web ReadableStream of [start, end] (inclusive); cancel it to stop early. */
  stream(range: ReadRange = {}): ReadableStream<Uint8Array> {
    const reader = this.reader(range);
    const abort = new AbortController();
    return new ReadableStream<Uint8Array>(
      {
        async pull(controller): Promise<void> {
          const chunk = await reader.next(abort.signal);
          if (chunk) controller.enqueue(chunk);
          else controller.close();
        },
        cancel(): void {
          abort.abort();
          reader.close();
        }
      },
      { highWaterMark: 1 }
    );
  }
}

/** The files of a torrent whose metadata `source` knows, in torrent order. */
export function torrentFiles(source: FileSource, info: TorrentInfo): TorrentFile[] {
  return info.files.map((_, i) => new TorrentFile(source, info, i));
}

/** Bytes of [offset, offset + length) that lie in pieces set in `have`. */
export function verifiedBytesOf(
  file: { offset: number; length: number },
  pieceLength: number,
  have: ReadonlyBitfield
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

/** `engine` as a FileSource, if it can stream (the built-in engine can; an app's may not). */
export function fileSource(engine: object): FileSource | undefined {
  const e = engine as Partial<FileSource>;
  const methods = [
    e.waitForPiece,
    e.readPiece,
    e.addReadHead,
    e.filePriorities,
    e.setFilePriority,
    e.storedPieces
  ];
  return methods.every((m) => typeof m === 'function') ? (engine as FileSource) : undefined;
}
