/**
 * BEP 51 crawler benchmark: coverage and samples per second against the number of simulated
 * nodes, with the queries spent per discovered infohash. Everything runs in memory, in virtual
 * time (WarmTestnet: no socket is ever opened).
 *
 *   npm run build && node dist/bench/crawler-bench.js                 # 1k and 10k nodes
 *   node dist/bench/crawler-bench.js --sizes 1000,10000,50000          # + 50k (opt-in, slow)
 *   node dist/bench/crawler-bench.js --rates 50,200 --write            # side by side, to docs
 *
 * Each (size, rate) runs in its own child process (fresh heap, own --max-old-space-size). The
 * network holds nodes/2 infohashes, each stored on its 8 closest nodes; every node advertises
 * the default interval (21,600 s), so one sweep is all a polite crawler gets. The crawl stops
 * at 99% coverage, when the crawler goes idle (nothing left to ask), or after 3 sweeps' worth
 * of virtual time at the configured rate. --write appends the table to docs/benchmarks.md
 * under "## Crawler" (appended, never overwriting the other sections).
 */
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDhtCrawler, MemoryCrawlerStore } from '../lib/crawler/index.js';
import { DHT, toHex } from '../lib/index.js';
import { seededRandom, WarmTestnet } from '../lib/testing/index.js';

interface Result {
  nodes: number;
  items: number;
  rate: number;
  buildS: number;
  storeS: number;
  crawlS: number;
  heapMB: number;
  /** Virtual seconds to reach each coverage level (NaN = not reached). */
  t50: number;
  t90: number;
  t95: number;
  t99: number;
  coverage: number;
  visitedShare: number;
  queries: number;
  samplesPerS: number;
  queriesPerInfohash: number;
  /** Datagrams to or from the crawler's address per sample query (its own cost). */
  crawlerDatagramsPerQuery: number;
  /** All datagrams in the network per sample query (includes the warm-start ping cascades). */
  networkDatagramsPerQuery: number;
  stoppedBy: string;
}

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};

async function child(nodes: number, rate: number): Promise<Result> {
  const items = Math.floor(nodes / 2);
  const t0 = performance.now();
  const net = await WarmTestnet.create({
    size: nodes,
    seed: 31,
    latencyMs: 20,
    jitterMs: 10,
    node: { maintenanceIntervalMs: 3_600_000 }
  });
  const buildS = (performance.now() - t0) / 1000;
  const rnd = seededRandom(5);
  const infoHashes = Array.from({ length: items }, () => rnd.bytes(20));
  const t1 = performance.now();
  const stored = await net.storeInfoHashes(infoHashes);
  const storeS = (performance.now() - t1) / 1000;
  const known = new Set(infoHashes.filter((_, i) => stored[i]! > 0).map(toHex));
  const dht = new DHT({
    transport: net.network.createTransport(),
    clock: net.network.clock,
    random: seededRandom(9),
    bootstrap: [net.nodes[0]!.address()],
    maintenanceIntervalMs: 3_600_000
  });
  await net.run(dht.ready);
  const store = new MemoryCrawlerStore();
  const crawler = createDhtCrawler(dht, {
    store,
    clock: net.network.clock,
    random: seededRandom(11),
    queriesPerSecond: rate,
    bootstrap: [net.nodes[0]!.address()]
  });
  let idle = false;
  crawler.on('idle', () => (idle = true));
  const marks: Record<number, number> = {};
  let found = 0;
  crawler.on('infohash', (ih) => {
    if (!known.has(toHex(ih))) return;
    found++;
    for (const level of [0.5, 0.9, 0.95, 0.99])
      if (marks[level] === undefined && found >= level * known.size) marks[level] = net.network.clock.now();
  });
  const sent0 = net.network.sent;
  const me = dht.address();
  let own = 0;
  net.network.onSend = (from, to) => {
    if ((from.host === me.host && from.port === me.port) || (to.host === me.host && to.port === me.port))
      own++;
  };
  const start = net.network.clock.now();
  const t2 = performance.now();
  await crawler.start();
  const capMs = Math.ceil((3 * nodes * 1000) / rate);
  await net.network.runUntil(() => found >= 0.99 * known.size || idle, capMs);
  const elapsed = net.network.clock.now() - start;
  await crawler.stop();
  const crawlS = (performance.now() - t2) / 1000;
  const s = crawler.stats();
  const heapMB = process.memoryUsage().heapUsed / 1e6;
  const at = (level: number): number => (marks[level] === undefined ? NaN : (marks[level]! - start) / 1000);
  const result: Result = {
    nodes,
    items: known.size,
    rate,
    buildS,
    storeS,
    crawlS,
    heapMB,
    t50: at(0.5),
    t90: at(0.9),
    t95: at(0.95),
    t99: at(0.99),
    coverage: found / known.size,
    visitedShare: s.nodesVisited / nodes,
    queries: s.queriesSent,
    samplesPerS: s.samples / (elapsed / 1000),
    queriesPerInfohash: s.queriesSent / Math.max(1, found),
    crawlerDatagramsPerQuery: own / Math.max(1, s.queriesSent),
    networkDatagramsPerQuery: (net.network.sent - sent0) / Math.max(1, s.queriesSent),
    stoppedBy: found >= 0.99 * known.size ? '99%' : idle ? 'idle' : 'time cap'
  };
  net.network.onSend = undefined;
  await dht.destroy();
  await net.destroy();
  return result;
}

function runChild(nodes: number, rate: number): Promise<Result> {
  const heapMB = Math.max(4096, Math.ceil((nodes * 250_000) / 1e6)); // ~170 KB heap per node measured at 10k
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [`--max-old-space-size=${heapMB}`, script, '--child', String(nodes), '--rate', String(rate)],
      { stdio: ['ignore', 'pipe', 'inherit'] }
    );
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line)
        reject(new Error(`child ${nodes}@${rate} exited with ${code}: ${out.slice(-500)}`));
      else resolve(JSON.parse(line.slice(7)) as Result);
    });
  });
}

const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '—');

function table(results: Result[]): string {
  const head =
    '| nodes | infohashes | rate (q/s) | 50% / 90% / 95% / 99% at (virtual s) | coverage | nodes visited | samples/s | queries per infohash | crawler datagrams per query | network datagrams per query | stopped by | build + store + crawl (real s) | heap |\n' +
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :--- | ---: | ---: |\n';
  return (
    head +
    results
      .map(
        (r) =>
          `| ${r.nodes.toLocaleString('en')} | ${r.items.toLocaleString('en')} | ${r.rate} | ${f(r.t50)} / ${f(r.t90)} / ${f(r.t95)} / ${f(r.t99)} | ${(r.coverage * 100).toFixed(1)}% | ${(r.visitedShare * 100).toFixed(1)}% | ${f(r.samplesPerS)} | ${f(r.queriesPerInfohash, 3)} | ${f(r.crawlerDatagramsPerQuery)} | ${f(r.networkDatagramsPerQuery)} | ${r.stoppedBy} | ${f(r.buildS, 0)} + ${f(r.storeS, 0)} + ${f(r.crawlS, 0)} | ${f(r.heapMB, 0)} MB |`
      )
      .join('\n')
  );
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) {
    const r = await child(Number(arg('child', '1000')), Number(arg('rate', '100')));
    process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
    return;
  }
  const sizes = arg('sizes', '1000,10000').split(',').map(Number);
  const rates = arg('rates', '100').split(',').map(Number);
  const results: Result[] = [];
  for (const nodes of sizes) {
    for (const rate of rates) {
      const t = performance.now();
      process.stderr.write(`crawler bench: ${nodes} nodes at ${rate} q/s ...\n`);
      const r = await runChild(nodes, rate);
      process.stderr.write(
        `  done in ${((performance.now() - t) / 1000).toFixed(0)} s real: ${JSON.stringify(r)}\n`
      );
      results.push(r);
    }
  }
  const md = table(results);
  process.stdout.write(`${md}\n`);
  if (process.argv.includes('--write')) {
    const path = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));
    const has = readFileSync(path, 'utf8').includes('\n## Crawler');
    const cmd = `node dist/bench/crawler-bench.js ${process.argv.slice(2).join(' ')}`.trim();
    const section =
      (has ? '' : '\n## Crawler\n\nSee docs/crawler.md for the method; source bench/crawler-bench.ts.\n') +
      `\n### Run of ${new Date().toISOString().slice(0, 10)} (\`${cmd}\`)\n\n${md}\n`;
    appendFileSync(path, section);
    process.stderr.write(`appended to ${path}\n`);
  }
}

await main();
