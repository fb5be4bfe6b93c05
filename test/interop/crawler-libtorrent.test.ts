/**
 * The BEP 51 crawler against libtorrent-rasterbar 2.0 (python3-libtorrent) on 127.0.0.1.
 *
 * Network: our seed A (no bootstrap), our B, and three libtorrent nodes bootstrapping from A
 * (test/interop/lt_crawl_node.py, loopback settings from docs/GUIDE §5). B announces a few
 * infohashes; announce_peer stores them on the closest nodes, libtorrent ones included. Then:
 * - our crawler (its own DHT node C) finds every infohash, reading it from libtorrent's
 *   sample_infohashes replies and from our nodes' replies, at the default 1 query/s per IP
 *   (every node here is 127.0.0.1, so that is 1 query/s overall);
 * - libtorrent's own dht_sample_infohashes reads our node's samples.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DHT, toHex, type Address } from '../../lib/index.js';
import { Crawler } from '../../lib/crawler/crawler.js';
import { dhtSampleQuery } from '../../lib/crawler/dht-crawler.js';
import { MemoryCrawlerStore } from '../../lib/crawler/store/memory-store.js';
import { libtorrentProblem, PYTHON } from '../support/lt-node.js';
import { randomInfoHashHex, waitFor } from '../support/wait.js';

const HOST = '127.0.0.1';
const SCRIPT = fileURLToPath(new URL('./lt_crawl_node.py', import.meta.url));

type LtEvent = { event: string; [k: string]: unknown };

/** Minimal driver of lt_crawl_node.py (JSON lines on stdout, commands on stdin). */
class LtCrawlNode {
  readonly events: LtEvent[] = [];
  port = 0;
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as LtEvent);
      } catch {
        this.events.push({ event: 'garbage', line });
      }
    });
    child.stderr.resume();
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static async start(bootstrap: Address): Promise<LtCrawlNode> {
    const child = spawn(
      PYTHON,
      [SCRIPT, '--bootstrap', `${bootstrap.host}:${bootstrap.port}`, '--max-seconds', '150'],
      { stdio: ['pipe', 'pipe', 'pipe'] }
    );
    const node = new LtCrawlNode(child);
    const ready = await node.next((e) => e.event === 'ready' || e.event === 'fatal', 15_000);
    if (ready.event === 'fatal') throw new Error(String(ready.message));
    node.port = Number(ready.port);
    return node;
  }

  get address(): Address {
    return { host: HOST, port: this.port };
  }

  send(cmd: string): void {
    this.child.stdin.write(`${cmd}\n`);
  }

  next(pred: (e: LtEvent) => boolean, timeoutMs: number, from = 0): Promise<LtEvent> {
    return waitFor('libtorrent helper event', () => this.events.slice(from).find(pred), {
      timeoutMs,
      intervalMs: 50
    });
  }

  /** Infohashes libtorrent accepted in announce_peer (dht_announce_alert). */
  held(): Set<string> {
    return new Set(this.events.filter((e) => e.event === 'announced').map((e) => String(e.info_hash)));
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(t);
  }
}

describe('BEP 51 crawler with libtorrent 2.0 on loopback', () => {
  const ours: DHT[] = [];
  const lts: LtCrawlNode[] = [];
  const announced: string[] = [];
  let a: DHT;

  beforeAll(async () => {
    const problem = libtorrentProblem();
    if (problem) throw new Error(`python3-libtorrent is required for the interop tests: ${problem}`);
    a = await DHT.create({ host: HOST, port: 0, bootstrap: [] });
    ours.push(a);
    const b = await DHT.create({ host: HOST, port: 0, bootstrap: [a.address()] });
    ours.push(b);
    lts.push(...(await Promise.all([0, 1, 2].map(() => LtCrawlNode.start(a.address())))));
    await waitFor(
      'A to verify the libtorrent nodes',
      () => lts.every((lt) => a.nodes().some((n) => n.port === lt.port)),
      { timeoutMs: 30_000, intervalMs: 200 }
    );
    // B's lookups must see the libtorrent nodes before announcing to them.
    await waitFor(
      'B to know the libtorrent nodes',
      async () => {
        await b.findNode(b.nodeId);
        return lts.every((lt) => b.nodes().some((n) => n.port === lt.port));
      },
      { timeoutMs: 30_000, intervalMs: 500 }
    );
    for (let i = 0; i < 5; i++) {
      const ih = randomInfoHashHex();
      const r = await b.announce(ih, 40_000 + i, { signal: AbortSignal.timeout(10_000) });
      if (r.storedOn > 0) announced.push(ih);
    }
    await waitFor(
      'every libtorrent node to store the announces',
      () => lts.every((lt) => lt.held().size === announced.length),
      { timeoutMs: 10_000, intervalMs: 100 }
    );
  }, 90_000);

  afterAll(async () => {
    await Promise.all(lts.map((lt) => lt.close()));
    await Promise.all(ours.map((d) => d.destroy()));
  });

  it('the crawler reads every infohash from libtorrent nodes and from our nodes', async () => {
    const t0 = Date.now();
    const c = await DHT.create({ host: HOST, port: 0, bootstrap: [a.address()] });
    ours.push(c);
    const repliesFrom = new Map<number, Set<string>>(); // port -> samples it sent
    const sentAt: number[] = []; // when each sample_infohashes query left (all to 127.0.0.1)
    const query = dhtSampleQuery(c);
    const store = new MemoryCrawlerStore();
    const crawler = new Crawler({
      store,
      bootstrap: [a.address()],
      seeds: () => c.nodes(),
      isSelf: (n) => n.port === c.address().port,
      query: async (node, target, signal) => {
        sentAt.push(Date.now()); // the clock the crawler's per-IP limiter reads
        const r = await query(node, target, signal);
        repliesFrom.set(node.port, new Set((r.samples ?? []).map(toHex)));
        return r;
      }
    });
    await crawler.start();
    const everyone = [...lts.map((lt) => lt.port), a.address().port, ours[1]!.address().port];
    try {
      await waitFor('the crawler to hear from every node', () => everyone.every((p) => repliesFrom.has(p)), {
        timeoutMs: 30_000,
        intervalMs: 200,
        detail: () =>
          `replies from ${[...repliesFrom.keys()].join(',')}; stats ${JSON.stringify(crawler.stats())}`
      });
    } finally {
      await crawler.stop();
    }
    const s = crawler.stats();
    console.log(
      `[crawler-lt] ${s.queriesSent} queries, ${s.replies} replies, ${store.count()} infohashes in ${Date.now() - t0} ms; deferred per-IP ${s.deferredPerIp}`
    );
    for (const lt of lts) {
      expect([...repliesFrom.get(lt.port)!].sort()).toEqual([...lt.held()].sort()); // libtorrent's samples
    }
    for (const ih of announced) expect(store.records.has(ih)).toBe(true);
    expect([...repliesFrom.get(a.address().port)!].sort()).toEqual([...announced].sort()); // ours
    expect(Object.values(s.rejected).reduce((x, y) => x + y, 0)).toBe(0);
    // One IP (127.0.0.1) for everyone: the 1 query/s per-IP limit paced the whole crawl, checked
    // on the limiter's own clock. On a loaded machine the process can be descheduled between the
    // limiter's decision and this wrapper recording the call (seen: 12 ms at load average 17,
    // 27 ms at 15), which shortens one gap by that delay but never the whole span: each decision
    // is >= 1 s after the one before, so the span from the first record to the last is
    // >= (n - 1) s less only the first record's delay. Without the limiter the gaps would be ~0.
    for (let i = 1; i < sentAt.length; i++) expect(sentAt[i]! - sentAt[i - 1]!).toBeGreaterThanOrEqual(900);
    expect(sentAt.at(-1)! - sentAt[0]!).toBeGreaterThanOrEqual((sentAt.length - 1) * 1000 - 100);
  }, 60_000);

  it("libtorrent's dht_sample_infohashes reads our node's samples", async () => {
    const lt = lts[0]!;
    const from = lt.events.length;
    lt.send(`sample ${HOST} ${a.address().port} ${'00'.repeat(20)}`);
    const ev = await lt.next((e) => e.event === 'samples' && e.port === a.address().port, 15_000, from);
    expect((ev.samples as string[]).slice().sort()).toEqual([...announced].sort());
    expect(ev.num).toBe(announced.length);
    expect(ev.interval).toBe(21600);
    expect(Number(ev.nodes)).toBeGreaterThan(0);
  }, 30_000);
});
