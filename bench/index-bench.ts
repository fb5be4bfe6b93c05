/**
 * Crawl database benchmark (docs/benchmarks.md, "Crawl database and search"):
 *
 *   --scaling   infohashes discovered and resolved per minute by 1 and 2 crawler processes
 *               on one PostgreSQL over a simulated DHT (bench/lib/sim-crawl-host.ts), runs
 *               interleaved; resolution uses a stand-in resolver that answers after
 *               --resolve-ms (the DHT simulation has no BitTorrent peers), so the resolved
 *               rate measures the claim pipeline, not ut_metadata.
 *   --rows N    N generated resolved torrents written through each store's batched path
 *               (PostgreSQL and SQLite): database bytes per torrent, write rate, and search
 *               latency p50/p95 over a fixed query mix (store API, then HTTP /api/search);
 *               --store sqlite|postgresql runs one of them (default both).
 *
 *   npm run build && node dist/bench/index-bench.js --scaling --nodes 5000 --reps 2
 *   node dist/bench/index-bench.js --rows 1000000
 *
 * PostgreSQL is a throwaway cluster (test/support/pg-cluster.ts) with fsync on, as users run it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimCrawlHost } from './lib/sim-crawl-host.js';
import { startPgCluster, type PgCluster } from '../test/support/pg-cluster.js';
import { openStore } from '../lib/crawler/store/open-store.js';
import type { IndexStore, SearchQuery } from '../lib/crawler/store/torrent-index.js';
import { IndexServer } from '../lib/index-server/server.js';
import { seededRandom, type RandomSource } from '../lib/util/random.js';
import { argvReader } from './lib/argv.js';
import pg from 'pg';

const median = (xs: number[]): number => quantile(xs, 0.5);
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

// --- scaling ----------------------------------------------------------------------------------

async function scaling(
  cluster: PgCluster,
  nodes: number,
  reps: number,
  rate: number,
  resolveMs: number
): Promise<void> {
  const host = await SimCrawlHost.create(nodes);
  console.log(`# network: ${nodes} nodes, ${host.known.size} infohashes stored; ${rate} q/s per crawler`);
  const rows: Array<{
    procs: number;
    rep: number;
    seconds: number;
    discoveredPerMin: number;
    resolvedPerMin: number;
  }> = [];
  let db = 0;
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const procs of rep % 2 === 0 ? [1, 2] : [2, 1]) {
        const url = await cluster.createDatabase(`scaling_${db++}`);
        const t0 = Date.now();
        const crawlers = await Promise.all(
          Array.from({ length: procs }, (_, i) =>
            host.spawn(`r${rep}p${procs}c${i}`, {
              db: url,
              shards: procs,
              rate,
              perIpRate: 1,
              env: { ...process.env, SIM_CRAWL_RESOLVE_MS: String(resolveMs) }
            })
          )
        );
        await Promise.all(crawlers.map((c) => c.idle));
        const seconds = (Date.now() - t0) / 1000;
        const stats = await Promise.all(crawlers.map((c) => c.stop()));
        const discovered = stats.reduce((a, s) => a + s.newInfoHashes, 0);
        const resolved = stats.reduce((a, s) => a + (s.resolve?.resolved ?? 0), 0);
        const row = {
          procs,
          rep,
          seconds,
          discoveredPerMin: (discovered * 60) / seconds,
          resolvedPerMin: (resolved * 60) / seconds
        };
        rows.push(row);
        console.log(JSON.stringify({ ...row, discovered, resolved }));
      }
    }
  } finally {
    await host.destroy();
  }
  for (const procs of [1, 2]) {
    const mine = rows.filter((r) => r.procs === procs);
    console.log(
      `| ${procs} | ${median(mine.map((r) => r.seconds)).toFixed(1)} | ${median(mine.map((r) => r.discoveredPerMin)).toFixed(0)} | ${median(mine.map((r) => r.resolvedPerMin)).toFixed(0)} |`
    );
  }
}

// --- size and search ------------------------------------------------------------------------

/** A vocabulary with a Zipf-like use: a few very common words, a long tail of rare ones. */
function vocabulary(rnd: RandomSource, n: number): string[] {
  const syllables = [
    'ka',
    'lo',
    'mi',
    'ne',
    'ru',
    'sa',
    'ti',
    'vo',
    'ze',
    'an',
    'el',
    'is',
    'or',
    'ub',
    'ex'
  ];
  return Array.from({ length: n }, () => {
    const len = 2 + rnd.int(3);
    let w = '';
    for (let i = 0; i < len; i++) w += syllables[rnd.int(syllables.length)];
    return w;
  });
}

function zipfPick(rnd: RandomSource, words: string[]): string {
  // Inverse of a 1/rank law, approximately: rank = n^u.
  return words[
    Math.min(words.length - 1, Math.floor(Math.pow(words.length, rnd.int(1_000_000) / 1_000_000)) - 1)
  ]!;
}

function fakeTorrent(rnd: RandomSource, words: string[]) {
  const title = Array.from({ length: 3 + rnd.int(4) }, () => zipfPick(rnd, words)).join(' ');
  const year = 1980 + rnd.int(46);
  const name = `${title} ${year} ${['1080p', '720p', 'FLAC', 'EPUB', 'x265', 'ISO'][rnd.int(6)]}`;
  const nFiles = 1 + (rnd.int(10) === 0 ? rnd.int(40) : rnd.int(4));
  const files = Array.from({ length: nFiles }, (_, i) => ({
    path: `${name}/${zipfPick(rnd, words)}-${i + 1}.${['mkv', 'mp4', 'flac', 'epub', 'txt', 'srt', 'jpg'][rnd.int(7)]}`,
    size: 1000 + rnd.int(2_000_000_000)
  }));
  return { name, size: files.reduce((a, f) => a + f.size, 0), files };
}

async function fill(store: IndexStore, n: number, seed: number): Promise<number> {
  const rnd = seededRandom(seed);
  const words = vocabulary(seededRandom(99), 20_000);
  const t0 = Date.now();
  const T = Date.UTC(2026, 0, 1);
  const batch = 5000;
  for (let done = 0; done < n; done += batch) {
    const ihs: Uint8Array[] = [];
    for (let i = done; i < Math.min(n, done + batch); i++) {
      const ih = rnd.bytes(20);
      ihs.push(ih);
      const at = T + Math.floor((i / n) * 300 * 86_400_000);
      store.record(ih, 'sample', at);
      if (rnd.int(3) === 0) store.record(ih, 'sample', at + 3600_000);
    }
    await store.flush();
    for (const ih of ihs) store.recordMetadata(ih, fakeTorrent(rnd, words), T);
    await store.flush();
    // A slow, polite scrape covers a small share of a big index: 2% of the rows get estimates.
    for (const ih of ihs.slice(0, ihs.length / 50))
      await store.recordScrape(ih, { seeders: rnd.int(500), leechers: rnd.int(100) }, T);
  }
  return (Date.now() - t0) / 1000;
}

function queryMix(): Array<{ label: string; q: SearchQuery }> {
  const words = vocabulary(seededRandom(99), 20_000);
  const base: SearchQuery = { text: '', sort: 'relevance', order: 'desc', offset: 0, limit: 50 };
  return [
    { label: 'common word', q: { ...base, text: words[0]! } },
    { label: 'rare word', q: { ...base, text: words[15_000]! } },
    { label: 'two words', q: { ...base, text: `${words[1]} ${words[40]}` } },
    { label: 'prefix', q: { ...base, text: words[7]!.slice(0, 4) } },
    {
      label: 'word + size filter, by seeders',
      q: { ...base, text: words[2]!, minSize: 1e9, sort: 'seeders' }
    },
    { label: 'no text, recent', q: { ...base, sort: 'recent' } },
    { label: 'no text, by seeders', q: { ...base, sort: 'seeders' } },
    { label: 'no text, by size, page 5', q: { ...base, sort: 'size', offset: 200 } }
  ];
}

async function measureSearch(
  store: IndexStore,
  reps: number
): Promise<{ p50: number; p95: number; per: string[] }> {
  const all: number[] = [];
  const per: string[] = [];
  for (const { label, q } of queryMix()) {
    const times: number[] = [];
    await store.search(q); // warm
    for (let i = 0; i < reps; i++) {
      const t = performance.now();
      await store.search(q);
      times.push(performance.now() - t);
    }
    all.push(...times);
    per.push(`${label}: p50 ${median(times).toFixed(2)} ms, p95 ${quantile(times, 0.95).toFixed(2)} ms`);
  }
  return { p50: median(all), p95: quantile(all, 0.95), per };
}

async function measureHttp(store: IndexStore, reps: number): Promise<{ p50: number; p95: number }> {
  const server = await IndexServer.listen({ index: store, port: 0, requestsPerSecond: 1e6 });
  const times: number[] = [];
  try {
    const mix = queryMix();
    for (let i = 0; i < reps; i++) {
      for (const { q } of mix) {
        const params = new URLSearchParams({ q: q.text, sort: q.sort, page: String(q.offset / q.limit + 1) });
        if (q.minSize) params.set('min_size', String(q.minSize));
        const t = performance.now();
        const res = await fetch(`${server.url}/api/search?${params}`);
        await res.arrayBuffer();
        times.push(performance.now() - t);
      }
    }
  } finally {
    await server.close();
  }
  return { p50: median(times), p95: quantile(times, 0.95) };
}

async function rowsBench(cluster: PgCluster, n: number, reps: number, only: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'trackerless-index-bench-'));
  try {
    const targets: Array<[string, string]> = [];
    if (only !== 'sqlite') targets.push(['PostgreSQL', await cluster.createDatabase('rows')]);
    if (only !== 'postgresql') targets.push(['SQLite', join(dir, 'rows.db')]);
    for (const [label, spec] of targets) {
      const store = await openStore(spec, { shards: 0 });
      const writeS = await fill(store, n, 7);
      if (label === 'PostgreSQL') await vacuum(spec); // what autovacuum does: planner statistics, dead rows
      const sum = await store.summary();
      const search = await measureSearch(store, reps);
      const http = await measureHttp(store, Math.max(3, Math.floor(reps / 4)));
      console.log(
        JSON.stringify({
          store: label,
          rows: sum.torrents,
          bytes: sum.bytes,
          bytesPerTorrent: Math.round(sum.bytes / sum.torrents),
          writeS,
          rowsPerS: Math.round(n / writeS),
          searchP50ms: +search.p50.toFixed(2),
          searchP95ms: +search.p95.toFixed(2),
          httpP50ms: +http.p50.toFixed(2),
          httpP95ms: +http.p95.toFixed(2)
        })
      );
      for (const line of search.per) console.log(`  ${label} ${line}`);
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function vacuum(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('VACUUM (ANALYZE) torrents');
  } finally {
    await c.end();
  }
}

const argv = argvReader(process.argv.slice(2));
const cluster = await startPgCluster({ fsync: true });
try {
  if (argv.flag('scaling'))
    await scaling(
      cluster,
      argv.num('nodes', 5000),
      argv.num('reps', 2),
      argv.num('rate', 100),
      argv.num('resolve-ms', 200)
    );
  if (argv.value('rows'))
    await rowsBench(cluster, argv.num('rows', 1), argv.num('search-reps', 40), argv.value('store') ?? 'both');
} finally {
  await cluster.stop();
}
