/**
 * Host side of multi-process crawls over a simulated DHT (used by test/db/multi-crawler.test.ts
 * and bench/index-bench.ts): a WarmTestnet of N nodes holding known infohashes, driven in real
 * time (virtual time follows the wall clock), and crawler processes (sim-crawl-child.ts)
 * whose sample_infohashes queries arrive over IPC and are sent into the network by one
 * simulated DHT node per process. Every query is logged with its target and the time the
 * crawler process sent it (its own clock, before IPC delivery), so politeness is checked on
 * every query that left each crawler, whatever its own counters say.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DHT } from '../../lib/dht/dht.js';
import { RemoteError } from '../../lib/errors.js';
import { WarmTestnet } from '../../lib/testing/warm-testnet.js';
import { seededRandom } from '../../lib/util/random.js';
import { toHex } from '../../lib/util/bytes.js';
import type { CrawlerStats } from '../../lib/crawler/stats.js';
import type { ChildMessage, HostMessage, WireReply } from './sim-crawl-child.js';

/** The built child: beside this file in dist/, or under dist/ when this file runs from source (jest). */
const HERE = fileURLToPath(new URL('.', import.meta.url));
const CHILD = HERE.includes('/dist/')
  ? join(HERE, 'sim-crawl-child.js')
  : join(HERE, '../../dist/bench/lib/sim-crawl-child.js');

export interface QueryLog {
  crawler: string;
  host: string;
  port: number;
  atMs: number;
}

export interface CrawlerProcess {
  name: string;
  shard: Promise<number>;
  found: Set<string>;
  stats: CrawlerStats | null;
  /** Resolves when the crawler reported 'idle' (nothing left to ask). */
  idle: Promise<void>;
  /** Ask it to stop (flush, save state); resolves with its final counters. */
  stop(): Promise<CrawlerStats>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
}

export class SimCrawlHost {
  readonly queries: QueryLog[] = [];
  private running = true;
  private readonly driver: Promise<void>;
  private readonly children = new Set<ChildProcess>();
  private readonly clients: DHT[] = [];

  private constructor(
    readonly net: WarmTestnet,
    readonly known: Set<string>
  ) {
    this.driver = this.drive();
  }

  /** A network of `size` nodes holding size/2 infohashes, each on its 8 closest nodes. */
  static async create(size: number, seed = 41): Promise<SimCrawlHost> {
    const net = await WarmTestnet.create({
      size,
      seed,
      latencyMs: 20,
      node: { maintenanceIntervalMs: 3_600_000 }
    });
    const rnd = seededRandom(seed + 1);
    const items = Array.from({ length: Math.floor(size / 2) }, () => rnd.bytes(20));
    const stored = await net.storeInfoHashes(items);
    const known = new Set(items.filter((_, i) => stored[i]! > 0).map(toHex));
    return new SimCrawlHost(net, known);
  }

  /** Addresses to bootstrap from (spread over the network, so every shard has some). */
  bootstrap(n = 32): string {
    const step = Math.floor(this.net.nodes.length / n);
    return Array.from({ length: n }, (_, i) => {
      const a = this.net.nodes[i * step]!.address();
      return `${a.host}:${a.port}`;
    }).join(',');
  }

  async spawn(
    name: string,
    opts: { db: string; shards: number; rate: number; perIpRate: number; env?: NodeJS.ProcessEnv }
  ): Promise<CrawlerProcess> {
    const dht = new DHT({
      transport: this.net.network.createTransport(),
      clock: this.net.network.clock,
      random: seededRandom(this.clients.length + 1000),
      bootstrap: [],
      maintenanceIntervalMs: 3_600_000
    });
    await dht.ready;
    this.clients.push(dht);
    const child = fork(
      CHILD,
      [opts.db, String(opts.shards), String(opts.rate), String(opts.perIpRate), this.bootstrap()],
      {
        env: { ...(opts.env ?? process.env), NODE_OPTIONS: '' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc']
      }
    );
    this.children.add(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    void exited.then(() => this.children.delete(child));
    let onShard!: (n: number) => void;
    let onIdle!: () => void;
    let failed!: (err: Error) => void;
    const died = new Promise<never>((_, reject) => (failed = reject));
    died.catch(() => undefined);
    void exited.then(() => failed(new Error(`crawler ${name} exited`)));
    let onStopped!: (s: CrawlerStats) => void;
    const proc: CrawlerProcess = {
      name,
      shard: Promise.race([new Promise<number>((r) => (onShard = r)), died]),
      found: new Set(),
      stats: null,
      idle: Promise.race([new Promise<void>((r) => (onIdle = r)), died]),
      stop: () => {
        const stopped = new Promise<CrawlerStats>((r) => (onStopped = r));
        child.send({ t: 'stop' } satisfies HostMessage);
        return Promise.race([stopped, exited.then(() => proc.stats!)]);
      },
      kill: async () => {
        child.kill('SIGKILL');
        await exited;
      }
    };
    // A killed crawler's promises reject; nobody has to wait for them.
    proc.shard.catch(() => undefined);
    proc.idle.catch(() => undefined);
    child.on('message', (m: ChildMessage) => {
      switch (m.t) {
        case 'ready':
          return onShard(m.shard);
        case 'infohash':
          proc.found.add(m.ih);
          return;
        case 'idle':
          return onIdle();
        case 'stats':
          proc.stats = m.stats;
          return;
        case 'stopped':
          proc.stats = m.stats;
          return onStopped(m.stats);
        case 'query':
          // The crawler's own send time: what it did, free of IPC delivery jitter.
          this.queries.push({ crawler: name, host: m.host, port: m.port, atMs: m.at });
          void dht
            .sampleInfohashes({ host: m.host, port: m.port }, Buffer.from(m.target, 'hex'))
            .then(
              (r) => {
                const reply: WireReply = {
                  id: toHex(r.id),
                  nodes: r.nodes.map((n) => ({ id: toHex(n.id), host: n.host, port: n.port })),
                  ...(r.supported ? { samples: r.samples.map(toHex), num: r.num, interval: r.interval } : {})
                };
                return { t: 'reply', id: m.id, reply } satisfies HostMessage;
              },
              (err: unknown) =>
                ({
                  t: 'error',
                  id: m.id,
                  message: err instanceof Error ? err.message : String(err),
                  remote: err instanceof RemoteError
                }) satisfies HostMessage
            )
            .then((out) => {
              // The child may have died meanwhile (the crash in the test): drop the reply.
              if (child.connected) child.send(out, (err) => void err);
            });
          return;
      }
    });
    return proc;
  }

  /** Stop driving the network, kill leftover children, free everything. */
  async destroy(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    this.running = false;
    await this.driver;
    await Promise.all(this.clients.map((d) => d.destroy()));
    await this.net.destroy();
  }

  /** Advance virtual time with the wall clock, in small steps. */
  private async drive(): Promise<void> {
    let last = performance.now();
    while (this.running) {
      await new Promise((r) => setTimeout(r, 5));
      const now = performance.now();
      await this.net.network.runFor(Math.max(1, Math.round(now - last)));
      last = now;
    }
  }
}
