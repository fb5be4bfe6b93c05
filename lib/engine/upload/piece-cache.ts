/**
 * Read cache for uploading: whole pieces, LRU, bounded in bytes, with bounded read-ahead.
 *
 * Peers request a piece as consecutive 16 KiB blocks, so reading the whole piece once and
 * serving blocks as views of it turns ~16 storage reads into one and lets the socket write the
 * block without a copy. Concurrent requests for a piece share one read.
 *
 * Read-ahead: the uploader calls `prefetch` for the pieces of requests still queued, so their
 * reads run while earlier pieces are being sent (otherwise the sender stops at every piece
 * boundary and waits for one read, measured as the seeder's main stall on loopback). It is
 * bounded: at most `maxAhead` prefetched pieces are in flight or cached-but-not-yet-served at
 * once; those pieces are skipped by eviction (they are about to be served) until first served
 * or `aheadTtlMs` old (a peer that disconnected or was choked never asks for them). Every read,
 * demand or prefetch, reports its end once through `onRead`, so callers need no callback per
 * request.
 *
 * Reused buffers: given the torrent's layout and a storage with `readInto`, full-size pieces are
 * read into buffers the cache owns, and an evicted buffer is read into again instead of
 * allocating a new one (fresh memory for every piece served cost the seeder page faults and GC:
 * ~40 % of its CPU). A buffer is reused only once no write holds views of it: the uploader
 * `lend`s a piece to each socket write and `giveBack`s it when the socket reports the bytes
 * gone; a write that never reports (a stream that cannot tell) keeps it out of reuse for good,
 * and it is garbage-collected as before. At most `maxFree` free buffers are kept.
 *
 * Grown on need: the cache starts with a small budget (`initialBytes`) and grows towards
 * `maxBytes` by one piece each time a piece it evicted is read again while a cache that large
 * would still have held it (the evicted pieces are remembered, without their data, up to that
 * size: ARC's "ghost" list, without the shrinking). A big cache that only fills costs fresh
 * memory (page faults, and garbage collections driven by memory outside V8's heap) and serves
 * nothing: in a capped swarm a 32 MiB cache per peer read 5.5k pieces per run back from storage,
 * a 4 MiB one 5.3k.
 */
import type { Storage } from '../storage/storage.js';
import { pieceSize, type PieceLayout } from '../../torrent/piece-layout.js';
import { systemClock, type Clock } from '../../util/clock.js';

/** Memory kept in free buffers at most, bytes (and at most 8 of them, at least 1). */
const FREE_BYTES = 4 * 1024 * 1024;
/** Default starting budget, bytes (at least two pieces, at most `maxBytes`). */
const INITIAL_BYTES = 4 * 1024 * 1024;

export interface PieceCacheOptions {
  /** Most prefetched pieces in flight or not yet served (0 = no read-ahead). Default 4. */
  maxAhead?: number;
  /** A prefetched piece not served within this time loses its protection from eviction, ms. Default 2000. */
  aheadTtlMs?: number;
  /** Clock for `aheadTtlMs`. Default the system clock. */
  clock?: Clock;
  /** Called once when a read started by `load` or `prefetch` ends (with the error if it failed). */
  onRead?: (piece: number, error?: Error) => void;
  /** The torrent's layout: enables reused buffers (see above). */
  layout?: PieceLayout;
  /** Starting budget, bytes (grown on need up to `maxBytes`). Default 4 MiB, or two pieces if more. */
  initialBytes?: number;
}

export class PieceCache {
  /** Map order is LRU order (oldest first). */
  private readonly pieces = new Map<number, Uint8Array>();
  private readonly loading = new Map<number, Promise<Uint8Array>>();
  /** Prefetched pieces (in flight or cached) not served yet -> when the prefetch started. */
  private readonly ahead = new Map<number, number>();
  private bytes = 0;
  /** Bytes the cache may hold now: grows from `initialBytes` to `maxBytes` (see above). */
  private budget: number;
  /** Pieces evicted (oldest first) that a cache of `maxBytes` would still hold -> their size. */
  private readonly ghosts = new Map<number, number>();
  private ghostBytes = 0;
  /** Read-ahead budget, pieces. */
  readonly maxAhead: number;
  private readonly aheadTtlMs: number;
  private readonly clock: Clock;
  private readonly onRead: ((piece: number, error?: Error) => void) | undefined;
  private readonly layout: PieceLayout | undefined;
  /** Buffers the cache allocated for full-size pieces: the only ones it ever reuses. */
  private readonly own = new WeakSet<Uint8Array>();
  /** Own buffers lent to writes -> writes not yet given back. */
  private readonly lent = new WeakMap<Uint8Array, number>();
  /** Own buffers evicted while lent: reusable once the last write gives them back. */
  private readonly evictedWhileLent = new WeakSet<Uint8Array>();
  private readonly free: Uint8Array[] = [];
  private readonly maxFree: number;

  constructor(
    private readonly storage: Storage,
    private readonly maxBytes: number,
    options: PieceCacheOptions = {}
  ) {
    this.maxAhead = Math.max(0, options.maxAhead ?? 4);
    this.aheadTtlMs = options.aheadTtlMs ?? 2_000;
    this.clock = options.clock ?? systemClock;
    this.onRead = options.onRead;
    this.layout = options.layout;
    this.maxFree = this.layout
      ? Math.max(1, Math.min(8, Math.floor(FREE_BYTES / Math.max(1, this.layout.pieceLength))))
      : 0;
    const initial = options.initialBytes ?? Math.max(INITIAL_BYTES, 2 * (this.layout?.pieceLength ?? 0));
    this.budget = Math.min(maxBytes, initial);
  }

  get size(): number {
    return this.bytes;
  }

  /** Bytes the cache may hold now (grows on need up to its maximum). */
  get capacity(): number {
    return this.budget;
  }

  /** Prefetched pieces in flight or not yet served (bounded by `maxAhead`). */
  get aheadCount(): number {
    this.expireAhead();
    return this.ahead.size;
  }

  /** The piece is cached or being read. */
  has(piece: number): boolean {
    return this.pieces.has(piece) || this.loading.has(piece);
  }

  /** The piece if cached (and marks it recently used and served), else undefined. */
  get(piece: number): Uint8Array | undefined {
    const data = this.pieces.get(piece);
    if (data) {
      this.pieces.delete(piece);
      this.pieces.set(piece, data);
      if (this.ahead.size > 0) this.ahead.delete(piece);
    }
    return data;
  }

  /** Read the piece from storage (one read shared by concurrent callers) and cache it. */
  load(piece: number): Promise<Uint8Array> {
    const cached = this.get(piece);
    if (cached) return Promise.resolve(cached);
    return this.read(piece);
  }

  /**
   * Start reading a piece that queued requests will want, unless it is cached or being read
   * already. Returns false when the read-ahead budget is used up (the caller can stop
   * looking for more), true otherwise.
   */
  prefetch(piece: number): boolean {
    if (this.pieces.has(piece) || this.loading.has(piece)) return true;
    this.expireAhead();
    if (this.ahead.size >= this.maxAhead) return false;
    this.ahead.set(piece, this.clock.now());
    void this.read(piece);
    return true;
  }

  /** Cache a piece we hold already (the caller must not modify `data` afterwards). */
  insert(piece: number, data: Uint8Array): void {
    if (data.length > this.maxBytes) return;
    this.forget(piece);
    const old = this.pieces.get(piece);
    if (old) {
      this.bytes -= old.length;
      this.pieces.delete(piece);
      if (old !== data) this.release(old);
    }
    this.pieces.set(piece, data);
    this.bytes += data.length;
    this.evict(piece);
  }

  /** Forget a piece (e.g. it failed a re-check). */
  delete(piece: number): void {
    const old = this.pieces.get(piece);
    if (old) {
      this.bytes -= old.length;
      this.pieces.delete(piece);
      this.release(old);
    }
    this.ahead.delete(piece);
  }

  /**
   * A write is about to hold views of `data` (a piece from `get`): its memory is not reused,
   * even if the piece is evicted, until the write calls `giveBack(data)`.
   */
  lend(data: Uint8Array): void {
    if (this.own.has(data)) this.lent.set(data, (this.lent.get(data) ?? 0) + 1);
  }

  /** A write lent `data` holds none of it any more. */
  giveBack(data: Uint8Array): void {
    const n = this.lent.get(data);
    if (n === undefined) return;
    if (n > 1) {
      this.lent.set(data, n - 1);
      return;
    }
    this.lent.delete(data);
    if (this.evictedWhileLent.delete(data)) this.recycle(data);
  }

  /** Free buffers ready for reuse (for tests and stats). */
  get freeBuffers(): number {
    return this.free.length;
  }

  clear(): void {
    this.pieces.clear();
    this.ahead.clear();
    this.bytes = 0;
    this.ghosts.clear();
    this.ghostBytes = 0;
  }

  // --- internals -------------------------------------------------------------------------------

  private read(piece: number): Promise<Uint8Array> {
    let p = this.loading.get(piece);
    if (p) return p;
    this.growIfEvictedBefore(piece);
    p = this.readData(piece).then(
      (data) => {
        this.loading.delete(piece);
        this.insert(piece, data);
        this.onRead?.(piece);
        return data;
      },
      (err: unknown) => {
        this.loading.delete(piece);
        this.ahead.delete(piece);
        const error = err instanceof Error ? err : new Error(String(err));
        this.onRead?.(piece, error);
        throw error;
      }
    );
    // A prefetch has nobody awaiting it; `load` callers still get the rejection.
    p.catch(() => {});
    this.loading.set(piece, p);
    return p;
  }

  /** A full-size piece goes into an own buffer (a free one if any) when the storage allows. */
  private readData(piece: number): Promise<Uint8Array> {
    const layout = this.layout;
    if (!layout || !this.storage.readInto || pieceSize(layout, piece) !== layout.pieceLength)
      return this.storage.readPiece(piece);
    let buf = this.free.pop();
    if (!buf) {
      // Not zero-filled: readInto writes every byte or rejects (then the buffer is dropped).
      const unsafe = Buffer.allocUnsafeSlow(layout.pieceLength);
      buf = new Uint8Array(unsafe.buffer, unsafe.byteOffset, layout.pieceLength);
      this.own.add(buf);
    }
    const target = buf;
    return this.storage.readInto(piece, 0, target).then(() => target);
  }

  /** An evicted or replaced piece's buffer: reuse it once no write holds it. */
  private release(data: Uint8Array): void {
    if (!this.own.has(data)) return;
    if (this.lent.has(data)) this.evictedWhileLent.add(data);
    else this.recycle(data);
  }

  private recycle(data: Uint8Array): void {
    if (this.free.length < this.maxFree && !this.free.includes(data)) this.free.push(data);
  }

  /**
   * Least recently used first, but pieces prefetched and not yet served go last: read-ahead
   * must not push out what it read for the sender. They are bounded by `maxAhead`, so they
   * exceed the budget only when the cache holds fewer than `maxAhead` pieces; then they go too.
   */
  private evict(keep: number): void {
    if (this.bytes <= this.budget) return;
    this.expireAhead();
    for (const pass of [0, 1]) {
      for (const [k, v] of this.pieces) {
        if (this.bytes <= this.budget) return;
        if (k === keep || (pass === 0 && this.ahead.has(k))) continue;
        this.pieces.delete(k);
        this.ahead.delete(k);
        this.bytes -= v.length;
        this.release(v);
        this.remember(k, v.length);
      }
    }
  }

  /** An evicted piece, remembered while a cache of `maxBytes` would still hold it. */
  private remember(piece: number, size: number): void {
    if (this.budget >= this.maxBytes) return;
    this.forget(piece);
    this.ghosts.set(piece, size);
    this.ghostBytes += size;
    for (const k of this.ghosts.keys()) {
      if (this.ghostBytes <= this.maxBytes - this.budget) break;
      this.forget(k);
    }
  }

  private forget(piece: number): void {
    const size = this.ghosts.get(piece);
    if (size === undefined) return;
    this.ghosts.delete(piece);
    this.ghostBytes -= size;
  }

  /** Read again after its eviction: a larger cache would have served it, so grow by one piece. */
  private growIfEvictedBefore(piece: number): void {
    const size = this.ghosts.get(piece);
    if (size === undefined) return;
    this.forget(piece);
    this.budget = Math.min(this.maxBytes, this.budget + size);
    if (this.budget >= this.maxBytes) {
      this.ghosts.clear();
      this.ghostBytes = 0;
    }
  }

  private expireAhead(): void {
    if (this.ahead.size === 0) return;
    const oldest = this.clock.now() - this.aheadTtlMs;
    for (const [piece, at] of this.ahead) if (at <= oldest) this.ahead.delete(piece);
  }
}
