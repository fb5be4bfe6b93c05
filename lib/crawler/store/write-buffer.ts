/**
 * What a database store holds between flushes: sightings merged per infohash, metadata and
 * failed resolutions. take() hands a batch to the writer and starts a new buffer; if the write
 * fails, putBack() merges the batch into whatever was recorded meanwhile, so nothing is lost
 * and nothing is counted twice.
 */
import type { InfoHashSource, TorrentMetadata } from '../types.js';

export interface PendingSighting {
  infoHash: Buffer;
  first: number;
  last: number;
  source: InfoHashSource;
  count: number;
}

export interface PendingMetadata {
  infoHash: Buffer;
  meta: TorrentMetadata;
  at: number;
}

export interface PendingFailure {
  infoHash: Buffer;
  at: number;
}

export interface Batch {
  /** Sorted by infohash: concurrent writers then lock rows in one order (no deadlocks). */
  sightings: PendingSighting[];
  metadata: PendingMetadata[];
  failures: PendingFailure[];
}

const key = (ih: Uint8Array): string => Buffer.from(ih.buffer, ih.byteOffset, ih.byteLength).toString('hex');

export class WriteBuffer {
  private sightings = new Map<string, PendingSighting>();
  private metadata = new Map<string, PendingMetadata>();
  private failures = new Map<string, PendingFailure>();

  /** Distinct infohashes waiting (sightings), the size a batch trigger looks at. */
  get size(): number {
    return this.sightings.size;
  }

  get empty(): boolean {
    return this.sightings.size === 0 && this.metadata.size === 0 && this.failures.size === 0;
  }

  record(infoHash: Uint8Array, source: InfoHashSource, atMs: number): void {
    this.merge({ infoHash: Buffer.from(infoHash), first: atMs, last: atMs, source, count: 1 });
  }

  recordMetadata(infoHash: Uint8Array, meta: TorrentMetadata, atMs: number): void {
    this.metadata.set(key(infoHash), { infoHash: Buffer.from(infoHash), meta, at: atMs });
    this.failures.delete(key(infoHash));
  }

  recordFailure(infoHash: Uint8Array, atMs: number): void {
    if (!this.metadata.has(key(infoHash)))
      this.failures.set(key(infoHash), { infoHash: Buffer.from(infoHash), at: atMs });
  }

  take(): Batch {
    const batch: Batch = {
      sightings: [...this.sightings.values()].sort((a, b) => Buffer.compare(a.infoHash, b.infoHash)),
      metadata: [...this.metadata.values()].sort((a, b) => Buffer.compare(a.infoHash, b.infoHash)),
      failures: [...this.failures.values()].sort((a, b) => Buffer.compare(a.infoHash, b.infoHash))
    };
    this.sightings = new Map();
    this.metadata = new Map();
    this.failures = new Map();
    return batch;
  }

  /** A write of `batch` failed: keep it for the next one. */
  putBack(batch: Batch): void {
    for (const s of batch.sightings) this.merge(s);
    for (const m of batch.metadata)
      if (!this.metadata.has(key(m.infoHash))) this.metadata.set(key(m.infoHash), m);
    for (const f of batch.failures)
      if (!this.failures.has(key(f.infoHash))) this.recordFailure(f.infoHash, f.at);
  }

  private merge(s: PendingSighting): void {
    const k = key(s.infoHash);
    const p = this.sightings.get(k);
    if (!p) {
      this.sightings.set(k, { ...s });
      return;
    }
    if (s.first < p.first) {
      p.first = s.first;
      p.source = s.source;
    }
    p.last = Math.max(p.last, s.last);
    p.count += s.count;
  }
}
