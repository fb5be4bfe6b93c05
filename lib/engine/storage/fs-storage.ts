/**
 * Storage on the file system: the torrent's files under an output directory.
 *
 * Pieces span file boundaries (BEP 3 concatenates the files), so every block is split into
 * per-file segments. Paths are checked once, at construction, to resolve inside the output
 * directory — `parseInfo` already rejects '..' and separators, this is the second lock for
 * layouts built by hand. File handles are kept in an LRU (default 32 open) so a torrent with
 * 100k files cannot exhaust descriptors; a handle in use by an operation is never closed, so
 * the cap is exceeded only while more than `maxOpenFiles` operations run at once.
 */
import { constants as fsConstants, promises as fsp, read as fsRead, write as fsWrite } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { DestroyedError, InvalidArgumentError } from '../../errors.js';
import type { TorrentFileEntry, TorrentInfo } from '../../torrent/metainfo.js';
import type { Bitfield } from '../bitfield.js';
import { blockPosition, verifyPieces, type Storage, type VerifyOptions } from './storage.js';
import { pieceSize } from '../../torrent/piece-layout.js';
import { makeDirectory } from '../../util/make-directory.js';

/**
 * Moves `length` bytes between `buf[offset..]` and the file at `position` through a raw
 * descriptor; resolves with the bytes moved (0 at end of file for a read).
 */
export type PositionalIo = (
  fd: number,
  buf: Uint8Array,
  offset: number,
  length: number,
  position: number
) => Promise<number>;

export interface DescriptorIo {
  read: PositionalIo;
  write: PositionalIo;
}

export interface FsStorageOptions {
  /** Most file handles kept open at once (default 32). */
  maxOpenFiles?: number;
  /**
   * A BEP 53 file selection (indices into `files`): `flush()` creates only the selected empty
   * files. Other files are created only when a written piece overlaps them. Default: all.
   */
  selectedFiles?: readonly number[];
  /**
   * The positional reads and writes (default `fsDescriptorIo`: node:fs). Tests wrap it to hold
   * an operation open and check that close() waits for it.
   */
  io?: DescriptorIo;
}

export type FsStorageLayout = Pick<
  TorrentInfo,
  'files' | 'length' | 'pieceLength' | 'pieceCount' | 'pieceHashes'
>;

interface HandleEntry {
  promise: Promise<FileHandle>;
  writable: boolean;
  users: number;
  /** Replaced by a writable handle: close it when its last user is done. */
  retired: boolean;
  /** close() waits for the last user (operations use the raw descriptor, which close would free). */
  drained?: () => void;
}

interface Segment {
  file: number;
  /** Position inside the file. */
  position: number;
  /** Position inside the caller's buffer. */
  bufferOffset: number;
  length: number;
}

const UNSAFE_COMPONENT = /[/\\\0]/;

export class FsStorage implements Storage {
  readonly dir: string;
  private readonly info: FsStorageLayout;
  private readonly paths: string[];
  /** Non-empty files in torrent order (their offsets ascend), for the binary search. */
  private readonly dataFiles: number[];
  /** BEP 47 pad files: read as zeros, writes dropped, nothing on disk. */
  private readonly padding: boolean[];
  private readonly maxOpenFiles: number;
  private readonly selectedFiles: ReadonlySet<number> | undefined;
  private readonly io: DescriptorIo;
  /** Map order is LRU order: oldest first. */
  private readonly handles = new Map<number, HandleEntry>();
  private closed = false;
  private emptyFilesCreated = false;

  constructor(info: FsStorageLayout, dir: string, opts: FsStorageOptions = {}) {
    this.info = info;
    this.dir = resolve(dir);
    this.maxOpenFiles = Math.max(1, opts.maxOpenFiles ?? 32);
    this.selectedFiles = opts.selectedFiles ? new Set(opts.selectedFiles) : undefined;
    this.io = opts.io ?? fsDescriptorIo;
    this.paths = info.files.map((f) => this.safePath(f));
    this.dataFiles = info.files.flatMap((f, i) => (f.length > 0 ? [i] : []));
    this.padding = info.files.map((f) => f.padding === true);
    const sum = info.files.reduce((s, f) => s + f.length, 0);
    if (sum !== info.length) {
      throw new InvalidArgumentError(
        'ERR_INVALID_TORRENT',
        `file lengths add up to ${sum}, torrent length is ${info.length}`
      );
    }
  }

  /** Handles open right now (including ones being opened). */
  get openFileCount(): number {
    return this.handles.size;
  }

  async readBlock(piece: number, offset: number, length: number): Promise<Uint8Array> {
    this.check();
    blockPosition(this.info, piece, offset, length);
    // Not zero-filled (a 512 KiB memset per piece read showed up in the seeder's profile):
    // readInto writes every byte, or throws and `out` is dropped. Not from Buffer's shared
    // pool either: callers own the returned bytes.
    const unsafe = Buffer.allocUnsafeSlow(length);
    const out = new Uint8Array(unsafe.buffer, unsafe.byteOffset, length);
    await this.readInto(piece, offset, out);
    return out;
  }

  async readInto(piece: number, offset: number, target: Uint8Array): Promise<void> {
    this.check();
    const length = target.length;
    const start = blockPosition(this.info, piece, offset, length);
    let covered = 0;
    for (const seg of this.segments(start, length)) {
      covered = seg.bufferOffset + seg.length;
      if (this.padding[seg.file]) {
        target.fill(0, seg.bufferOffset, covered);
        continue;
      }
      await this.withHandle(seg.file, false, async (fd) => {
        for (let done = 0; done < seg.length;) {
          const at = seg.bufferOffset + done;
          const bytesRead = await this.io.read(fd, target, at, seg.length - done, seg.position + done);
          if (bytesRead === 0) {
            throw new InvalidArgumentError(
              'ERR_INVALID_ARGUMENT',
              `piece ${piece} is not on disk (${this.paths[seg.file]} is too short)`
            );
          }
          done += bytesRead;
        }
      });
    }
    // The segments tile the range (file lengths add up to the torrent's); never hand out stale memory.
    if (covered < length) target.fill(0, covered);
  }

  async writeBlock(piece: number, offset: number, data: Uint8Array): Promise<void> {
    this.check();
    const start = blockPosition(this.info, piece, offset, data.length);
    for (const seg of this.segments(start, data.length)) {
      if (this.padding[seg.file]) continue;
      await this.withHandle(seg.file, true, async (fd) => {
        for (let done = 0; done < seg.length;) {
          const at = seg.bufferOffset + done;
          done += await this.io.write(fd, data, at, seg.length - done, seg.position + done);
        }
      });
    }
  }

  async readPiece(piece: number): Promise<Uint8Array> {
    blockPosition(this.info, piece, 0, 0);
    return this.readBlock(piece, 0, pieceSize(this.info, piece));
  }

  /** fsync written files; also creates the torrent's (selected) empty files, which no block ever writes. */
  async flush(): Promise<void> {
    this.check();
    await Promise.all(
      [...this.handles.values()].filter((e) => e.writable).map(async (e) => (await e.promise).datasync())
    );
    if (!this.emptyFilesCreated) {
      for (const [i, file] of this.info.files.entries()) {
        if (file.length !== 0 || file.padding || (this.selectedFiles && !this.selectedFiles.has(i))) continue;
        const path = this.paths[i] as string;
        await makeDirectory(dirname(path));
        await (await fsp.open(path, 'a')).close();
      }
      this.emptyFilesCreated = true;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const entries = [...this.handles.values()];
    this.handles.clear();
    await Promise.allSettled(
      entries.map(async (e) => {
        if (e.users > 0) await new Promise<void>((resolve) => (e.drained = resolve));
        await (await e.promise).close();
      })
    );
  }

  /**
   * Which pieces are already on disk and correct (resume, or seeding existing files). Pieces
   * touching a missing or short file are skipped without reading.
   */
  async verifyExisting(opts: VerifyOptions = {}): Promise<Bitfield> {
    this.check();
    const sizes = await Promise.all(
      this.paths.map(async (p, i) => {
        if (this.padding[i]) return 0;
        try {
          return (await fsp.stat(p)).size;
        } catch {
          return -1;
        }
      })
    );
    const present = (piece: number): boolean => {
      const start = piece * this.info.pieceLength;
      return this.segments(start, pieceSize(this.info, piece)).every(
        (s) => this.padding[s.file] || (sizes[s.file] ?? -1) >= s.position + s.length
      );
    };
    return verifyPieces(this, this.info, {
      ...opts,
      shouldCheck: (p) => present(p) && (opts.shouldCheck?.(p) ?? true)
    });
  }

  // --- internals -------------------------------------------------------------------------------

  private safePath(file: TorrentFileEntry): string {
    if (
      file.path.length === 0 ||
      file.path.some((c) => c === '' || c === '.' || c === '..' || UNSAFE_COMPONENT.test(c))
    ) {
      throw new InvalidArgumentError('ERR_INVALID_TORRENT', `unsafe file path ${JSON.stringify(file.path)}`);
    }
    const full = resolve(this.dir, ...file.path);
    if (!full.startsWith(this.dir + sep)) {
      throw new InvalidArgumentError(
        'ERR_INVALID_TORRENT',
        `file path ${JSON.stringify(file.path)} leaves ${this.dir}`
      );
    }
    return full;
  }

  /** Split the absolute range [start, start + length) into per-file pieces. */
  private segments(start: number, length: number): Segment[] {
    const out: Segment[] = [];
    const files = this.info.files;
    // First non-empty file whose end is past `start`.
    let lo = 0;
    let hi = this.dataFiles.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const f = files[this.dataFiles[mid] as number] as TorrentFileEntry;
      if (f.offset + f.length <= start) lo = mid + 1;
      else hi = mid;
    }
    let done = 0;
    for (let k = lo; k < this.dataFiles.length && done < length; k++) {
      const index = this.dataFiles[k] as number;
      const f = files[index] as TorrentFileEntry;
      const position = start + done - f.offset;
      const take = Math.min(f.length - position, length - done);
      out.push({ file: index, position, bufferOffset: done, length: take });
      done += take;
    }
    return out;
  }

  /**
   * Runs `use` with the descriptor of `file` (opened if needed, read-write when `write`). The
   * handle is counted as in use until `use` settles, so neither eviction nor close() frees the
   * descriptor under it: reads and writes go to the raw descriptor, which FileHandle's own
   * close does not wait for.
   */
  private async withHandle<T>(file: number, write: boolean, use: (fd: number) => Promise<T>): Promise<T> {
    const entry = this.acquire(file, write);
    try {
      return await use((await entry.promise).fd);
    } finally {
      this.release(entry);
    }
  }

  /** An operation is done with the handle `acquire` gave it. */
  private release(entry: HandleEntry): void {
    entry.users--;
    if (entry.users > 0) return this.evict();
    entry.drained?.();
    if (entry.retired) void entry.promise.then((fh) => fh.close()).catch(() => {});
    this.evict();
  }

  /**
   * The handle of `file` for one operation (opened if needed, most recently used now); only
   * withHandle calls it, and `release`s the handle after. A handle in use is never closed, so
   * its descriptor stays valid.
   */
  private acquire(file: number, write: boolean): HandleEntry {
    this.check(); // an operation spanning files may outlive close(): open nothing new
    let entry = this.handles.get(file);
    if (entry && write && !entry.writable) {
      // Upgrade a read-only handle (seeding opens files read-only, so read-only files work).
      this.handles.delete(file);
      entry.retired = true;
      if (entry.users === 0) void entry.promise.then((fh) => fh.close()).catch(() => {});
      entry = undefined;
    }
    if (entry) {
      this.handles.delete(file); // re-insert: most recently used
    } else {
      entry = { promise: this.open(file, write), writable: write, users: 0, retired: false };
      const created = entry;
      created.promise.catch(() => {
        if (this.handles.get(file) === created) this.handles.delete(file);
      });
    }
    entry.users++;
    this.handles.set(file, entry);
    this.evict();
    return entry;
  }

  private async open(file: number, write: boolean): Promise<FileHandle> {
    const path = this.paths[file] as string;
    if (!write) return fsp.open(path, 'r');
    await makeDirectory(dirname(path));
    // Read-write, created if missing, never truncated (resume keeps what is there).
    return fsp.open(path, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o644);
  }

  /** Close least recently used idle handles until under the cap. */
  private evict(): void {
    if (this.handles.size <= this.maxOpenFiles) return;
    for (const [file, entry] of this.handles) {
      if (this.handles.size <= this.maxOpenFiles) break;
      if (entry.users > 0) continue;
      this.handles.delete(file);
      void entry.promise.then((fh) => fh.close()).catch(() => {});
    }
  }

  private check(): void {
    if (this.closed) throw new DestroyedError('storage');
  }
}

/**
 * Positional reads and writes on a handle's descriptor through the callback API: every piece
 * stored or served goes through here, and FileHandle's promise methods cost several promises
 * and objects per call (a sixth of a capped swarm's garbage was storage I/O).
 */
type CallbackIo = (
  fd: number,
  buf: Uint8Array,
  offset: number,
  length: number,
  position: number,
  done: (err: NodeJS.ErrnoException | null, bytes: number) => void
) => void;

const atPosition =
  (io: CallbackIo): PositionalIo =>
  (fd, buf, offset, length, position) =>
    new Promise((resolve, reject) =>
      io(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)))
    );

/** node:fs `read` and `write`, the default DescriptorIo. */
export const fsDescriptorIo: DescriptorIo = {
  read: atPosition(fsRead as CallbackIo),
  write: atPosition(fsWrite as CallbackIo)
};
