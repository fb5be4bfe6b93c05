/**
 * In-memory CrawlerStore for simulations, benchmarks and tests. It keeps everything it is
 * given (bounded only by what the caller crawls) and writes at once: flush() only reports
 * what was inserted since the previous flush. Use a database store for real crawls.
 */
import type {
  CrawlerState,
  CrawlerStore,
  FlushResult,
  InfoHashSource,
  PersistedCandidate,
  ScheduleEntry,
  TorrentMetadata
} from '../types.js';
import { NEVER, RESOLVE_MAX_ATTEMPTS, resolveRetryDelayMs } from './policy.js';

export interface InfoHashRecord {
  infoHash: Uint8Array;
  firstSeen: number;
  lastSeen: number;
  /** How it was first found. */
  source: InfoHashSource;
  seenCount: number;
  meta?: TorrentMetadata;
  resolveAttempts: number;
  resolveAfter: number;
}

export class MemoryCrawlerStore implements CrawlerStore {
  readonly records = new Map<string, InfoHashRecord>();
  private schedule = new Map<string, number>();
  private frontier: PersistedCandidate[] = [];
  private inserted: FlushResult['inserted'] = [];

  record(infoHash: Uint8Array, source: InfoHashSource, atMs: number): void {
    const key = Buffer.from(infoHash).toString('hex');
    const r = this.records.get(key);
    if (r) {
      r.lastSeen = Math.max(r.lastSeen, atMs);
      r.seenCount++;
      return;
    }
    const copy = new Uint8Array(infoHash);
    this.records.set(key, {
      infoHash: copy,
      firstSeen: atMs,
      lastSeen: atMs,
      source,
      seenCount: 1,
      resolveAttempts: 0,
      resolveAfter: 0
    });
    this.inserted.push({ infoHash: copy, source });
  }

  recordMetadata(infoHash: Uint8Array, meta: TorrentMetadata): void {
    const r = this.records.get(Buffer.from(infoHash).toString('hex'));
    if (r) r.meta = meta;
  }

  recordResolveFailure(infoHash: Uint8Array, atMs: number): void {
    const r = this.records.get(Buffer.from(infoHash).toString('hex'));
    if (!r || r.meta) return;
    r.resolveAfter =
      r.resolveAttempts >= RESOLVE_MAX_ATTEMPTS ? NEVER : atMs + resolveRetryDelayMs(r.resolveAttempts);
  }

  async flush(): Promise<FlushResult> {
    const inserted = this.inserted;
    this.inserted = [];
    return { inserted, evicted: 0 };
  }

  async claimUnresolved(max: number, nowMs: number, leaseMs: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const r of this.records.values()) {
      if (out.length >= max) break;
      if (r.meta || r.resolveAfter > nowMs) continue;
      r.resolveAfter = nowMs + leaseMs;
      r.resolveAttempts++;
      out.push(r.infoHash);
    }
    return out;
  }

  async loadState(nowMs: number): Promise<CrawlerState> {
    const schedule: ScheduleEntry[] = [];
    for (const [key, at] of this.schedule) if (at > nowMs) schedule.push({ key, nextAllowedMs: at });
    return { schedule, frontier: this.frontier.map((c) => ({ ...c })) };
  }

  async saveState(state: CrawlerState, nowMs: number): Promise<void> {
    for (const e of state.schedule) this.schedule.set(e.key, e.nextAllowedMs);
    for (const [key, at] of this.schedule) if (at <= nowMs) this.schedule.delete(key);
    this.frontier = state.frontier.map((c) => ({ ...c }));
  }

  count(): number {
    return this.records.size;
  }

  /** Hex infohashes recorded (handy in tests). */
  hexes(): Set<string> {
    return new Set(this.records.keys());
  }
}
