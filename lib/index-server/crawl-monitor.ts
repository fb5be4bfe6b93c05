/**
 * What a server shows of a crawl running in the same process: the crawler's counters, its DHT
 * node's, the liveness refresher's, and a per-minute history of the rates (the status panel's
 * chart). `index serve` runs without one: then only the database is reported.
 */
import type { Clock, TimerHandle } from '../util/clock.js';
import type { CrawlerStats } from '../crawler/stats.js';
import type { LivenessStats } from '../crawler/liveness.js';
import type { DhtStats } from '../dht/types.js';

export interface CrawlMonitor {
  crawler: () => CrawlerStats;
  dht?: () => DhtStats;
  liveness?: () => LivenessStats;
  history: RateHistory;
}

export interface RatePoint {
  /** End of the minute, ms. */
  atMs: number;
  discovered: number;
  resolved: number;
  queries: number;
}

/** Minutes kept (two hours). */
const KEEP = 120;

/** Per-minute deltas of the crawler's counters, sampled on the injected clock. */
export class RateHistory {
  private readonly points: RatePoint[] = [];
  private last = { discovered: 0, resolved: 0, queries: 0 };
  private timer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly stats: () => CrawlerStats,
    private readonly periodMs = 60_000
  ) {}

  start(): void {
    this.last = this.totals();
    const tick = (): void => {
      this.sample();
      this.timer = this.clock.setTimeout(tick, this.periodMs);
    };
    this.timer = this.clock.setTimeout(tick, this.periodMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** Oldest first. */
  series(): readonly RatePoint[] {
    return this.points;
  }

  /** The last complete minute (zeros before the first). */
  latest(): RatePoint {
    return this.points.at(-1) ?? { atMs: this.clock.now(), discovered: 0, resolved: 0, queries: 0 };
  }

  private totals(): Omit<RatePoint, 'atMs'> {
    const s = this.stats();
    return { discovered: s.newInfoHashes, resolved: s.resolve?.resolved ?? 0, queries: s.queriesSent };
  }

  private sample(): void {
    const t = this.totals();
    this.points.push({
      atMs: this.clock.now(),
      discovered: t.discovered - this.last.discovered,
      resolved: t.resolved - this.last.resolved,
      queries: t.queries - this.last.queries
    });
    if (this.points.length > KEEP) this.points.shift();
    this.last = t;
  }
}
