/**
 * `trackerless crawl`: index the DHT with BEP 51 sample_infohashes into a SQLite database.
 *
 * Progress goes to stderr every --progress-interval seconds (nodes visited, samples/s, new
 * infohashes, database size) and a summary at the end; with --print each new infohash is
 * written to stdout as it is found. Stops after --duration seconds or on SIGINT/SIGTERM,
 * saving the crawl state so the next run on the same --db continues where this one stopped.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import {
  createDhtCrawler,
  SqliteCrawlerStore,
  UtMetadataResolver,
  type Crawler,
  type CrawlerStats
} from '../../index.js';
import { portParser, secondsParser } from '../args.js';
import { EXIT_INTERRUPTED, EXIT_OK, type CliCommand, type CliContext } from '../program.js';
import { addDhtOptions, dhtOptionsFrom, hex, seconds, startDht, type DhtCliOptions } from '../session.js';

interface CrawlOptions extends DhtCliOptions {
  db: string;
  duration: number;
  rate: number;
  perIpRate: number;
  port: number;
  resolve?: boolean;
  print?: boolean;
  progressInterval: number;
}

/** Queries per second: a positive number, at most 1000 (a polite crawler needs far less). */
function rateParser(value: string): number {
  const n = /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : NaN;
  if (!(n > 0 && n <= 1000))
    throw new InvalidArgumentError('expected queries per second, above 0 and at most 1000.');
  return n;
}

export const crawlCommand: CliCommand = {
  name: 'crawl',
  configure(command: Command) {
    command.description('index the DHT with BEP 51 sample_infohashes into a SQLite database (resumable)');
    addDhtOptions(command, { host: '0.0.0.0' })
      .option('--db <file>', 'SQLite database (created if missing; a crawl resumes from it)', 'crawl.db')
      .option(
        '-d, --duration <seconds>',
        'stop after this long (0 = until SIGINT/SIGTERM)',
        secondsParser(true),
        0
      )
      .option('-r, --rate <q/s>', 'global sample_infohashes queries per second', rateParser, 20)
      .option('--per-ip-rate <q/s>', 'queries per second to any one IP address', rateParser, 1)
      .option('-p, --port <port>', 'UDP port of our DHT node (0 = any free port)', portParser(true), 0)
      .option('--resolve', 'also fetch metadata (name, size, files) of new infohashes')
      .option('--print', 'print each new infohash (hex) on stdout')
      .option('--progress-interval <seconds>', 'progress line this often (0 = never)', secondsParser(true), 2)
      .addHelpText(
        'after',
        '\nExamples:\n' +
          '  trackerless crawl --db dht.db --duration 3600 --rate 20\n' +
          '  trackerless crawl --db test.db --bootstrap 127.0.0.1:6881 --host 127.0.0.1 --duration 10'
      );
  },
  async run(ctx, _args, options) {
    const opts = options as unknown as CrawlOptions;
    const dht = await startDht(ctx, dhtOptionsFrom(opts, opts.port), ctx.interrupt);
    if (!dht) return EXIT_INTERRUPTED;
    const store = SqliteCrawlerStore.open(opts.db);
    const crawler = createDhtCrawler(dht, {
      store,
      queriesPerSecond: opts.rate,
      perIpQueriesPerSecond: opts.perIpRate,
      // get_peers lookups + BEP 9 from a few peers; never announces, never downloads content.
      ...(opts.resolve ? { resolver: new UtMetadataResolver({ dht }) } : {})
    });
    crawler.on('warning', (err) => ctx.warn(err.message));
    if (opts.print) crawler.on('infohash', (ih) => ctx.print(hex(ih)));
    const started = Date.now();
    const initial = store.count();
    ctx.log(
      `crawling from ${dht.address().host}:${dht.address().port} into ${opts.db} (${initial} infohashes already stored), ${opts.rate} q/s`
    );
    crawler.start();
    const progress = new Progress(ctx, crawler, store, started);
    const timer =
      opts.progressInterval > 0 ? setInterval(() => progress.line(), opts.progressInterval * 1000) : null;
    const stopped = await waitForStop(ctx.interrupt, opts.duration);
    if (timer) clearInterval(timer);
    await crawler.stop();
    const s = crawler.stats();
    const dbBytes = store.sizeBytes();
    const total = store.count();
    // Datagrams the codec refused before the crawler saw them (not bencode, > 1500 bytes,
    // samples not a multiple of 20 bytes...): bad input counted at the boundary.
    const malformed = dht.stats().malformed;
    store.close();
    await dht.destroy();
    ctx.log(summary(s, total, initial, dbBytes, Date.now() - started, stopped, malformed));
    return stopped === 'interrupted' && String(ctx.interrupt.reason) !== 'EPIPE' ? EXIT_INTERRUPTED : EXIT_OK;
  }
};

/** Resolves 'interrupted' on SIGINT/SIGTERM, 'duration' when the time is up. */
function waitForStop(interrupt: AbortSignal, durationS: number): Promise<'interrupted' | 'duration'> {
  return new Promise((resolve) => {
    if (interrupt.aborted) return resolve('interrupted');
    const timer = durationS > 0 ? setTimeout(() => done('duration'), durationS * 1000) : null;
    const onAbort = (): void => done('interrupted');
    function done(why: 'interrupted' | 'duration'): void {
      if (timer) clearTimeout(timer);
      interrupt.removeEventListener('abort', onAbort);
      resolve(why);
    }
    interrupt.addEventListener('abort', onAbort, { once: true });
  });
}

/** One progress line per call, with rates over the interval since the previous call. */
class Progress {
  private lastAt: number;
  private lastSamples = 0;

  constructor(
    private readonly ctx: CliContext,
    private readonly crawler: Crawler,
    private readonly store: SqliteCrawlerStore,
    private readonly started: number
  ) {
    this.lastAt = started;
  }

  line(): void {
    const now = Date.now();
    const s = this.crawler.stats();
    const rate = ((s.samples - this.lastSamples) * 1000) / Math.max(1, now - this.lastAt);
    this.lastAt = now;
    this.lastSamples = s.samples;
    this.ctx.log(
      `crawl ${seconds(now - this.started)}: nodes visited ${s.nodesVisited}, samples ${rate.toFixed(1)}/s, ` +
        `new infohashes ${s.newInfoHashes} (total ${this.store.count()}), db ${mib(this.store.sizeBytes())}, ` +
        `queries ${s.queriesSent} (failed ${s.failures}), frontier ${s.frontier}` +
        (s.resolve ? `, metadata ${s.resolve.resolved} (${s.resolve.inflight} running)` : '')
    );
  }
}

function summary(
  s: CrawlerStats,
  total: number,
  initial: number,
  dbBytes: number,
  ms: number,
  why: string,
  malformed: number
): string {
  const rejected = Object.values(s.rejected).reduce((a, b) => a + b, 0);
  const lines = [
    `crawl ${why === 'duration' ? 'finished' : 'interrupted'} after ${seconds(ms)}`,
    `  nodes visited      ${s.nodesVisited} (${s.replies} replies, ${s.unsupported} without BEP 51, ${s.failures} no answer, ${s.remoteErrors} errors)`,
    `  queries sent       ${s.queriesSent} (${(s.queriesSent / Math.max(1, ms / 1000)).toFixed(1)}/s)`,
    `  samples received   ${s.samples} (${((s.samples * 1000) / Math.max(1, ms)).toFixed(1)}/s)`,
    `  new infohashes     ${s.newInfoHashes} (sampled and passive; passive get_peers ${s.passive.get_peers}, announce_peer ${s.passive.announce_peer})`,
    `  database           ${total} infohashes (${initial} before this run), ${mib(dbBytes)}`,
    `  dropped replies    ${rejected} ${JSON.stringify(s.rejected)}; malformed datagrams ${malformed}`,
    `  state saved        ${s.frontier} frontier nodes, ${s.revisits} planned revisits, ${s.schedule} scheduled nodes`
  ];
  if (s.resolve) {
    const r = s.resolve;
    lines.push(
      `  metadata           ${r.resolved} resolved, ${r.failed} not found, ${r.timedOut} timed out, ${r.dropped + r.queued} not attempted`
    );
  }
  if (s.newInfoHashes > 0 && s.queriesSent > 0)
    lines.push(`  queries per new infohash ${(s.queriesSent / s.newInfoHashes).toFixed(2)}`);
  return lines.join('\n');
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(2)} MiB`;
}
