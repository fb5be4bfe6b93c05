/**
 * User-level benchmark: magnet link -> verified file on disk, through a loopback DHT, the way a
 * user runs each client: our CLI (`trackerless download <magnet>`) against libtorrent's
 * (a python3-libtorrent client: bench/lib/lt-bench.py role get), on the same file and piece
 * size, interleaved reps (ours and libtorrent alternating, first one swapped each rep).
 *
 *   npm run build && node dist/bench/magnet-bench.js [--size 256] [--reps 3] [--piece-kib K]
 *       [--nodes 8] [--tmp DIR] [--json FILE] [--baseline DIST] [--no-lt] [--node-args "FLAGS"]
 *
 * --baseline DIST adds a third client each rep: our CLI from another build's `dist` directory
 * (e.g. a copy of main's), so an old and a new build alternate in one run and their CPU compare
 * under the same load; --no-lt leaves libtorrent out (baseline comparisons only). --node-args
 * passes Node flags to our CLI processes (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 *
 * Set-up, before any clock: --nodes of our DHT nodes on 127.0.0.1 (one process, this one); one
 * libtorrent seeder (lt-bench.py role seed with --bootstrap: DHT on, TCP only) whose data
 * libtorrent checks before it reports ready (no seed mode), and whose DHT announce is stored
 * (a get_peers from our nodes finds it). The downloaders bootstrap from a node other than the
 * seeder's. Measured per rep: wall time from spawn to exit of the client process (start-up,
 * DHT join, peer lookup, metadata, pieces, shutdown: what a user waits for), its CPU seconds
 * (user + system of the process and all its threads, from wait4 via GNU time) and max RSS,
 * and the seeder's CPU over the rep. After each rep the file is compared with the source
 * (SHA-1 of the whole file): a mismatch or a failed client ends the run.
 *
 * libtorrent's client uses TCP only (its uTP manages ~9-35 MiB/s on loopback here, and the
 * seeder is TCP only); otherwise its defaults (encryption: it dials with MSE and negotiates).
 * Ours is told the same (`--transport tcp`): with its default uTP-first policy it would first
 * dial the TCP-only seeder over uTP and start TCP only after TRANSPORT_HEAD_START_MS (750 ms).
 * Files live in --tmp (default /dev/shm: the disk is not what is measured).
 * Network: 127.0.0.1 only; run it inside `unshare --net` like the tests.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DHT, formatAddress, toMagnet } from '../lib/index.js';
import { argvReader } from './lib/argv.js';
import { makeFileTorrent, type BenchTorrent } from './lib/content.js';
import { checkOutput } from './lib/output-check.js';
import { libtorrentProblem, LT_SCRIPT, PeerProcess, PYTHON, type Impl } from './lib/peer-process.js';
import { fmt, median, ratio, round, sleep, table } from './lib/stats.js';

const MiB = 1024 * 1024;
const HOST = '127.0.0.1';
const DIST = fileURLToPath(new URL('..', import.meta.url));
/** The program as installed (package.json `bin`), inside a build's dist directory. */
const CLI_MAIN = 'cli/main.js';
/** The program's entry in builds before the CLI was bundled (a --baseline may be one). */
const OLD_CLI_MAIN = 'lib/cli/main.js';
const TIME = '/usr/bin/time';

/** A client measured each rep: libtorrent's, or our CLI from one build (`dist` directory). */
interface Client {
  name: string;
  label: string;
  impl: Impl;
  dist?: string;
}

interface Sample {
  client: string;
  rep: number;
  wallSeconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
  seedCpuSeconds: number;
}

interface Timed {
  wallSeconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
  code: number | null;
  output: string;
}

/**
 * Run `cmd args` under GNU time (user + system CPU and max RSS of the waited process, all its
 * threads included); wall time from spawn to exit. SIGKILLs the process group after timeoutMs.
 */
async function runTimed(cmd: string, args: string[], timeoutMs: number, timeFile: string): Promise<Timed> {
  const t0 = performance.now();
  const child = spawn(TIME, ['-f', '%U %S %M', '-o', timeFile, cmd, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true
  });
  let output = '';
  const keep = (b: Buffer): void => {
    output = (output + b.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const timer = setTimeout(() => {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const wallSeconds = (performance.now() - t0) / 1000;
  clearTimeout(timer);
  const [user, sys, rssKiB] = (await fsp.readFile(timeFile, 'utf8'))
    .trim()
    .split('\n')
    .pop()!
    .split(' ')
    .map(Number);
  return {
    wallSeconds,
    cpuSeconds: (user ?? NaN) + (sys ?? NaN),
    maxRssMiB: (rssKiB ?? NaN) / 1024,
    code,
    output
  };
}

function cliMain(dist: string): string {
  return existsSync(join(dist, CLI_MAIN)) ? join(dist, CLI_MAIN) : join(dist, OLD_CLI_MAIN);
}

function clientCommand(
  client: Client,
  nodeArgs: string[],
  magnet: string,
  out: string,
  bootstrap: string,
  maxSeconds: number
): [string, string[]] {
  if (client.impl === 'ours')
    return [
      process.execPath,
      // --no-state: every rep starts cold (no table saved by the last rep) and the user's state file is left alone.
      // --transport tcp: like libtorrent's client here (see above).
      [
        ...nodeArgs,
        cliMain(client.dist ?? DIST),
        'download',
        magnet,
        '--out',
        out,
        '--bootstrap',
        bootstrap,
        '--host',
        HOST,
        '--no-state',
        '--transport',
        'tcp'
      ]
    ];
  return [
    PYTHON,
    [
      LT_SCRIPT,
      'get',
      '--magnet',
      magnet,
      '--save-path',
      out,
      '--host',
      HOST,
      '--bootstrap',
      bootstrap,
      '--max-seconds',
      String(maxSeconds)
    ]
  ];
}

/** Until a get_peers from `node` finds the seeder's port; re-announces every 3 s (bounded). */
async function waitAnnounced(
  node: DHT,
  seeder: PeerProcess,
  infoHash: Uint8Array,
  port: number
): Promise<number> {
  const t0 = Date.now();
  for (let attempt = 0; attempt < 20; attempt++) {
    const { peers } = await node.getPeers(infoHash);
    if (peers.some((p) => p.port === port)) return (Date.now() - t0) / 1000;
    await seeder.request('announce', 'announced', 10_000);
    await sleep(3000);
  }
  throw new Error(`the seeder's DHT announce was not found after ${(Date.now() - t0) / 1000} s`);
}

async function main(): Promise<void> {
  const { flag, value, num } = argvReader(process.argv.slice(2));
  const sizeMiB = num('size', 256);
  const reps = num('reps', 3);
  const pieceKiB = value('piece-kib') ? num('piece-kib', 256) : undefined;
  const nodeCount = Math.max(3, num('nodes', 8));
  const tmp = value('tmp') ?? (existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir());
  const jsonOut = value('json') ?? null;
  // This build's program is the bundle: without it (esbuild not installed, so `npm run build`
  // stopped after tsc) the run would silently measure the unbundled module tree instead.
  if (!existsSync(join(DIST, CLI_MAIN)))
    throw new Error(`${join(DIST, CLI_MAIN)} is missing: run npm install (esbuild), then npm run build`);
  const baseline = value('baseline');
  if (
    baseline !== undefined &&
    !existsSync(join(baseline, CLI_MAIN)) &&
    !existsSync(join(baseline, OLD_CLI_MAIN))
  )
    throw new Error(`--baseline ${baseline}: no ${CLI_MAIN} there (give a build's dist directory)`);
  const nodeArgs = (value('node-args') ?? '').split(' ').filter((a) => a !== '');
  const clients: Client[] = [{ name: 'ours', label: 'trackerless CLI', impl: 'ours' }];
  if (!flag('no-lt')) clients.push({ name: 'libtorrent', label: 'libtorrent client', impl: 'lt' });
  if (baseline !== undefined)
    clients.push({ name: 'baseline', label: 'trackerless baseline', impl: 'ours', dist: baseline });
  const problem = libtorrentProblem();
  if (problem) throw new Error(`the anchor needs python3-libtorrent: ${problem}`);
  if (!existsSync(TIME)) throw new Error(`${TIME} (GNU time) is needed to read each client's CPU`);
  const load = (): string =>
    os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, load ${load()}`;
  console.log(`Magnet -> file benchmark: trackerless CLI vs libtorrent (python3-libtorrent) — ${machine}`);

  const dir = await fsp.mkdtemp(join(tmp, 'tl-magnet-bench-'));
  const nodes: DHT[] = [];
  let seeder: PeerProcess | undefined;
  const samples: Sample[] = [];
  try {
    const size = Math.round(sizeMiB * MiB);
    const t: BenchTorrent = await makeFileTorrent(
      dir,
      'magnet.bin',
      size,
      pieceKiB ? pieceKiB * 1024 : undefined
    );
    console.log(`  ${fmt(sizeMiB)} MiB, ${t.info.pieceCount} pieces of ${t.info.pieceLength / 1024} KiB`);
    nodes.push(await DHT.create({ host: HOST, port: 0, bootstrap: [], queryTimeoutMs: 1000 }));
    const first = formatAddress(nodes[0]!.address());
    for (let i = 1; i < nodeCount; i++)
      nodes.push(await DHT.create({ host: HOST, port: 0, bootstrap: [first], queryTimeoutMs: 1000 }));
    const addr = (i: number): string => formatAddress(nodes[i]!.address());

    const t0 = Date.now();
    const started = await PeerProcess.start('lt', 'seed', [
      '--torrent',
      t.torrentPath,
      '--save-path',
      t.dataDir,
      '--host',
      HOST,
      '--bootstrap',
      addr(0)
    ]);
    seeder = started.proc;
    const port = Number(started.ready.port);
    console.log(
      `  libtorrent seeder: data checked (${String(started.ready.checked)} pieces, ${fmt(Number(started.ready.checkSeconds))} s) ` +
        `in ${((Date.now() - t0) / 1000).toFixed(1)} s from start`
    );
    const announced = await waitAnnounced(nodes[nodeCount - 1]!, seeder, t.info.infoHash, port);
    console.log(`  its DHT announce found by get_peers after ${fmt(announced)} s; the clock starts only now`);
    const magnet = toMagnet({ infoHash: t.info.infoHash, name: t.info.name });
    const timeoutMs = Number(value('timeout') ?? Math.max(180, (size / MiB) * 2)) * 1000;

    for (let rep = 0; rep < reps; rep++) {
      // Each client goes first in turn: rep r starts with client r mod n.
      const order = clients.map((_, i) => clients[(i + rep) % clients.length]!);
      for (const client of order) {
        const out = join(dir, `out-${client.name}-${rep}`);
        await fsp.mkdir(out, { recursive: true });
        const [cmd, args] = clientCommand(client, nodeArgs, magnet, out, addr(1), timeoutMs / 1000 - 10);
        await seeder.request('mark', 'marked', 10_000);
        const r = await runTimed(cmd, args, timeoutMs, join(dir, 'time.txt'));
        const seed = await seeder.request('report', 'report', 10_000);
        if (r.code !== 0)
          throw new Error(`${client.label} exited with ${String(r.code)}; its output ends:\n${r.output}`);
        await checkOutput(t.info, t.dataDir, out, `${client.label} rep ${rep + 1}`);
        await fsp.rm(out, { recursive: true, force: true });
        const s: Sample = {
          client: client.name,
          rep,
          wallSeconds: r.wallSeconds,
          cpuSeconds: r.cpuSeconds,
          maxRssMiB: r.maxRssMiB,
          seedCpuSeconds: Number(seed.cpu)
        };
        samples.push(s);
        console.log(
          `  rep ${rep + 1} ${client.label.padEnd(20)} wall ${s.wallSeconds.toFixed(2)} s, CPU ${s.cpuSeconds.toFixed(2)} s, max RSS ${s.maxRssMiB.toFixed(0)} MiB; seeder CPU ${s.seedCpuSeconds.toFixed(2)} s; output = source; load ${load()}`
        );
      }
    }
    const of = (name: string): Sample[] => samples.filter((s) => s.client === name);
    const pick = (name: string, f: (s: Sample) => number): number => median(of(name).map(f));
    const rows = clients.map((c) => [
      c.label,
      fmt(pick(c.name, (s) => s.wallSeconds)),
      of(c.name)
        .map((s) => fmt(s.wallSeconds, 1))
        .join(', '),
      fmt(pick(c.name, (s) => s.cpuSeconds)),
      of(c.name)
        .map((s) => fmt(s.cpuSeconds, 2))
        .join(', '),
      fmt(
        pick(c.name, (s) => s.maxRssMiB),
        0
      ),
      fmt(pick(c.name, (s) => s.seedCpuSeconds))
    ]);
    console.log(
      table(
        ['client', 'wall s (median)', 'all reps', 'CPU s', 'all reps', 'max RSS MiB', 'seeder CPU s'],
        rows
      )
    );
    /** Median ratios of `a` to `b` (wall, CPU) and each rep's, printed; null when either is absent. */
    const compare = (a: string, b: string, targets: string): { wall: number; cpu: number } | null => {
      if (!clients.some((c) => c.name === a) || !clients.some((c) => c.name === b)) return null;
      const perRep = (f: (s: Sample) => number): string =>
        [...Array(reps).keys()]
          .map((rep) => {
            const x = samples.find((s) => s.client === a && s.rep === rep)!;
            const y = samples.find((s) => s.client === b && s.rep === rep)!;
            return fmt(f(x) / f(y));
          })
          .join(', ');
      const wall = ratio(
        pick(a, (s) => s.wallSeconds),
        pick(b, (s) => s.wallSeconds)
      );
      const cpu = ratio(
        pick(a, (s) => s.cpuSeconds),
        pick(b, (s) => s.cpuSeconds)
      );
      console.log(
        `  ${a}/${b}: wall ${fmt(wall)}x (per rep ${perRep((s) => s.wallSeconds)}), CPU ${fmt(cpu)}x (per rep ${perRep((s) => s.cpuSeconds)})${targets}; load average now ${load()}`
      );
      return { wall, cpu };
    };
    const vsLt = compare('ours', 'libtorrent', '; targets wall <= 0.85, CPU <= 1.0');
    const vsBase = compare('ours', 'baseline', '');
    compare('baseline', 'libtorrent', '');
    const wallRatio = vsLt ? round(vsLt.wall) : null;
    const cpuRatio = vsLt ? round(vsLt.cpu) : null;
    const baselineCpuRatio = vsBase ? round(vsBase.cpu) : null;
    const summary = {
      machine,
      sizeBytes: size,
      pieceLength: t.info.pieceLength,
      reps,
      samples,
      wallRatio,
      cpuRatio,
      baselineCpuRatio
    };
    if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify(summary, null, 2)}\n`);
    console.log(`BENCH_JSON ${JSON.stringify({ machine, wallRatio, cpuRatio, baselineCpuRatio })}`);
  } finally {
    await seeder?.close();
    await Promise.all(nodes.map((n) => n.destroy()));
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
