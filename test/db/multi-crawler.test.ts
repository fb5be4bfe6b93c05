/**
 * Several crawler processes on one PostgreSQL (a throwaway cluster) over a simulated DHT of
 * 2,000 nodes (bench/lib/sim-crawl-host.ts: the network runs in this process in real time,
 * each crawler is a separate OS process with the production crawler and store, its queries
 * carried over IPC into the network).
 *
 * - A single crawler crawls the network into its own database until it has nothing left to ask.
 * - Two crawlers (--shards 2) crawl it into one shared database; one is SIGKILLed mid-crawl
 *   and restarted: it takes the freed shard and resumes from the shard's saved state.
 * Then: the shared database holds exactly the single crawler's infohashes (nothing lost),
 * no row twice; every target IP was asked by one shard only, never twice within the per-IP
 * gap, and each process kept to its global rate.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import pg from 'pg';
import { SimCrawlHost, type CrawlerProcess, type QueryLog } from '../../bench/lib/sim-crawl-host.js';
import { startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { ensureBuilt, ROOT } from '../support/cli-process.js';
import { waitFor } from '../support/wait.js';

const NODES = 2000;
const RATE = 100; // queries/s per crawler
const PER_IP = 2; // queries/s to one IP: gap 500 ms

let cluster: PgCluster;
let host: SimCrawlHost;

beforeAll(async () => {
  ensureBuilt([join(ROOT, 'dist/bench/lib/sim-crawl-child.js')]);
  cluster = await startPgCluster();
  host = await SimCrawlHost.create(NODES);
}, 240_000);

afterAll(async () => {
  await host?.destroy();
  await cluster?.stop();
}, 60_000);

async function infohashes(url: string): Promise<{ all: string[]; distinct: number }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ h: string }>("SELECT encode(infohash, 'hex') AS h FROM torrents");
    const distinct = await c.query<{ n: string }>('SELECT count(DISTINCT infohash) AS n FROM torrents');
    return { all: rows.map((r) => r.h), distinct: Number(distinct.rows[0]!.n) };
  } finally {
    await c.end();
  }
}

function until<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms).unref()
    )
  ]);
}

describe('two crawler processes on one PostgreSQL over a 2,000-node simulated DHT', () => {
  it('find what one crawler finds, without duplicates, politely, surviving a kill and restart', async () => {
    // One crawler alone.
    const singleDb = await cluster.createDatabase('single');
    const single = await host.spawn('single', { db: singleDb, shards: 1, rate: RATE, perIpRate: PER_IP });
    await until('the single crawler to finish', single.idle, 180_000);
    await single.stop();
    const alone = await infohashes(singleDb);

    // Two crawlers sharing a database; "b" crashes mid-crawl and comes back.
    const sharedDb = await cluster.createDatabase('shared');
    const opts = { db: sharedDb, shards: 2, rate: RATE, perIpRate: PER_IP };
    const a = await host.spawn('a', opts);
    const b = await host.spawn('b', opts);
    const shardOf = new Map<string, number>([
      ['a', await a.shard],
      ['b', await b.shard]
    ]);
    expect([...shardOf.values()].sort()).toEqual([0, 1]);
    await waitFor('b to have written some rows', () => b.found.size >= 50, {
      timeoutMs: 60_000,
      intervalMs: 50
    });
    const killedAfter = b.found.size;
    await b.kill();
    await new Promise((r) => setTimeout(r, 300));
    const b2 = await host.spawn('b2', opts);
    shardOf.set('b2', await b2.shard);
    expect(shardOf.get('b2')).toBe(shardOf.get('b')); // the freed shard, and its saved state
    const pair: CrawlerProcess[] = [a, b2];
    await until('both crawlers to finish', Promise.all(pair.map((p) => p.idle)), 180_000);
    const [sa, sb2] = await Promise.all(pair.map((p) => p.stop()));
    const shared = await infohashes(sharedDb);

    const coverage = alone.all.filter((h) => host.known.has(h)).length / host.known.size;
    console.log(
      `[multi-crawler] ${NODES} nodes, ${host.known.size} infohashes stored; single: ${alone.all.length} (${(coverage * 100).toFixed(1)}%), ` +
        `pair: ${shared.all.length} (a ${a.found.size}, b ${killedAfter} before the kill + b2 ${b2.found.size}); ` +
        `queries single ${count(host.queries, ['single'])}, pair ${count(host.queries, ['a', 'b', 'b2'])}; ` +
        `b2 restored ${JSON.stringify(sb2!.restored)}`
    );
    expect(coverage).toBeGreaterThanOrEqual(0.99);
    expect(shared.all.length).toBe(shared.distinct); // no row twice
    expect(new Set(shared.all)).toEqual(new Set(alone.all)); // nothing lost, nothing extra
    expect(sb2!.restored.schedule + sb2!.restored.frontier).toBeGreaterThan(0);
    expect(sa!.outOfShard).toBeGreaterThan(0);

    // Politeness, on what the network received.
    const pairLog = host.queries.filter((q) => shardOf.has(q.crawler));
    const byIp = new Map<string, QueryLog[]>();
    for (const q of pairLog) byIp.set(q.host, [...(byIp.get(q.host) ?? []), q]);
    let minGap = Infinity;
    for (const list of byIp.values()) {
      expect(new Set(list.map((q) => shardOf.get(q.crawler))).size).toBe(1); // one shard per IP
      for (let i = 1; i < list.length; i++) minGap = Math.min(minGap, list[i]!.atMs - list[i - 1]!.atMs);
    }
    // Send times from the crawlers' clocks (both crawlers of a shard run on this machine); 25 ms
    // for the process being descheduled between the limiter's decision and the send.
    if (minGap < Infinity) expect(minGap).toBeGreaterThanOrEqual(1000 / PER_IP - 25);
    for (const name of ['single', 'a', 'b', 'b2']) {
      const times = host.queries.filter((q) => q.crawler === name).map((q) => q.atMs);
      expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(RATE * 1.1 + RATE / 10 + 2); // rate + burst (a tenth of a second) + scheduling
    }
  }, 420_000);
});

function count(log: QueryLog[], names: string[]): number {
  return log.filter((q) => names.includes(q.crawler)).length;
}

/** Most events within any window of `ms`. */
function maxInWindow(times: number[], ms: number): number {
  const t = [...times].sort((x, y) => x - y);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}
