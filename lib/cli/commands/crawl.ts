/**
 * `trackerless crawl`: index the DHT with BEP 51 sample_infohashes into a SQLite database or
 * PostgreSQL (`--db postgres://...` or DATABASE_URL; several crawlers may share one, each
 * taking a free shard of `--shards`), optionally serving the index over HTTP while it crawls
 * (`--serve [HOST:]PORT`, loopback unless a host is given; see lib/index-server/).
 *
 * Progress goes to stderr every --progress-interval seconds (nodes visited, samples/s, new
 * infohashes, database size) and a summary at the end; with --print each new infohash is
 * written to stdout as it is found. Stops after --duration seconds or on SIGINT/SIGTERM,
 * saving the crawl state so the next run on the same --db continues where this one stopped.
 */
import { Option, type Command, InvalidArgumentError } from 'commander';
import {
  createDhtCrawler,
  LivenessRefresher,
  openStore,
  UtMetadataResolver,
  type Crawler,
  type CrawlerStats
} from '../../crawler/index.js';
import type { IndexStore } from '../../crawler/store/torrent-index.js';
import { IndexServer, parseListenAddress, RateHistory } from '../../index-server/index.js';
import { systemClock } from '../../util/clock.js';
import { portParser, secondsParser } from '../args.js';
import { EXIT_INTERRUPTED, EXIT_OK, every, type CliCommand, type CliContext } from '../program.js';
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
  serve?: { host: string; port: number };
  maxTorrents?: number;
  shards: number;
  scrape?: boolean;
  scrapeInterval: number;
}

/** `[HOST:]PORT` for --serve / index serve. */
export function listenParser(value: string): { host: string; port: number } {
  try {
    return parseListenAddress(value);
  } catch (err) {
    throw new InvalidArgumentError(`${(err as Error).message}.`);
  }
}

/** A whole number from `min` up to `max`. */
export function countParser(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^[0-9]{1,12}$/.test(value) ? Number(value) : NaN;
    if (!(n >= min && n <= max))
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** --db: SQLite path or postgres:// URL, defaulting to DATABASE_URL. */
export function dbOption(dflt?: string): Option {
  const o = new Option('--db <path|url>', 'SQLite file, or a postgres:// URL (default: DATABASE_URL)').env(
    'DATABASE_URL'
  );
  return dflt ? o.default(dflt) : o.makeOptionMandatory();
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
    command.description(
      'index the DHT with BEP 51 sample_infohashes into SQLite or PostgreSQL (resumable), optionally serving it'
    );
    addDhtOptions(command, { host: '0.0.0.0' })
      .addOption(dbOption('crawl.db'))
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
      .option(
        '--serve <[host:]port>',
        'also serve the index over HTTP (loopback unless a host is given)',
        listenParser
      )
      .option(
        '--max-torrents <n>',
        'size cap: evict beyond this many infohashes (unresolved, least seen first)',
        countParser(1, 1e12)
      )
      .option('--scrape', 'keep BEP 33 seeders/leechers estimates of resolved torrents fresh (DHT scrapes)')
      .option(
        '--scrape-interval <seconds>',
        'one scrape this often (each is a DHT lookup)',
        secondsParser(false),
        2
      )
      .option(
        '--shards <n>',
        'PostgreSQL: crawlers sharing the database; this one takes a free shard',
        countParser(1, 1024),
        1
      )
      .addHelpText(
        'after',
        '\nExamples:\n' +
          '  trackerless crawl --db dht.db --duration 3600 --rate 20\n' +
          '  trackerless crawl --db test.db --bootstrap 127.0.0.1:6881 --host 127.0.0.1 --duration 10\n' +
          '  trackerless crawl --db postgres://crawler@db/dht --shards 4 --serve 8080'
      );
  },
  async run(ctx, _args, options) {
    const opts = options as unknown as CrawlOptions;
    const dht = await startDht(ctx, dhtOptionsFrom(opts, opts.port), ctx.interrupt);
    if (!dht) return EXIT_INTERRUPTED;
    let store: IndexStore;
    try {
      store = await openStore(opts.db, {
        shards: opts.shards,
        ...(opts.maxTorrents ? { maxTorrents: opts.maxTorrents } : {})
      });
    } catch (err) {
      await dht.destroy();
      throw err;
    }
    const crawler = createDhtCrawler(dht, {
      store,
      queriesPerSecond: opts.rate,
      perIpQueriesPerSecond: opts.perIpRate,
      shard: store.shard,
      // get_peers lookups + BEP 9 from a few peers; never announces, never downloads content.
      ...(opts.resolve ? { resolver: new UtMetadataResolver({ dht }) } : {})
    });
    crawler.on('warning', (err) => ctx.warn(err.message));
    if (opts.print) crawler.on('infohash', (ih) => ctx.print(hex(ih)));
    const started = ctx.clock.now();
    const initial = (await store.summary()).torrents;
    const history = new RateHistory(systemClock, () => crawler.stats());
    // Liveness: one BEP 33 scrape at a time, claimed from the database (see lib/crawler/liveness.ts).
    const liveness = opts.scrape
      ? new LivenessRefresher({
          index: store,
          intervalMs: opts.scrapeInterval * 1000,
          scrape: async (ih, signal) => {
            const r = await dht.scrape(ih, { signal });
            return { seeders: r.seeders, leechers: r.leechers };
          }
        })
      : null;
    liveness?.on('warning', (err) => ctx.warn(`scrape: ${err.message}`));
    let server: IndexServer | null = null;
    try {
      if (opts.serve) {
        server = await IndexServer.listen({
          index: store,
          ...opts.serve,
          monitor: {
            crawler: () => crawler.stats(),
            dht: () => dht.stats(),
            history,
            ...(liveness ? { liveness: () => liveness.stats() } : {})
          }
        });
        server.on('warning', (err) => ctx.warn(`http: ${err.message}`));
      }
    } catch (err) {
      await store.close();
      await dht.destroy();
      throw err;
    }
    const shard = store.shard.count > 1 ? `, shard ${store.shard.index + 1}/${store.shard.count}` : '';
    ctx.log(
      `crawling from ${dht.address().host}:${dht.address().port} into ${store.location} (${initial} infohashes already stored${shard}), ${opts.rate} q/s` +
        (server ? `; serving ${server.url}/` : '')
    );
    await crawler.start();
    history.start();
    liveness?.start();
    const progress = new Progress(ctx, crawler, store, started);
    const timer =
      opts.progressInterval > 0
        ? every(ctx.clock, opts.progressInterval * 1000, () => void progress.line())
        : null;
    const stopped = await waitForStop(ctx, opts.duration);
    timer?.cancel();
    history.stop();
    await liveness?.stop();
    await server?.close();
    await crawler.stop();
    const s = crawler.stats();
    const db = await store.summary();
    // Datagrams the codec refused before the crawler saw them (not bencode, > 1500 bytes,
    // samples not a multiple of 20 bytes...): bad input counted at the boundary.
    const malformed = dht.stats().malformed;
    await store.close();
    await dht.destroy();
    ctx.log(summary(s, db.torrents, initial, db.bytes, ctx.clock.now() - started, stopped, malformed));
    return stopped === 'interrupted' && String(ctx.interrupt.reason) !== 'EPIPE' ? EXIT_INTERRUPTED : EXIT_OK;
  }
};

/** Resolves 'interrupted' on SIGINT/SIGTERM, 'duration' when the time is up. */
function waitForStop(ctx: CliContext, durationS: number): Promise<'interrupted' | 'duration'> {
  const interrupt = ctx.interrupt;
  return new Promise((resolve) => {
    if (interrupt.aborted) return resolve('interrupted');
    const timer = durationS > 0 ? ctx.clock.setTimeout(() => done('duration'), durationS * 1000) : null;
    const onAbort = (): void => done('interrupted');
    function done(why: 'interrupted' | 'duration'): void {
      timer?.cancel();
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
    private readonly store: IndexStore,
    private readonly started: number
  ) {
    this.lastAt = started;
  }

  async line(): Promise<void> {
    const db = await this.store.summary().catch(() => null);
    const now = this.ctx.clock.now();
    const s = this.crawler.stats();
    const rate = ((s.samples - this.lastSamples) * 1000) / Math.max(1, now - this.lastAt);
    this.lastAt = now;
    this.lastSamples = s.samples;
    this.ctx.log(
      `crawl ${seconds(now - this.started)}: nodes visited ${s.nodesVisited}, samples ${rate.toFixed(1)}/s, ` +
        `new infohashes ${s.newInfoHashes} (total ${db?.torrents ?? '?'}), db ${db ? mib(db.bytes) : '?'}, ` +
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
    `  database           ${total} infohashes (${initial} before this run), ${mib(dbBytes)}` +
      (s.evicted > 0 ? `; ${s.evicted} evicted by the size cap` : ''),
    `  dropped replies    ${rejected} ${JSON.stringify(s.rejected)}; malformed datagrams ${malformed}`,
    `  state saved        ${s.frontier} frontier nodes, ${s.revisits} planned revisits, ${s.schedule} scheduled nodes`
  ];
  if (s.resolve) {
    const r = s.resolve;
    lines.push(
      `  metadata           ${r.claimed} attempted: ${r.resolved} resolved, ${r.failed} not found, ${r.timedOut} timed out`
    );
  }
  if (s.newInfoHashes > 0 && s.queriesSent > 0)
    lines.push(`  queries per new infohash ${(s.queriesSent / s.newInfoHashes).toFixed(2)}`);
  return lines.join('\n');
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(2)} MiB`;
}
