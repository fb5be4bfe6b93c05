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
 *              / D_p2p, and how many times the seed sent the file (seed upload / F); CPU
 *              seconds of each side's swarm process, their ratio (of the medians, and the
 *              median of each rep's), a machine probe beside every rep (bench/lib/machine-probe.ts)
 *              and, for ours, what explains its CPU (threads, system calls, faults, GC, bytes).
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
 * --deopt-log-ours DIR (V8's --log-deopt for our swarm processes: deoptimisations counted per
 * rep), --node-flags-ours 'FLAGS' (extra node flags for ours: experiments),
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
 *
 * This file runs the chosen sections; bench/engine-bench/ holds the pieces: options.ts (the
 * flags), children.ts (starting and stopping peer processes), transfer.ts, swarm.ts, chart.ts,
 * metadata.ts (one sub-benchmark each), format.ts (units, console output).
 */
import { promises as fsp, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { libtorrentProblem } from './lib/peer-process.js';
import { round } from './lib/stats.js';
import { runChart, plotChart } from './engine-bench/chart.js';
import { live } from './engine-bench/children.js';
import { log } from './engine-bench/format.js';
import { runMetadata } from './engine-bench/metadata.js';
import { parseOptions, type Options } from './engine-bench/options.js';
import { runSwarm, type SwarmSample } from './engine-bench/swarm.js';
import { runTransfer } from './engine-bench/transfer.js';

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

main().catch((err: unknown) => {
  console.error(err);
  void Promise.all([...live].map((p) => p.close())).finally(() => process.exit(1));
});
