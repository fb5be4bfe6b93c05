/**
 * In-memory CrawlerStore for simulations, benchmarks and tests. It keeps everything it is
 * given (bounded only by what the caller crawls); use SqliteCrawlerStore for real crawls.
 */
import type {
  CrawlerState,
  CrawlerStore,
  InfoHashSource,
  PersistedCandidate,
  ScheduleEntry,
  TorrentMetadata
} from './types.js';

export interface InfoHashRecord {
  infoHash: Uint8Array;
  firstSeen: number;
  lastSeen: number;
  /** How it was first found. */
  source: InfoHashSource;
  seenCount: number;
  meta?: TorrentMetadata;
}

export class MemoryCrawlerStore implements CrawlerStore {
  readonly records = new Map<string, InfoHashRecord>();
  private schedule = new Map<string, number>();
  private frontier: PersistedCandidate[] = [];

  record(infoHash: Uint8Array, source: InfoHashSource, atMs: number): boolean {
    const key = Buffer.from(infoHash).toString('hex');
    const r = this.records.get(key);
    if (r) {
      r.lastSeen = Math.max(r.lastSeen, atMs);
      r.seenCount++;
      return false;
    }
    this.records.set(key, {
      infoHash: new Uint8Array(infoHash),
      firstSeen: atMs,
      lastSeen: atMs,
      source,
      seenCount: 1
    });
    return true;
  }

  recordMetadata(infoHash: Uint8Array, meta: TorrentMetadata): void {
    const r = this.records.get(Buffer.from(infoHash).toString('hex'));
    if (r) r.meta = meta;
  }

  flush(): void {
    // Nothing buffered.
  }

  loadState(nowMs: number): CrawlerState {
    const schedule: ScheduleEntry[] = [];
    for (const [key, at] of this.schedule) if (at > nowMs) schedule.push({ key, nextAllowedMs: at });
    return { schedule, frontier: this.frontier.map((c) => ({ ...c })) };
  }

  saveState(state: CrawlerState, nowMs: number): void {
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
