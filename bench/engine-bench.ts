/**
 * Engine benchmark: our piece-exchange engine vs libtorrent 2.0 (python3-libtorrent), side by
 * side in one run, interleaved repetitions, medians and ratios ours/anchor.
 *
 *   npm run build && node dist/bench/engine-bench.js --all            # everything (~25 min here)
 *   node dist/bench/engine-bench.js --transfer [--size 512] [--reps 3]
 *   node dist/bench/engine-bench.js --swarm [--swarm-n 8,16] [--swarm-cases a,b] [--swarm-size 64]
 *   node dist/bench/engine-bench.js --metadata [--meta-sizes 20k,320k,5m] [--meta-reps 7]
 *   node dist/bench/engine-bench.js --chart [--chart-n 2,4,8,16,32] [--chart-size 16]
 *   node dist/bench/engine-bench.js --transfer --size 64 --reps 1       # quick smoke run
 *
 * Sub-benchmarks (opt-in flags; every peer is a child process speaking one line protocol:
 * ours = dist/bench/engine-peer.js, libtorrent = bench/lib/lt-bench.py):
 *  --transfer  one seeder -> one downloader over loopback TCP (127.0.0.1; uTP with
 *              --transport utp, libtorrent then uTP only), a random file of
 *              --size MiB: ours->ours, lt->lt, lt->ours, ours->lt; MiB/s from the downloader's
 *              TCP connect to completion (every piece verified and stored), and CPU seconds per
 *              GiB of each process (ours: process.cpuUsage, libtorrent: os.times, all threads).
 *  --swarm     1 seed + N downloaders, F = --swarm-size MiB, upload caps (a) u_s = 4, u_i = 2
 *              MiB/s, (b) u_s = u_i = 2 MiB/s; distribution time (go -> last downloader done)
 *              / D_p2p, and how many times the seed sent the file (seed upload / F).
 *  --metadata  magnet -> metadata from one libtorrent seeder, info dictionaries of ~20 KiB,
 *              ~320 KiB and ~5 MiB; ms from TCP connect to verified metadata: our downloader
 *              vs libtorrent's.
 *  --chart     distribution time against N (caps (b), F = --chart-size MiB) with the D_p2p and
 *              D_cs bounds, written as an SVG (--svg, default docs/swarm-distribution.svg).
 *
 * Other flags: --reps R (transfer, 3), --swarm-reps R (3), --chart-reps R (2), --meta-reps R (7),
 * --storage fs|memory (our downloaders' storage, default fs), --ours-procs K (spread our swarm's
 * peers over K processes; default 1, like libtorrent's one process), --swarm-impls ours,lt,
 * --chart-impls ours,ours@2,lt (ours@K: our swarm in K processes), --trace-dir DIR (1 s
 * progress traces of every swarm), --prof-ours DIR (node --cpu-prof for our children),
 * --engine-options JSON (extra BitTorrentEngineOptions for ours), --tmp DIR, --json FILE,
 * --replot FILE (redraw the SVG from the --json of an earlier --chart run; measures nothing).
 *
 * Fairness: libtorrent's seeders check their data before the clock starts (no seed mode:
 * bench/lib/lt-bench.py), and after every rep each downloader's file is compared with the
 * source (length + SHA-1 of the whole file, bench/lib/output-check.ts); a mismatch ends the
 * run. Swarm caps count (nearly) the same bytes on both sides: libtorrent's estimate of TCP/IP
 * headers is off (rate_limit_ip_overhead), so it charges payload + BitTorrent message framing
 * (13 bytes per 16 KiB block, HAVEs: < 0.2 %), ours the block payload.
 *
 * Files live in --tmp (default /dev/shm, a tmpfs: the disk is not what is measured; our
 * FsStorage fsyncs at completion, libtorrent does not, and on tmpfs that costs neither).
 * Prints tables and, last, `BENCH_JSON {...}` (full results with --json FILE).
 */
import { existsSync, mkdirSync, promises as fsp, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dCS, dP2P, type Rates } from './lib/bounds.js';
import { makeFileTorrent, makeZeroTorrent, type BenchTorrent } from './lib/content.js';
import { checkOutput } from './lib/output-check.js';
import { IMPL_NAMES, libtorrentProblem, PeerProcess, type Impl } from './lib/peer-process.js';
import { fmt, median, ratio, round, table } from './lib/stats.js';
import { lineChart, logTicks, type Series } from './lib/svg-chart.js';
import { argvReader } from './lib/argv.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const HOST = '127.0.0.1';

export type CaseName = 'a' | 'b';
const CASES: Record<CaseName, Rates & { label: string; target: number; ltIssue: [number, number] }> = {
  a: {
    uS: 4 * MiB,
    uI: 2 * MiB,
    label: '(a) u_s = 4 MiB/s, u_i = 2 MiB/s',
    target: 1.1,
    ltIssue: [1.32, 1.19]
  },
  b: { uS: 2 * MiB, uI: 2 * MiB, label: '(b) u_s = u_i = 2 MiB/s', target: 1.15, ltIssue: [1.77, 1.58] }
};

export interface Options {
  transfer: boolean;
  transport: 'tcp' | 'utp';
  /** Transfer pairs to run (seeder, downloader), e.g. `--pairs ours-lt,lt-lt`; default all four. */
  pairs: Array<[Impl, Impl]>;
  swarm: boolean;
  metadata: boolean;
  chart: boolean;
  sizeMiB: number;
  reps: number;
  storage: 'fs' | 'memory';
  swarmSizeMiB: number;
  swarmN: number[];
  swarmCases: CaseName[];
  swarmReps: number;
  swarmImpls: Impl[];
  chartN: number[];
  chartSizeMiB: number;
  chartReps: number;
  chartImpls: Variant[];
  oursProcs: number;
  metaSizes: number[];
  metaReps: number;
  tmp: string;
  svg: string;
  json: string | null;
  engineOptions: string | null;
  profDir: string | null;
  traceDir: string | null;
  replot: string | null;
}

/** An implementation, and for ours how many processes host the swarm's peers ('ours@2'). */
export interface Variant {
  impl: Impl;
  procs: number;
  key: string;
}

function parseVariant(s: string): Variant {
  const m = /^(ours|lt)(?:@(\d+))?$/.exec(s.trim());
  if (!m) throw new Error(`bad implementation ${s} (ours, ours@K, lt)`);
  const impl = m[1] as Impl;
  const procs = impl === 'ours' && m[2] ? Number(m[2]) : 1;
  return { impl, procs, key: procs > 1 ? `${impl}@${procs}` : impl };
}

const variantName = (v: Variant): string =>
  v.procs > 1 ? `${IMPL_NAMES[v.impl]}, ${v.procs} processes` : IMPL_NAMES[v.impl];

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.trim());
  if (!m) throw new Error(`bad size ${s} (e.g. 20k, 5m)`);
  const unit = m[2]!.toLowerCase() === 'k' ? 1024 : m[2]!.toLowerCase() === 'm' ? MiB : 1;
  return Math.round(Number(m[1]) * unit);
}

export function parseOptions(argv: string[]): Options {
  const { flag, value, num } = argvReader(argv);
  const list = (name: string, dflt: string): number[] =>
    (value(name) ?? dflt)
      .split(',')
      .map(Number)
      .filter((n) => n > 0);
  const all = flag('all');
  const defaultSvg = fileURLToPath(new URL('../../docs/swarm-distribution.svg', import.meta.url));
  return {
    transfer: all || flag('transfer'),
    transport: value('transport') === 'utp' ? 'utp' : 'tcp',
    pairs: parsePairs(value('pairs')),
    swarm: all || flag('swarm'),
    metadata: all || flag('metadata'),
    chart: all || flag('chart'),
    sizeMiB: num('size', 512),
    reps: num('reps', 3),
    storage: value('storage') === 'memory' ? 'memory' : 'fs',
    swarmSizeMiB: num('swarm-size', 64),
    swarmN: list('swarm-n', '8,16'),
    swarmCases: (value('swarm-cases') ?? 'a,b')
      .split(',')
      .filter((c): c is CaseName => c === 'a' || c === 'b'),
    swarmReps: num('swarm-reps', 3),
    swarmImpls: (value('swarm-impls') ?? 'ours,lt')
      .split(',')
      .filter((c): c is Impl => c === 'ours' || c === 'lt'),
    chartN: list('chart-n', '2,4,8,16,32'),
    chartSizeMiB: num('chart-size', 16),
    chartReps: num('chart-reps', 2),
    chartImpls: (value('chart-impls') ?? 'ours,lt').split(',').map(parseVariant),
    oursProcs: num('ours-procs', 1),
    metaSizes: (value('meta-sizes') ?? '20k,320k,5m').split(',').map(parseSize),
    metaReps: num('meta-reps', 7),
    tmp: value('tmp') ?? (existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir()),
    svg: value('svg') ?? defaultSvg,
    json: value('json') ?? null,
    engineOptions: value('engine-options') ?? null,
    profDir: value('prof-ours') ?? null,
    traceDir: value('trace-dir') ?? null,
    replot: value('replot') ?? null
  };
}

const log = (s: string): void => console.log(s);
const mib = (bytes: number): string => `${fmt(bytes / MiB)} MiB`;

/** Every child started, so an interrupted run still kills them all. */
const live = new Set<PeerProcess>();

async function start(impl: Impl, role: string, args: string[], opts: Options): Promise<PeerProcess> {
  const extra = impl === 'ours' && opts.engineOptions ? ['--engine-options', opts.engineOptions] : [];
  const nodeFlags = impl === 'ours' && opts.profDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profDir] : [];
  const { proc } = await PeerProcess.start(impl, role, [...args, ...extra], { nodeFlags });
  live.add(proc);
  return proc;
}

async function stop(...procs: (PeerProcess | undefined)[]): Promise<void> {
  await Promise.all(
    procs.map(async (p) => {
      if (!p) return;
      await p.close();
      live.delete(p);
      const w = p.warnings();
      if (w.length > 0) log(`    (${p.label}: ${w.length} warnings, first: ${w[0]!.slice(0, 160)})`);
    })
  );
}

// --- 1. transfer -----------------------------------------------------------------------------

export interface TransferSample {
  seed: Impl;
  down: Impl;
  rep: number;
  mibps: number;
  seconds: number;
  sinceGo: number;
  downCpuPerGiB: number;
  seedCpuPerGiB: number;
  downMaxRssMiB: number;
  /** The downloaded file equals the source (false only for ours with --storage memory). */
  outputChecked: boolean;
  /** Ours only: CPU seconds of the event-loop thread and of the other threads. */
  downMainCpu?: number;
  downMainWait?: number;
  downOtherCpu?: number;
  seedMainCpu?: number;
  seedMainWait?: number;
  seedOtherCpu?: number;
  /** Ours over uTP: datagrams the seeder sent, how many were retransmissions, and timeouts. */
  seedUtp?: { packets: number; resent: number; timeouts: number };
}

/** "on CPU x %, waiting for a CPU y %" of the event-loop thread over `wall` seconds. */
const loopShare = (cpu: number, wait: number, wall: number): string =>
  `on CPU ${((100 * cpu) / wall).toFixed(0)} %, runnable ${((100 * wait) / wall).toFixed(0)} %`;

const PAIRS: Array<[Impl, Impl]> = [
  ['ours', 'ours'],
  ['lt', 'lt'],
  ['lt', 'ours'],
  ['ours', 'lt']
];
function parsePairs(v: string | undefined): Array<[Impl, Impl]> {
  if (v === undefined) return PAIRS;
  const pairs = PAIRS.filter(([s, d]) => v.split(',').includes(`${s}-${d}`));
  if (pairs.length === 0) throw new Error(`--pairs ${v}: expected some of ours-ours,lt-lt,lt-ours,ours-lt`);
  return pairs;
}
const pairName = (s: Impl, d: Impl): string =>
  `${s === 'ours' ? 'ours' : 'libtorrent'}->${d === 'ours' ? 'ours' : 'libtorrent'}`;

/** One timed transfer rep; throws unless the downloaded file equals the source. */
export async function transferOnce(
  t: BenchTorrent,
  seed: Impl,
  down: Impl,
  rep: number,
  dir: string,
  opts: Options
): Promise<TransferSample> {
  const out = join(dir, `down-${seed}-${down}-${rep}`);
  await fsp.mkdir(out, { recursive: true });
  let s: PeerProcess | undefined;
  let d: PeerProcess | undefined;
  try {
    const transport = ['--transport', opts.transport];
    s = await start(
      seed,
      'seed',
      ['--torrent', t.torrentPath, '--save-path', t.dataDir, '--host', HOST, ...transport],
      opts
    );
    const port = Number(s.events.find((e) => e.event === 'ready')!.port);
    const storage = down === 'ours' ? ['--storage', opts.storage] : [];
    d = await start(
      down,
      'download',
      [
        '--torrent',
        t.torrentPath,
        '--save-path',
        out,
        '--host',
        HOST,
        '--peer',
        `${HOST}:${port}`,
        ...storage,
        ...transport
      ],
      opts
    );
    await s.request('mark', 'marked', 10_000);
    const size = t.info.length;
    const done = await d.request('go', 'done', Math.max(120_000, (size / (2 * MiB)) * 1000));
    const report = await s.request('report', 'report', 10_000);
    const seconds = Number(done.seconds);
    if (Number(done.bytes) < size) throw new Error(`downloader reports ${done.bytes} bytes of ${size}`);
    // Both processes gone (their files closed and flushed), then the result is compared.
    await stop(d, s);
    d = s = undefined;
    const outputChecked = down === 'ours' && opts.storage === 'memory' ? false : true;
    if (outputChecked) await checkOutput(t.info, t.dataDir, out, `${pairName(seed, down)} rep ${rep + 1}`);
    return {
      outputChecked,
      seed,
      down,
      rep,
      mibps: size / MiB / seconds,
      seconds,
      sinceGo: Number(done.sinceGo),
      downCpuPerGiB: Number(done.cpu) / (size / GiB),
      seedCpuPerGiB: Number(report.cpu) / (size / GiB),
      downMaxRssMiB: Number(done.maxRssKiB) / 1024,
      ...(done.mainCpu !== undefined
        ? {
            downMainCpu: Number(done.mainCpu),
            downMainWait: Number(done.mainRunqueue),
            downOtherCpu: Number(done.otherThreadsCpu)
          }
        : {}),
      ...(report.utpPacketsOut !== undefined
        ? {
            seedUtp: {
              packets: Number(report.utpPacketsOut),
              resent: Number(report.utpRetransmits),
              timeouts: Number(report.utpTimeouts)
            }
          }
        : {}),
      ...(report.mainCpu !== undefined
        ? {
            seedMainCpu: Number(report.mainCpu),
            seedMainWait: Number(report.mainRunqueue),
            seedOtherCpu: Number(report.otherThreadsCpu)
          }
        : {})
    };
  } finally {
    await stop(d, s);
    await fsp.rm(out, { recursive: true, force: true });
  }
}

async function runTransfer(opts: Options, dir: string, summary: Record<string, unknown>): Promise<void> {
  const size = Math.round(opts.sizeMiB * MiB);
  log(
    `\n== 1. one seeder -> one downloader, ${mib(size)} over loopback ${opts.transport === 'utp' ? 'uTP' : 'TCP'}, ${opts.reps} reps interleaved (downloader storage: ours ${opts.storage}, libtorrent disk) ==`
  );
  const t0 = Date.now();
  const t = await makeFileTorrent(dir, 'transfer.bin', size);
  log(
    `  content + torrent: ${t.info.pieceCount} pieces of ${t.info.pieceLength / 1024} KiB (${((Date.now() - t0) / 1000).toFixed(1)} s)`
  );
  const samples: TransferSample[] = [];
  for (let rep = 0; rep < opts.reps; rep++) {
    const pairs = opts.pairs;
    for (let k = 0; k < pairs.length; k++) {
      const [seed, down] = pairs[(k + rep) % pairs.length]!;
      const r = await transferOnce(t, seed, down, rep, dir, opts);
      samples.push(r);
      log(
        `  rep ${rep + 1} ${pairName(seed, down).padEnd(24)} ${fmt(r.mibps).padStart(7)} MiB/s  (${r.seconds.toFixed(2)} s; ${r.sinceGo.toFixed(2)} s from go)  CPU/GiB: downloader ${r.downCpuPerGiB.toFixed(2)} s, seeder ${r.seedCpuPerGiB.toFixed(2)} s` +
          (r.downMainCpu !== undefined
            ? `; our downloader's event loop: ${loopShare(r.downMainCpu, r.downMainWait!, r.sinceGo)}`
            : '') +
          (r.seedMainCpu !== undefined
            ? `; our seeder's: ${loopShare(r.seedMainCpu, r.seedMainWait!, r.sinceGo)}`
            : '') +
          (r.seedUtp
            ? `; our seeder resent ${r.seedUtp.resent} of ${r.seedUtp.packets} datagrams (${fmt((100 * r.seedUtp.resent) / r.seedUtp.packets)} %, ${r.seedUtp.timeouts} timeouts)`
            : '') +
          (r.outputChecked ? '; output = source' : '; output NOT checked (memory storage)')
      );
    }
  }
  const rows: string[][] = [];
  const med = (seed: Impl, down: Impl, f: (s: TransferSample) => number): number =>
    median(samples.filter((s) => s.seed === seed && s.down === down).map(f));
  for (const [seed, down] of opts.pairs) {
    rows.push([
      pairName(seed, down),
      fmt(med(seed, down, (s) => s.mibps)),
      samples
        .filter((s) => s.seed === seed && s.down === down)
        .map((s) => fmt(s.mibps, 0))
        .join(', '),
      fmt(med(seed, down, (s) => s.downCpuPerGiB)),
      fmt(med(seed, down, (s) => s.seedCpuPerGiB)),
      fmt(
        med(seed, down, (s) => s.downMaxRssMiB),
        0
      )
    ]);
  }
  log(
    table(
      [
        'pair',
        'MiB/s (median)',
        'all reps',
        'downloader CPU s/GiB',
        'seeder CPU s/GiB',
        'downloader max RSS MiB'
      ],
      rows
    )
  );
  const oo = med('ours', 'ours', (s) => s.mibps);
  const ll = med('lt', 'lt', (s) => s.mibps);
  const ooCpu = med('ours', 'ours', (s) => s.downCpuPerGiB + s.seedCpuPerGiB);
  const llCpu = med('lt', 'lt', (s) => s.downCpuPerGiB + s.seedCpuPerGiB);
  const ratios = samples
    .filter((s) => s.seed === 'ours' && s.down === 'ours')
    .map((o) => {
      const l = samples.find((s) => s.seed === 'lt' && s.down === 'lt' && s.rep === o.rep);
      return l ? o.mibps / l.mibps : NaN;
    });
  // uTP (issue 12): >= 1.5x libtorrent's uTP; TCP: >= 1.2x.
  const target = opts.transport === 'utp' ? 1.5 : 1.2;
  log(
    `  ours->ours / libtorrent->libtorrent: throughput ${fmt(ratio(oo, ll))}x (per-rep ratios ${ratios.map((x) => fmt(x)).join(', ')}; target >= ${target}x: ${ratio(oo, ll) >= target ? 'met' : 'NOT met'}), ` +
      `CPU per GiB (seeder + downloader) ${fmt(ratio(ooCpu, llCpu))}x (target <= 1: ${ooCpu <= llCpu ? 'met' : 'NOT met'})`
  );
  summary.transfer = {
    transport: opts.transport,
    sizeBytes: size,
    pieceLength: t.info.pieceLength,
    storage: opts.storage,
    samples,
    medians: opts.pairs.map(([s, d]) => ({
      pair: pairName(s, d),
      mibps: round(med(s, d, (x) => x.mibps)),
      downCpuPerGiB: round(med(s, d, (x) => x.downCpuPerGiB)),
      seedCpuPerGiB: round(med(s, d, (x) => x.seedCpuPerGiB))
    })),
    throughputRatio: round(ratio(oo, ll)),
    cpuRatio: round(ratio(ooCpu, llCpu))
  };
  await fsp.rm(t.dataDir, { recursive: true, force: true });
}

// --- 2. swarm + 4. chart ---------------------------------------------------------------------

export interface SwarmSample {
  impl: Impl;
  n: number;
  caseName: CaseName | 'chart';
  rep: number;
  seconds: number;
  bound: number;
  ratio: number;
  seedSends: number;
  perPeer: number[];
  cpu: number;
  /** Processes hosting the swarm (ours may spread it: --ours-procs, chart 'ours@K'). */
  procs: number;
  variant: string;
  /** Every downloader's file equals the source (false only for ours with --storage memory). */
  outputChecked: boolean;
}

/** One swarm rep; throws unless every downloader's file equals the source. */
export async function swarmOnce(
  t: BenchTorrent,
  v: Variant,
  n: number,
  rates: Rates,
  caseName: CaseName | 'chart',
  rep: number,
  dir: string,
  opts: Options
): Promise<SwarmSample> {
  const impl = v.impl;
  const work = join(dir, `swarm-${v.key}-${n}-${rep}`);
  await fsp.mkdir(work, { recursive: true });
  const F = t.info.length;
  const bound = dP2P(F, n, rates);
  const timeoutMs = Math.round(bound * 4 * 1000 + 60_000);
  // Peer ids 0 (seed) .. n spread round-robin over the processes (ours only; never an empty share).
  const procs = impl === 'ours' ? Math.max(1, Math.min(v.procs, n)) : 1;
  const parts: PeerProcess[] = [];
  try {
    const args = [
      '--torrent',
      t.torrentPath,
      '--data',
      t.dataDir,
      '--work',
      work,
      '--n',
      String(n),
      '--u-s',
      String(rates.uS),
      '--u-i',
      String(rates.uI)
    ];
    if (impl === 'ours') args.push('--storage', opts.storage);
    if (opts.traceDir) args.push('--trace', '1');
    let seconds: number;
    let perPeer: number[];
    let seedUploaded: number;
    let cpu: number;
    if (procs === 1) {
      const p = await start(impl, 'swarm', args, opts);
      parts.push(p);
      const fin = await p.request('go', 'finished', timeoutMs);
      seconds = Number(fin.seconds);
      perPeer = fin.perPeer as number[];
      seedUploaded = Number(fin.seedUploaded);
      cpu = Number(fin.cpu);
    } else {
      for (let k = 0; k < procs; k++) {
        const ids: number[] = [];
        for (let id = k; id <= n; id += procs) ids.push(id);
        parts.push(await start(impl, 'swarm', [...args, '--ids', ids.join(',')], opts));
      }
      const ports: Record<string, number> = {};
      for (const p of parts)
        Object.assign(ports, p.events.find((e) => e.event === 'ready')!.ports as Record<string, number>);
      const from = parts.map((p) => p.events.length);
      const go = `go ${JSON.stringify(ports)}`;
      for (const p of parts) p.send(go); // back to back: each times from its own receipt of go
      const fins = await Promise.all(
        parts.map((p, k) => p.next((e) => e.event === 'finished', timeoutMs, 'finished', from[k]))
      );
      // Every process keeps serving until the last downloader anywhere is done: read the counts now.
      const reports = await Promise.all(parts.map((p) => p.request('report', 'report', 10_000)));
      seconds = Math.max(...fins.map((f) => Number(f.seconds)));
      perPeer = fins.flatMap((f) => f.perPeer as number[]);
      seedUploaded = Number((reports[0]!.uploaded as Record<string, number>)['0']);
      cpu = reports.reduce((sum, r) => sum + Number(r.cpu), 0);
    }
    if (opts.traceDir) {
      const trace = parts.flatMap((p, k) =>
        p.events
          .filter((e) => e.event === 'trace' || e.event === 'peer-done' || e.event === 'finished')
          .map((e) => ({ ...e, part: k }))
      );
      mkdirSync(opts.traceDir, { recursive: true });
      writeFileSync(
        join(opts.traceDir, `swarm-${caseName}-n${n}-${v.key}-rep${rep + 1}.json`),
        `${JSON.stringify(trace)}\n`
      );
    }
    // Every downloader's file against the source, once every process has exited.
    await stop(...parts.splice(0));
    const outputChecked = !(impl === 'ours' && opts.storage === 'memory');
    if (outputChecked)
      for (let i = 1; i <= n; i++)
        await checkOutput(t.info, t.dataDir, join(work, `peer${i}`), `${v.key} swarm N = ${n} peer ${i}`);
    return {
      outputChecked,
      impl,
      n,
      caseName,
      rep,
      seconds,
      bound,
      ratio: seconds / bound,
      seedSends: seedUploaded / F,
      perPeer: perPeer.map((x) => round(x)),
      cpu,
      procs,
      variant: v.key
    };
  } finally {
    await stop(...parts);
    await fsp.rm(work, { recursive: true, force: true });
  }
}

async function runSwarm(opts: Options, dir: string, summary: Record<string, unknown>): Promise<void> {
  const F = Math.round(opts.swarmSizeMiB * MiB);
  log(
    `\n== 2. swarm: 1 seed + N downloaders, F = ${mib(F)}, N = ${opts.swarmN.join(', ')}, ${opts.swarmReps} reps interleaved; ours in ${opts.oursProcs} process(es), libtorrent in 1 ==`
  );
  const t = await makeFileTorrent(dir, 'swarm.bin', F);
  log(`  torrent: ${t.info.pieceCount} pieces of ${t.info.pieceLength / 1024} KiB`);
  const samples: SwarmSample[] = [];
  for (const c of opts.swarmCases) {
    const rates = CASES[c];
    for (const n of opts.swarmN) {
      log(
        `  ${rates.label}, N = ${n}: D_p2p = ${fmt(dP2P(F, n, rates))} s, D_cs = ${fmt(dCS(F, n, rates))} s`
      );
      for (let rep = 0; rep < opts.swarmReps; rep++) {
        for (const impl of rep % 2 === 0 ? opts.swarmImpls : [...opts.swarmImpls].reverse()) {
          const v: Variant = { impl, procs: impl === 'ours' ? opts.oursProcs : 1, key: impl };
          const s = await swarmOnce(t, v, n, rates, c, rep, dir, opts);
          samples.push(s);
          log(
            `    rep ${rep + 1} ${variantName(v).padEnd(11)} ${s.seconds.toFixed(1)} s = ${s.ratio.toFixed(3)} x D_p2p; seed sent the file ${s.seedSends.toFixed(2)} times; CPU ${s.cpu.toFixed(1)} s${s.outputChecked ? '; outputs = source' : '; outputs NOT checked (memory storage)'}`
          );
        }
      }
    }
  }
  const rows: string[][] = [];
  const table2: Record<string, unknown>[] = [];
  for (const c of opts.swarmCases) {
    for (const n of opts.swarmN) {
      const pick = (impl: Impl): SwarmSample[] =>
        samples.filter((s) => s.impl === impl && s.n === n && s.caseName === c);
      const o = pick('ours');
      const a = pick('lt');
      const oR = median(o.map((s) => s.ratio));
      const aR = median(a.map((s) => s.ratio));
      const target = CASES[c].target;
      rows.push([
        CASES[c].label,
        String(n),
        fmt(o[0]?.bound ?? NaN),
        `${fmt(median(o.map((s) => s.seconds)))} (${fmt(oR, 3)})`,
        `${fmt(median(a.map((s) => s.seconds)))} (${fmt(aR, 3)})`,
        fmt(ratio(oR, aR), 3),
        fmt(median(o.map((s) => s.seedSends))),
        fmt(median(a.map((s) => s.seedSends))),
        `<= ${target}: ${oR <= target ? 'met' : 'NOT met'}`
      ]);
      table2.push({
        case: c,
        n,
        bound: round(o[0]?.bound ?? NaN),
        oursRatio: round(oR),
        ltRatio: round(aR),
        oursSeedSends: round(median(o.map((s) => s.seedSends))),
        ltSeedSends: round(median(a.map((s) => s.seedSends)))
      });
    }
  }
  log(
    table(
      [
        'caps',
        'N',
        'D_p2p s',
        'ours s (/D_p2p)',
        'libtorrent s (/D_p2p)',
        'ours/lt',
        'ours seed sends',
        'lt seed sends',
        'target'
      ],
      rows
    )
  );
  summary.swarm = { sizeBytes: F, pieceLength: t.info.pieceLength, samples, table: table2 };
  await fsp.rm(t.dataDir, { recursive: true, force: true });
}

/** Draw the chart (and print its table) from measured samples: after a run, or --replot FILE. */
function plotChart(samples: SwarmSample[], F: number, opts: Options): void {
  const rates = CASES.b;
  const med = (v: Variant, n: number): number =>
    median(samples.filter((s) => s.variant === v.key && s.n === n).map((s) => s.seconds));
  const span = (v: Variant, n: number): [number, number, number] => {
    const x = samples.filter((s) => s.variant === v.key && s.n === n).map((s) => s.seconds);
    return [n, Math.min(...x), Math.max(...x)];
  };
  const colors: Record<string, string> = { ours: '#d0402b', lt: '#2b62d0' };
  const ns = opts.chartN;
  const dense: number[] = [];
  for (let n = 1; n <= Math.max(...ns); n++) dense.push(n);
  const series: Series[] = [
    {
      name: 'D_cs bound (client-server)',
      points: dense.map((n) => [n, dCS(F, n, rates)]),
      color: '#888888',
      dashed: true
    },
    {
      name: 'D_p2p bound (P2P)',
      points: dense.map((n) => [n, dP2P(F, n, rates)]),
      color: '#2a7f2a',
      dashed: true
    },
    ...opts.chartImpls.map((v): Series => ({
      name: `${variantName(v)} (measured)`,
      points: ns.map((n) => [n, med(v, n)]),
      ranges: ns.map((n) => span(v, n)),
      color: colors[v.key] ?? '#e08a1e',
      markers: true
    }))
  ];
  // Log scale: D_cs grows to N·F/u_s while the P2P times stay near F/u_s; both stay readable.
  const top = Math.max(...samples.map((s) => s.seconds), ...ns.map((n) => dCS(F, n, rates)));
  const bottom = Math.min(...samples.map((s) => s.seconds), ...ns.map((n) => dP2P(F, n, rates)));
  const steps = logTicks(0.1, 1e6);
  const logY = {
    yMin: [...steps].reverse().find((v) => v <= bottom * 0.9) ?? 0.1,
    yMax: steps.find((v) => v >= top * 1.1) ?? 1e6
  };
  const svg = lineChart({
    title: 'Time to distribute a file to N peers: client-server bound vs P2P, measured',
    subtitle: `F = ${opts.chartSizeMiB} MiB, seed upload u_s = 2 MiB/s, peer upload u_i = 2 MiB/s, loopback; median of ${opts.chartReps} runs (bar: min-max); log scale`,
    xLabel: 'N (downloaders)',
    yLabel: 'distribution time (s)',
    series,
    xTicks: [0, ...ns],
    logY
  });
  writeFileSync(opts.svg, svg);
  log(`  chart written to ${opts.svg}`);
  const rows = ns.map((n) => [
    String(n),
    fmt(dP2P(F, n, rates)),
    fmt(dCS(F, n, rates)),
    ...opts.chartImpls.map((v) => `${fmt(med(v, n))} (${fmt(med(v, n) / dP2P(F, n, rates), 3)})`)
  ]);
  log(table(['N', 'D_p2p s', 'D_cs s', ...opts.chartImpls.map((v) => `${variantName(v)} s (/D_p2p)`)], rows));
}

async function runChart(opts: Options, dir: string, summary: Record<string, unknown>): Promise<void> {
  const F = Math.round(opts.chartSizeMiB * MiB);
  const rates = CASES.b;
  log(
    `\n== 4. chart: distribution time against N, caps ${rates.label}, F = ${mib(F)}, ${opts.chartReps} reps, ${opts.chartImpls.map(variantName).join(' + ')} ==`
  );
  const t = await makeFileTorrent(dir, 'chart.bin', F);
  const samples: SwarmSample[] = [];
  for (const n of opts.chartN) {
    for (let rep = 0; rep < opts.chartReps; rep++) {
      const order = rep % 2 === 0 ? opts.chartImpls : [...opts.chartImpls].reverse();
      for (const v of order) {
        const s = await swarmOnce(t, v, n, rates, 'chart', rep, dir, opts);
        samples.push(s);
        log(
          `  N = ${String(n).padStart(2)} rep ${rep + 1} ${variantName(v).padEnd(11)} ${s.seconds.toFixed(1)} s (D_p2p ${fmt(s.bound)} s, D_cs ${fmt(dCS(F, n, rates))} s), seed sent ${s.seedSends.toFixed(2)} x F; CPU ${s.cpu.toFixed(1)} s`
        );
      }
    }
  }
  plotChart(samples, F, opts);
  summary.chart = { sizeBytes: F, samples, svg: opts.svg };
  await fsp.rm(t.dataDir, { recursive: true, force: true });
}

// --- 3. metadata -----------------------------------------------------------------------------

async function runMetadata(opts: Options, dir: string, summary: Record<string, unknown>): Promise<void> {
  log(
    `\n== 3. magnet -> metadata from one libtorrent seeder, ${opts.metaReps} reps interleaved (+1 warm-up each) ==`
  );
  const torrents: BenchTorrent[] = [];
  for (const size of opts.metaSizes) torrents.push(await makeZeroTorrent(dir, `meta-${size}`, size));
  const seeders: PeerProcess[] = [];
  const fetchers: Partial<Record<Impl, PeerProcess>> = {};
  const samples: Array<{ impl: Impl; infoBytes: number; rep: number; ms: number; sinceAdd: number }> = [];
  try {
    const ports: number[] = [];
    for (const t of torrents) {
      const s = await start(
        'lt',
        'seed',
        ['--torrent', t.torrentPath, '--save-path', t.dataDir, '--host', HOST],
        opts
      );
      seeders.push(s);
      ports.push(Number(s.events.find((e) => e.event === 'ready')!.port));
    }
    fetchers.ours = await start('ours', 'fetch', ['--host', HOST], opts);
    fetchers.lt = await start('lt', 'fetch', ['--host', HOST, '--work', dir], opts);
    const fetch = async (
      impl: Impl,
      k: number
    ): Promise<{ ms: number; sinceAdd: number; infoBytes: number }> => {
      const t = torrents[k]!;
      const ev = await fetchers[impl]!.request(
        `fetch ${Buffer.from(t.info.infoHash).toString('hex')} ${HOST}:${ports[k]}`,
        'metadata',
        60_000
      );
      if (Number(ev.infoBytes) !== t.info.infoBytes.length)
        throw new Error(
          `${impl}: metadata of ${String(ev.infoBytes)} bytes, expected ${t.info.infoBytes.length}`
        );
      // Let both sides settle (the removed torrent, the closed connection).
      await new Promise((r) => setTimeout(r, 200));
      return { ms: Number(ev.ms), sinceAdd: Number(ev.sinceAdd), infoBytes: t.info.infoBytes.length };
    };
    for (const impl of ['ours', 'lt'] as Impl[])
      for (let k = 0; k < torrents.length; k++) await fetch(impl, k); // warm-up
    for (let rep = 0; rep < opts.metaReps; rep++) {
      for (let k = 0; k < torrents.length; k++) {
        for (const impl of (rep + k) % 2 === 0 ? (['ours', 'lt'] as Impl[]) : (['lt', 'ours'] as Impl[])) {
          const r = await fetch(impl, k);
          samples.push({ impl, rep, ...r });
        }
      }
      log(
        `  rep ${rep + 1}: ${torrents.map((t) => `${mibOrKib(t.info.infoBytes.length)} ours ${fmt(samples.find((s) => s.rep === rep && s.impl === 'ours' && s.infoBytes === t.info.infoBytes.length)!.ms, 1)} / lt ${fmt(samples.find((s) => s.rep === rep && s.impl === 'lt' && s.infoBytes === t.info.infoBytes.length)!.ms, 1)} ms`).join('; ')}`
      );
    }
  } finally {
    await stop(fetchers.ours, fetchers.lt, ...seeders);
    for (const t of torrents) await fsp.rm(t.dataDir, { recursive: true, force: true });
  }
  const rows: string[][] = [];
  const out: Record<string, unknown>[] = [];
  for (const t of torrents) {
    const size = t.info.infoBytes.length;
    const o = median(samples.filter((s) => s.impl === 'ours' && s.infoBytes === size).map((s) => s.ms));
    const a = median(samples.filter((s) => s.impl === 'lt' && s.infoBytes === size).map((s) => s.ms));
    const oAdd = median(
      samples.filter((s) => s.impl === 'ours' && s.infoBytes === size).map((s) => s.sinceAdd)
    );
    const aAdd = median(
      samples.filter((s) => s.impl === 'lt' && s.infoBytes === size).map((s) => s.sinceAdd)
    );
    rows.push([
      `${fmt(size)} B (${mibOrKib(size)}, ${t.info.pieceCount} pieces)`,
      fmt(o, 1),
      fmt(a, 1),
      fmt(o - a, 1),
      fmt(oAdd, 1),
      fmt(aAdd, 1),
      `<= +10 ms: ${o - a <= 10 ? 'met' : 'NOT met'}`
    ]);
    out.push({
      infoBytes: size,
      oursMs: round(o),
      ltMs: round(a),
      diffMs: round(o - a),
      oursSinceAddMs: round(oAdd),
      ltSinceAddMs: round(aAdd)
    });
  }
  log(
    table(
      ['info dictionary', 'ours ms', 'libtorrent ms', 'ours - lt', 'ours from add', 'lt from add', 'target'],
      rows
    )
  );
  summary.metadata = { samples, table: out };
}

const mibOrKib = (n: number): string =>
  n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`;

// --- main ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.replot) {
    // Redraw the SVG from a --json file of an earlier run (no measurement).
    const saved = JSON.parse(readFileSync(opts.replot, 'utf8')) as {
      options: Options;
      chart: { sizeBytes: number; samples: SwarmSample[] };
    };
    plotChart(saved.chart.samples, saved.chart.sizeBytes, {
      ...saved.options,
      chartImpls: saved.options.chartImpls,
      svg: opts.svg
    });
    return;
  }
  if (!opts.transfer && !opts.swarm && !opts.metadata && !opts.chart) {
    console.error(
      'engine-bench: choose --transfer, --swarm, --metadata, --chart or --all (see the header of bench/engine-bench.ts)'
    );
    process.exitCode = 2;
    return;
  }
  const problem = libtorrentProblem();
  if (problem) throw new Error(`the anchor needs python3-libtorrent: ${problem}`);
  const started = Date.now();
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}, load ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`;
  log(`Engine benchmark: trackerless vs libtorrent (python3-libtorrent) — ${machine}`);
  log(`options: ${JSON.stringify(opts)}`);
  const summary: Record<string, unknown> = {
    machine,
    options: opts,
    startedAt: new Date(started).toISOString()
  };
  const dir = await fsp.mkdtemp(join(opts.tmp, 'tl-engine-bench-'));
  const onSignal = (): void => {
    void Promise.all([...live].map((p) => p.close())).finally(() => {
      void fsp.rm(dir, { recursive: true, force: true }).finally(() => process.exit(130));
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (opts.transfer) await runTransfer(opts, dir, summary);
    if (opts.swarm) await runSwarm(opts, dir, summary);
    if (opts.metadata) await runMetadata(opts, dir, summary);
    if (opts.chart) await runChart(opts, dir, summary);
  } finally {
    await Promise.all([...live].map((p) => p.close()));
    await fsp.rm(dir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const elapsedS = (Date.now() - started) / 1000;
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  const open = process
    .getActiveResourcesInfo()
    .filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap' && r !== 'Timeout');
  log(
    `\ntotal ${elapsedS.toFixed(0)} s; load average now ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(
        ' '
      )}; child processes left: ${live.size}; handles still open: ${open.length === 0 ? 'none' : open.join(', ')}`
  );
  summary.elapsedSeconds = round(elapsedS);
  if (opts.json) writeFileSync(opts.json, `${JSON.stringify(summary, null, 2)}\n`);
  const compact: Record<string, unknown> = { machine, elapsedSeconds: round(elapsedS) };
  const tr = summary.transfer as Record<string, unknown> | undefined;
  if (tr)
    compact.transfer = { medians: tr.medians, throughputRatio: tr.throughputRatio, cpuRatio: tr.cpuRatio };
  if (summary.swarm) compact.swarm = (summary.swarm as Record<string, unknown>).table;
  if (summary.metadata) compact.metadata = (summary.metadata as Record<string, unknown>).table;
  if (summary.chart)
    compact.chart = (summary.chart as { samples: SwarmSample[] }).samples.map((s) => ({
      variant: s.variant,
      n: s.n,
      seconds: round(s.seconds),
      bound: round(s.bound)
    }));
  log(`BENCH_JSON ${JSON.stringify(compact)}`);
}

// Run when started as a program; a test imports the rep functions (test/interop/bench-fairness).
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  main().catch((err: unknown) => {
    console.error(err);
    void Promise.all([...live].map((p) => p.close())).finally(() => process.exit(1));
  });
