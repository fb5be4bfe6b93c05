/**
 * Our engine's side of the engine benchmark: a child process driven over stdin/stdout with the
 * same line protocol as bench/lib/lt-bench.py (libtorrent), so bench/engine-bench.ts runs both
 * the same way. Everything on 127.0.0.1, no DHT (noDht): peers are given explicitly.
 *
 *   node dist/bench/engine-peer.js <role> [--flags]
 *
 * Roles:
 *  - seed      --torrent F --save-path DIR [--upload-limit B/s]: seeds F from DIR (trusted, no
 *              check). Commands: mark (CPU baseline) -> {event:'marked'}; report ->
 *              {event:'report', cpu, uploaded, maxRssKiB}.
 *  - download  --torrent F --save-path DIR --peer H:P [--storage fs|memory]: command go ->
 *              addPeer; emits {event:'done', seconds (TCP connected -> complete, i.e. every
 *              piece verified and flushed), sinceGo, cpu (CPU seconds since go), bytes}.
 *  - swarm     --torrent F --data DIR --work DIR --n N --u-s B/s --u-i B/s [--storage fs|memory]
 *              [--ids 0,2,4]: 1 seed + N downloaders (one Swarm each, caps enforced by each
 *              engine's upload limit), or only the peer ids listed (0 = seed) when the swarm is
 *              spread over several processes. ready carries {ports: {id: port}}. go [JSON of
 *              every id's port] -> downloader i dials the seed and downloaders j < i; emits
 *              {event:'peer-done', i, seconds} and, once its downloaders are done,
 *              {event:'finished', seconds, perPeer, seedUploaded, uploaded, cpu, explain}
 *              (explain: what explains the CPU, see roleSwarm); report ->
 *              {event:'report', uploaded: {id: bytes}, cpu} (CPU seconds since go). With `--trace 1`, also {event:'trace', t, seedUp,
 *              have[], up[]} once a second.
 *  - fetch     command `fetch <infohash-hex> <host:port>` -> a Swarm from the magnet link alone,
 *              {event:'metadata', ms (TCP connected -> metadata verified), sinceAdd, infoBytes}.
 * seed and download take `--transport utp` to speak uTP instead of TCP (bench/lib/utp-peers.ts).
 * Every role first emits {event:'ready', port}; `quit` or stdin EOF ends the process.
 * `--engine-options JSON` passes extra BitTorrentEngineOptions (experiments, e.g.
 * '{"hashInThreadPool":true}').
 */
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connectTcp, MemoryStorage, type BitTorrentEngineOptions } from '../lib/engine/index.js';
import { parseHostPort, parseTorrentFile, Swarm, type Address, type TorrentInfo } from '../lib/index.js';
import { ProcessCounters } from './lib/process-counters.js';
import { utpPeers, type UtpPeers } from './lib/utp-peers.js';

type Args = Record<string, string>;

function parseArgs(argv: string[]): { role: string; args: Args } {
  const [role = '', ...rest] = argv;
  const args: Args = {};
  for (let i = 0; i < rest.length; i++) {
    const k = rest[i]!;
    if (!k.startsWith('--')) throw new Error(`unexpected argument ${k}`);
    const v = rest[i + 1];
    if (v === undefined || v.startsWith('--')) {
      args[k.slice(2)] = '1'; // a bare flag (e.g. --seed-mode)
    } else {
      args[k.slice(2)] = v;
      i++;
    }
  }
  return { role, args };
}

function emit(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const maxRssKiB = (): number => process.resourceUsage().maxRSS;

/**
 * Where the main thread (the event loop) spent its time, from /proc/self/task/<pid>/schedstat
 * (Linux): on a CPU, runnable but waiting for one (the machine's other jobs), or asleep
 * (waiting for I/O: idle). Plus the CPU seconds of all other threads (libuv's pool: fs,
 * WebCrypto; V8's GC helpers) from /proc/self/task/<tid>/stat. Tells whether the event loop
 * itself is the bottleneck, or the shared machine.
 */
interface ThreadTimes {
  mainOnCpu: number;
  mainRunqueue: number;
  others: number;
  /** Of `others`: all but libuv's pool (V8's platform workers, which run JIT and GC, and Node's). */
  helpers: number;
}
/**
 * libuv's pool (file I/O) is the `UV_THREADPOOL_SIZE` threads started last: Node starts its own
 * and V8's threads at start-up, libuv its pool on the first file operation after them. Node 20
 * names none of them, so their order (thread ids) is what tells them apart.
 */
const POOL_THREADS = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
function threadTimes(): ThreadTimes {
  let others = 0;
  let helpers = 0;
  let mainOnCpu = NaN;
  let mainRunqueue = NaN;
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8')
      .split(' ')
      .map(Number);
    mainOnCpu = run! / 1e9;
    mainRunqueue = wait! / 1e9;
    const tids = readdirSync('/proc/self/task')
      .map(Number)
      .filter((t) => t !== process.pid)
      .sort((x, y) => x - y);
    tids.forEach((tid, k) => {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const cpu = (Number(fields[11]) + Number(fields[12])) / 100;
      others += cpu;
      if (k < tids.length - POOL_THREADS) helpers += cpu;
    });
  } catch {
    others = NaN;
  }
  return { mainOnCpu, mainRunqueue, others, helpers };
}
const threadDelta = (
  a: ThreadTimes
): { mainCpu: number; mainRunqueue: number; otherThreadsCpu: number; v8HelpersCpu: number } => {
  const b = threadTimes();
  return {
    mainCpu: b.mainOnCpu - a.mainOnCpu,
    mainRunqueue: b.mainRunqueue - a.mainRunqueue,
    otherThreadsCpu: b.others - a.others,
    v8HelpersCpu: b.helpers - a.helpers
  };
};

const now = (): number => performance.now() / 1000;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

const HOST = '127.0.0.1';

function loadTorrent(path: string): TorrentInfo {
  return parseTorrentFile(readFileSync(path)).info;
}

function extraOptions(args: Args): Partial<BitTorrentEngineOptions> {
  return args['engine-options']
    ? (JSON.parse(args['engine-options']) as Partial<BitTorrentEngineOptions>)
    : {};
}

/** What our uTP socket sent, resent and received (its whole life: one transfer per process). */
function utpStats(utp: UtpPeers): Record<string, number> {
  const st = utp.socket.stats;
  return {
    utpPacketsOut: st.packetsOut,
    utpRetransmits: st.retransmits,
    utpTimeouts: st.timeouts,
    utpFastRetransmits: st.fastRetransmits,
    utpLateLosses: st.lateLosses,
    utpProbes: st.probes,
    utpAcksOut: st.acksOut,
    utpPacketsIn: st.packetsIn,
    utpDuplicatesIn: st.duplicates,
    utpOutOfOrderIn: st.outOfOrder
  };
}

/** `--transport utp`: our uTP socket for the role, else undefined (TCP). */
async function transport(args: Args): Promise<UtpPeers | undefined> {
  const t = args['transport'] ?? 'tcp';
  if (t !== 'tcp' && t !== 'utp') throw new Error(`unknown transport ${t}`);
  return t === 'utp' ? utpPeers(HOST) : undefined;
}

/**
 * A connector that records when the connection is established (the timing origin). TCP dials
 * read into the shared buffer, as the engine's own plaintext dials do (connect-peer.ts).
 */
function timedConnect(
  onConnected: (at: number) => void,
  utp?: UtpPeers
): NonNullable<BitTorrentEngineOptions['connect']> {
  return async (address, opts) => {
    const stream = utp
      ? await utp.connect(address, opts)
      : await connectTcp(address, { ...opts, reuseReadBuffer: true });
    onConnected(now());
    return stream;
  };
}

/** Commands from stdin; EOF or `quit` calls `onEnd` once. */
function commands(handler: (parts: string[]) => void | Promise<void>, onEnd: () => Promise<void>): void {
  const rl = createInterface({ input: process.stdin });
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    rl.close();
    void onEnd().finally(() => {
      emit('exit');
      process.exit(0);
    });
  };
  rl.on('line', (line) => {
    const parts = line.trim().split(/\s+/).filter(Boolean);
    if (parts.length === 0) return;
    if (parts[0] === 'quit') return end();
    Promise.resolve()
      .then(() => handler(parts))
      .catch((err: unknown) => emit('error', { message: `${line}: ${(err as Error).message}` }));
  });
  rl.on('close', end);
  const max = Number(process.env.ENGINE_PEER_MAX_SECONDS ?? 900);
  setTimeout(end, max * 1000).unref();
}

async function roleSeed(args: Args): Promise<void> {
  const info = loadTorrent(args['torrent']!);
  const uploadLimit = Number(args['upload-limit'] ?? 0);
  const utp = await transport(args);
  const swarm = await Swarm.create({
    torrent: info,
    outDir: args['save-path']!,
    existing: 'complete',
    seed: true,
    noDht: true,
    listen: utp?.listener ?? { host: HOST, port: 0 },
    ...(uploadLimit > 0 ? { uploadLimit } : {}),
    engineOptions: { resume: false, ...extraOptions(args) }
  });
  swarm.on('warning', (e) => emit('warning', { message: e.message }));
  emit('ready', { port: swarm.port });
  let mark = { cpu: cpuSeconds(), up: 0, threads: threadTimes() };
  commands(
    (parts) => {
      if (parts[0] === 'mark') {
        mark = { cpu: cpuSeconds(), up: swarm.progress().uploaded, threads: threadTimes() };
        emit('marked');
      } else if (parts[0] === 'report') {
        emit('report', {
          cpu: cpuSeconds() - mark.cpu,
          uploaded: swarm.progress().uploaded - mark.up,
          maxRssKiB: maxRssKiB(),
          ...threadDelta(mark.threads),
          ...(utp ? utpStats(utp) : {})
        });
      } else throw new Error('unknown command');
    },
    async () => {
      await swarm.destroy();
      await utp?.close();
    }
  );
}

async function roleDownload(args: Args): Promise<void> {
  const info = loadTorrent(args['torrent']!);
  const peer = parseHostPort(args['peer']!);
  let connectedAt: number | undefined;
  const memory = args['storage'] === 'memory';
  const utp = await transport(args);
  const swarm = await Swarm.create({
    torrent: info,
    ...(memory ? { storage: (i: TorrentInfo) => new MemoryStorage(i) } : { outDir: args['save-path']! }),
    existing: 'none',
    seed: true,
    noDht: true,
    listen: utp?.listener ?? { host: HOST, port: 0 },
    engineOptions: {
      resume: false,
      connect: timedConnect((t) => (connectedAt ??= t), utp),
      ...extraOptions(args)
    }
  });
  swarm.on('warning', (e) => emit('warning', { message: e.message }));
  emit('ready', { port: swarm.port });
  commands(
    async (parts) => {
      if (parts[0] !== 'go') throw new Error('unknown command');
      const cpu0 = cpuSeconds();
      const threads0 = threadTimes();
      const go = now();
      swarm.addPeer(peer);
      await swarm.done();
      const t = now();
      emit('done', {
        seconds: t - (connectedAt ?? go),
        sinceGo: t - go,
        cpu: cpuSeconds() - cpu0,
        ...threadDelta(threads0),
        bytes: swarm.progress().downloaded,
        maxRssKiB: maxRssKiB(),
        ...(utp ? utpStats(utp) : {})
      });
    },
    async () => {
      await swarm.destroy();
      await utp?.close();
    }
  );
}

async function roleSwarm(args: Args): Promise<void> {
  const info = loadTorrent(args['torrent']!);
  const n = Number(args['n']);
  const uS = Number(args['u-s']);
  const uI = Number(args['u-i']);
  const memory = args['storage'] === 'memory';
  const extra = extraOptions(args);
  // Peer ids this process hosts (0 = the seed): all of them, or a share (--ids, multi-process).
  const ids = args['ids'] ? args['ids'].split(',').map(Number) : Array.from({ length: n + 1 }, (_, i) => i);
  const swarms = new Map<number, Swarm>();
  const destroyAll = async (): Promise<void> => {
    await Promise.all([...swarms.values()].map((s) => s.destroy()));
  };
  try {
    for (const i of ids) {
      const dir = join(args['work']!, `peer${i}`);
      if (i > 0) await fsp.mkdir(dir, { recursive: true });
      const storage =
        i === 0
          ? { outDir: args['data']!, existing: 'complete' as const }
          : memory
            ? { storage: (x: TorrentInfo) => new MemoryStorage(x), existing: 'none' as const }
            : { outDir: dir, existing: 'none' as const };
      swarms.set(
        i,
        await Swarm.create({
          torrent: info,
          ...storage,
          seed: true,
          noDht: true,
          listen: { host: HOST, port: 0 },
          // TCP only, like the libtorrent swarm it is compared with (lt-bench.py runs TCP only):
          // with the library's default (uTP first) our peers spoke uTP to each other.
          utp: false,
          transport: 'tcp',
          uploadLimit: i === 0 ? uS : uI,
          engineOptions: { resume: false, ...extra }
        })
      );
    }
  } catch (err) {
    await destroyAll();
    throw err;
  }
  for (const [i, s] of swarms)
    s.on('warning', (e) => emit('warning', { message: `peer ${i}: ${e.message}` }));
  const ports = Object.fromEntries([...swarms].map(([i, s]) => [i, s.port!]));
  emit('ready', { port: swarms.get(0)?.port ?? 0, ports });
  let cpu0 = 0;
  let go = 0;
  let threads0 = threadTimes();
  let elu0 = performance.eventLoopUtilization();
  const counters = new ProcessCounters();
  const downloaders = [...swarms].filter(([i]) => i > 0);
  commands(async (parts) => {
    if (parts[0] === 'report') {
      // Multi-process mode: asked once every process is done (the seed keeps serving until then).
      emit('report', {
        uploaded: Object.fromEntries([...swarms].map(([i, s]) => [i, s.progress().uploaded])),
        cpu: cpuSeconds() - cpu0
      });
      return;
    }
    if (parts[0] !== 'go') throw new Error('unknown command');
    cpu0 = cpuSeconds();
    threads0 = threadTimes();
    elu0 = performance.eventLoopUtilization();
    counters.start();
    go = now();
    // `go [{"id": port, ...}]`: every peer's port (multi-process); default: ours.
    const all = parts[1] ? (JSON.parse(parts[1]) as Record<string, number>) : ports;
    const address = (id: number): Address => ({ host: HOST, port: all[id]! });
    const perPeer = new Map<number, number>();
    const finished = downloaders.map(([i, s]) =>
      s.done().then(() => {
        perPeer.set(i, now() - go);
        emit('peer-done', { i, seconds: perPeer.get(i) });
      })
    );
    // --trace: once a second, the seed's upload and every local downloader's verified bytes.
    const trace = args['trace']
      ? setInterval(() => {
          emit('trace', {
            t: round3(now() - go),
            seedUp: swarms.get(0)?.progress().uploaded ?? 0,
            have: downloaders.map(([, s]) => s.progress().verifiedBytes),
            up: downloaders.map(([, s]) => s.progress().uploaded)
          });
        }, 1000)
      : undefined;
    // Downloader i dials the seed and every downloader j < i: each pair connects once.
    for (const [i, s] of downloaders) {
      s.addPeer(address(0));
      for (let j = 1; j < i; j++) s.addPeer(address(j));
    }
    await Promise.all(finished);
    clearInterval(trace);
    const uploaded = Object.fromEntries([...swarms].map(([i, s]) => [i, s.progress().uploaded]));
    const cpu = cpuSeconds() - cpu0;
    // What explains the CPU (compared across reps): the main thread's and the other threads'
    // (JIT, GC helpers, libuv pool) share, system calls and bytes, faults, GC pauses, and the
    // payload received beyond one copy of the file per downloader (duplicates, discarded).
    const received = downloaders.reduce((sum, [, s]) => sum + s.progress().downloaded, 0);
    const explain = {
      ...threadDelta(threads0),
      elu: performance.eventLoopUtilization(elu0).utilization,
      ...counters.read(),
      payloadUp: Object.values(uploaded).reduce((a, b) => a + b, 0),
      payloadDown: received,
      payloadExtra: received - downloaders.length * info.length,
      peersAtEnd: [...swarms.values()].reduce((sum, s) => sum + s.engine.progress().peers, 0)
    };
    counters.stop();
    emit('finished', {
      explain,
      seconds: Math.max(...perPeer.values()),
      perPeer: [...perPeer].sort((x, y) => x[0] - y[0]).map(([, t]) => t),
      seedUploaded: uploaded[0] ?? 0,
      uploaded,
      length: info.length,
      cpu,
      maxRssKiB: maxRssKiB()
    });
  }, destroyAll);
}

async function roleFetch(args: Args): Promise<void> {
  emit('ready', { port: 0 });
  let busy = false;
  commands(
    async (parts) => {
      if (parts[0] !== 'fetch') throw new Error('unknown command');
      if (busy) throw new Error('a fetch is already running');
      busy = true;
      const [, ih, hostPort] = parts as [string, string, string];
      let connectedAt: number | undefined;
      let metadataAt: number | undefined;
      const added = now();
      const swarm = await Swarm.create({
        magnet: `magnet:?xt=urn:btih:${ih}`,
        storage: (i: TorrentInfo) => new MemoryStorage(i),
        noDht: true,
        listen: { host: HOST, port: 0 },
        engineOptions: {
          resume: false,
          connect: timedConnect((t) => (connectedAt ??= t)),
          ...extraOptions(args)
        }
      });
      try {
        // Timed in the event itself (emitted once the info dictionary is verified and parsed);
        // the download it would start next is cut short by destroy().
        swarm.on('metadata', () => (metadataAt ??= now()));
        swarm.addPeer(parseHostPort(hostPort));
        const info = await swarm.metadata({ signal: AbortSignal.timeout(60_000) });
        const t = metadataAt ?? now();
        emit('metadata', {
          ih,
          ms: (t - (connectedAt ?? added)) * 1000,
          sinceAdd: (t - added) * 1000,
          infoBytes: info.infoBytes.length
        });
      } finally {
        await swarm.destroy();
        busy = false;
      }
    },
    async () => {}
  );
}

async function main(): Promise<void> {
  const { role, args } = parseArgs(process.argv.slice(2));
  const roles: Record<string, (a: Args) => Promise<void>> = {
    seed: roleSeed,
    download: roleDownload,
    swarm: roleSwarm,
    fetch: roleFetch
  };
  const run = roles[role];
  if (!run) throw new Error(`unknown role ${role}`);
  await run(args);
}

main().catch((err: unknown) => {
  emit('fatal', { message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  process.exit(1);
});
