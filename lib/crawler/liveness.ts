/**
 * Liveness refresh: BEP 33 scrape estimates (seeders, leechers) for resolved torrents, at a
 * polite rate. One scrape is a DHT get_peers lookup (~40 queries) ending in BEP 33 bloom
 * filters, so the default is one scrape every 2 s, one at a time, and a torrent is scraped
 * again only after `staleMs` (6 h). Work is claimed from the database (claimScrapes), so
 * several crawlers sharing one never scrape the same torrent in the same period.
 *
 * The scrape itself is injected (e.g. `(ih, signal) => dht.scrape(ih, { signal })`): this
 * file knows nothing of the DHT, and tests drive it with a fake in virtual time.
 */
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import type { ScrapeEstimate, TorrentIndex } from './store/torrent-index.js';

/** Estimate the swarm of `infoHash`; null when the DHT gave no BEP 33 answer. */
export type ScrapeFunction = (infoHash: Uint8Array, signal: AbortSignal) => Promise<ScrapeEstimate | null>;

export interface LivenessOptions {
  index: Pick<TorrentIndex, 'claimScrapes' | 'recordScrape'>;
  scrape: ScrapeFunction;
  clock?: Clock;
  /** Start one scrape this often, ms (default 2000). */
  intervalMs?: number;
  /** Scrape a torrent again after this long, ms (default 6 h). */
  staleMs?: number;
  /** Give up on one scrape after this long, ms (default 30 s). */
  timeoutMs?: number;
}

export interface LivenessStats {
  scraped: number;
  /** No estimate (null), error or timeout. */
  failed: number;
}

const CLAIM_BATCH = 16;

export class LivenessRefresher extends TypedEmitter<{ warning: [err: Error] }> {
  private readonly opts: Required<Omit<LivenessOptions, 'clock'>> & { clock: Clock };
  private readonly claimed: Uint8Array[] = [];
  private readonly counters: LivenessStats = { scraped: 0, failed: 0 };
  private timer: TimerHandle | null = null;
  private current: { controller: AbortController; done: Promise<void> } | null = null;
  private running = false;

  constructor(opts: LivenessOptions) {
    super();
    this.opts = { clock: systemClock, intervalMs: 2000, staleMs: 6 * 3600_000, timeoutMs: 30_000, ...opts };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    this.timer = null;
    this.current?.controller.abort();
    await this.current?.done;
  }

  stats(): LivenessStats {
    return { ...this.counters };
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = null;
      const controller = new AbortController();
      const done = this.step(controller).finally(() => {
        this.current = null;
        this.schedule();
      });
      this.current = { controller, done };
    }, this.opts.intervalMs);
  }

  /** Scrape the next claimed torrent (claiming a batch when none is left). */
  private async step(controller: AbortController): Promise<void> {
    const { clock, index } = this.opts;
    try {
      if (this.claimed.length === 0)
        this.claimed.push(...(await index.claimScrapes(CLAIM_BATCH, clock.now(), this.opts.staleMs)));
      const ih = this.claimed.shift();
      if (!ih || !this.running) return;
      const guard = clock.setTimeout(() => controller.abort(), this.opts.timeoutMs);
      let estimate: ScrapeEstimate | null = null;
      try {
        estimate = await this.opts.scrape(ih, controller.signal);
      } catch {
        estimate = null;
      } finally {
        guard.cancel();
      }
      // BEP 33 estimates are real numbers (the bloom filter formula): stored as whole counts.
      const rounded = estimate && {
        seeders: Math.round(estimate.seeders),
        leechers: Math.round(estimate.leechers)
      };
      if (!rounded || !valid(rounded)) {
        this.counters.failed++;
        return;
      }
      await index.recordScrape(ih, rounded, clock.now());
      this.counters.scraped++;
    } catch (err) {
      this.emit('warning', err instanceof Error ? err : new Error(String(err)));
    }
  }
}

/** Estimates are small non-negative integers (BEP 33 bloom filters saturate near 6,000). */
function valid(e: ScrapeEstimate): boolean {
  const ok = (n: number): boolean => Number.isSafeInteger(n) && n >= 0 && n < 1e7;
  return ok(e.seeders) && ok(e.leechers);
}
