/**
 * One crawler process for the multi-crawler test and benchmark (sim-crawl-host.ts): the real
 * Crawler with a real database store (PostgreSQL or SQLite), whose sample_infohashes queries
 * are carried over the IPC channel to the host, which sends them into its simulated DHT and
 * returns the replies. Everything else (politeness, sharding, persistence, claims) is the
 * production code path of `trackerless crawl`.
 *
 *   node dist/bench/lib/sim-crawl-child.js <db> <shards> <rate> <perIpRate> <host:port,...>
 *
 * SIM_CRAWL_RESOLVE_MS=n adds a stand-in resolver answering after n ms with made-up metadata
 * (the simulated DHT has no BitTorrent peers): it exercises the claim pipeline, not ut_metadata.
 *
 * Messages out: {t:'ready', shard}, {t:'query', id, host, port, target}, {t:'infohash', ih},
 * {t:'idle'}, {t:'stats', stats}, {t:'stopped', stats}. In: {t:'reply', id, reply},
 * {t:'error', id, message, remote}, {t:'stop'}.
 */
import { Crawler } from '../../lib/crawler/crawler.js';
import { openStore } from '../../lib/crawler/store/open-store.js';
import type { MetadataResolver, SampleReply } from '../../lib/crawler/types.js';
import { RemoteError, TimeoutError } from '../../lib/errors.js';

export type HostMessage =
  | { t: 'reply'; id: number; reply: WireReply }
  | { t: 'error'; id: number; message: string; remote: boolean }
  | { t: 'stop' };

export type ChildMessage =
  | { t: 'ready'; shard: number }
  | { t: 'query'; id: number; host: string; port: number; target: string; at: number }
  | { t: 'infohash'; ih: string }
  | { t: 'idle' }
  | { t: 'stats'; stats: ReturnType<Crawler['stats']> }
  | { t: 'stopped'; stats: ReturnType<Crawler['stats']> };

/** A SampleReply in JSON: byte strings as hex. */
export interface WireReply {
  id: string;
  samples?: string[];
  num?: number;
  interval?: number;
  nodes: Array<{ id: string; host: string; port: number }>;
}

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

function fromWire(r: WireReply): SampleReply {
  return {
    id: hex(r.id),
    nodes: r.nodes.map((n) => ({ id: hex(n.id), host: n.host, port: n.port })),
    ...(r.samples ? { samples: r.samples.map(hex), num: r.num!, interval: r.interval! } : {})
  };
}

async function main(): Promise<void> {
  const [db, shards, rate, perIpRate, bootstrap] = process.argv.slice(2);
  // The host may close the channel first (it stopped or died): drop late messages then,
  // rather than crash the child with ERR_IPC_CHANNEL_CLOSED.
  const send = (m: ChildMessage): void => {
    if (process.connected) process.send!(m);
  };
  const store = await openStore(db!, { shards: Number(shards) });
  const resolveMs = Number(process.env.SIM_CRAWL_RESOLVE_MS ?? 0);
  const resolver: MetadataResolver | null =
    resolveMs > 0
      ? {
          resolve: (ih, signal) =>
            new Promise((resolve) => {
              const t = setTimeout(() => {
                const name = `torrent ${Buffer.from(ih).toString('hex').slice(0, 8)}`;
                resolve({ name, size: 1000, files: [{ path: `${name}/file.bin`, size: 1000 }] });
              }, resolveMs);
              signal.addEventListener('abort', () => {
                clearTimeout(t);
                resolve(null);
              });
            })
        }
      : null;
  const pending = new Map<number, { resolve: (r: SampleReply) => void; reject: (e: Error) => void }>();
  let next = 0;
  const crawler = new Crawler({
    store,
    shard: store.shard,
    queriesPerSecond: Number(rate),
    perIpQueriesPerSecond: Number(perIpRate),
    bootstrap: bootstrap!.split(',').map((a) => {
      const i = a.lastIndexOf(':');
      return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
    }),
    flushIntervalMs: 250,
    stateSaveIntervalMs: 250,
    idleRetryMs: 2_000,
    ...(resolver ? { resolver, resolveConcurrency: 8 } : {}),
    query: (node, target, signal) =>
      new Promise<SampleReply>((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        signal.addEventListener('abort', () => {
          if (pending.delete(id)) reject(new TimeoutError('query aborted'));
        });
        send({
          t: 'query',
          id,
          host: node.host,
          port: node.port,
          target: Buffer.from(target).toString('hex'),
          at: Date.now()
        });
      })
  });
  crawler.on('infohash', (ih) => send({ t: 'infohash', ih: Buffer.from(ih).toString('hex') }));
  crawler.on('idle', () => send({ t: 'idle' }));
  crawler.on('warning', (err) => process.stderr.write(`warning: ${err.message}\n`));
  process.on('message', (m: HostMessage) => {
    if (m.t === 'stop') {
      void (async () => {
        await crawler.stop();
        await store.close();
        send({ t: 'stopped', stats: crawler.stats() });
        process.disconnect();
      })();
      return;
    }
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.t === 'reply') p.resolve(fromWire(m.reply));
    else p.reject(m.remote ? new RemoteError(204, m.message) : new TimeoutError(m.message));
  });
  const timer = setInterval(() => send({ t: 'stats', stats: crawler.stats() }), 500);
  timer.unref();
  await crawler.start();
  send({ t: 'ready', shard: store.shard.index });
}

main().catch((err: unknown) => {
  process.stderr.write(`sim-crawl-child: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
