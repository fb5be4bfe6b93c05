/**
 * User-level benchmark: magnet link -> verified file on disk, through a loopback DHT, the way a
 * user runs each client: our CLI (`trackerless download <magnet>`) against libtorrent's
 * (a python3-libtorrent client: bench/lib/lt-bench.py role get), on the same file and piece
 * size, interleaved reps (ours and libtorrent alternating, first one swapped each rep).
 *
 *   npm run build && node dist/bench/magnet-bench.js [--size 256] [--reps 3] [--piece-kib K]
 *       [--nodes 8] [--tmp DIR] [--json FILE]
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
const CLI = fileURLToPath(new URL('../lib/cli/main.js', import.meta.url));
const TIME = '/usr/bin/time';

interface Sample {
  impl: Impl;
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

function clientCommand(
  impl: Impl,
  magnet: string,
  out: string,
  bootstrap: string,
  maxSeconds: number
): [string, string[]] {
  if (impl === 'ours')
    return [
      process.execPath,
      // --no-state: every rep starts cold (no table saved by the last rep) and the user's state file is left alone.
      // --transport tcp: like libtorrent's client here (see above).
      [
        CLI,
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
  const { value, num } = argvReader(process.argv.slice(2));
  const sizeMiB = num('size', 256);
  const reps = num('reps', 3);
  const pieceKiB = value('piece-kib') ? num('piece-kib', 256) : undefined;
  const nodeCount = Math.max(3, num('nodes', 8));
  const tmp = value('tmp') ?? (existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir());
  const jsonOut = value('json') ?? null;
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
      const order: Impl[] = rep % 2 === 0 ? ['ours', 'lt'] : ['lt', 'ours'];
      for (const impl of order) {
        const out = join(dir, `out-${impl}-${rep}`);
        await fsp.mkdir(out, { recursive: true });
        const [cmd, args] = clientCommand(impl, magnet, out, addr(1), timeoutMs / 1000 - 10);
        await seeder.request('mark', 'marked', 10_000);
        const r = await runTimed(cmd, args, timeoutMs, join(dir, 'time.txt'));
        const seed = await seeder.request('report', 'report', 10_000);
        if (r.code !== 0)
          throw new Error(`${impl} client exited with ${String(r.code)}; its output ends:\n${r.output}`);
        await checkOutput(t.info, t.dataDir, out, `${impl} rep ${rep + 1}`);
        await fsp.rm(out, { recursive: true, force: true });
        const s: Sample = {
          impl,
          rep,
          wallSeconds: r.wallSeconds,
          cpuSeconds: r.cpuSeconds,
          maxRssMiB: r.maxRssMiB,
          seedCpuSeconds: Number(seed.cpu)
        };
        samples.push(s);
        console.log(
          `  rep ${rep + 1} ${(impl === 'ours' ? 'trackerless' : 'libtorrent').padEnd(11)} wall ${s.wallSeconds.toFixed(2)} s, CPU ${s.cpuSeconds.toFixed(2)} s, max RSS ${s.maxRssMiB.toFixed(0)} MiB; seeder CPU ${s.seedCpuSeconds.toFixed(2)} s; output = source; load ${load()}`
        );
      }
    }
    const pick = (impl: Impl, f: (s: Sample) => number): number =>
      median(samples.filter((s) => s.impl === impl).map(f));
    const rows = (['ours', 'lt'] as Impl[]).map((impl) => [
      impl === 'ours' ? 'trackerless CLI' : 'libtorrent client',
      fmt(pick(impl, (s) => s.wallSeconds)),
      samples
        .filter((s) => s.impl === impl)
        .map((s) => fmt(s.wallSeconds, 1))
        .join(', '),
      fmt(pick(impl, (s) => s.cpuSeconds)),
      fmt(
        pick(impl, (s) => s.maxRssMiB),
        0
      ),
      fmt(pick(impl, (s) => s.seedCpuSeconds))
    ]);
    console.log(
      table(['client', 'wall s (median)', 'all reps', 'CPU s', 'max RSS MiB', 'seeder CPU s'], rows)
    );
    const perRep = (f: (s: Sample) => number): number[] =>
      [...Array(reps).keys()].map((rep) => {
        const o = samples.find((s) => s.impl === 'ours' && s.rep === rep)!;
        const l = samples.find((s) => s.impl === 'lt' && s.rep === rep)!;
        return f(o) / f(l);
      });
    const wallRatio = ratio(
      pick('ours', (s) => s.wallSeconds),
      pick('lt', (s) => s.wallSeconds)
    );
    const cpuRatio = ratio(
      pick('ours', (s) => s.cpuSeconds),
      pick('lt', (s) => s.cpuSeconds)
    );
    console.log(
      `  ours/libtorrent: wall ${fmt(wallRatio)}x (per rep ${perRep((s) => s.wallSeconds)
        .map((x) => fmt(x))
        .join(', ')}; target <= 0.85), CPU ${fmt(cpuRatio)}x (per rep ${perRep((s) => s.cpuSeconds)
        .map((x) => fmt(x))
        .join(', ')}; target <= 1.0); load average now ${load()}`
    );
    const summary = {
      machine,
      sizeBytes: size,
      pieceLength: t.info.pieceLength,
      reps,
      samples,
      wallRatio: round(wallRatio),
      cpuRatio: round(cpuRatio)
    };
    if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify(summary, null, 2)}\n`);
    console.log(
      `BENCH_JSON ${JSON.stringify({ machine, wallRatio: round(wallRatio), cpuRatio: round(cpuRatio) })}`
    );
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
