/** --swarm: 1 seed + N downloaders under upload caps, distribution time against D_p2p. */
import { existsSync, mkdirSync, promises as fsp, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dCS, dP2P, type Rates } from '../lib/bounds.js';
import { makeFileTorrent, type BenchTorrent } from '../lib/content.js';
import { MachineProbe } from '../lib/machine-probe.js';
import { checkOutput } from '../lib/output-check.js';
import type { Impl, PeerProcess } from '../lib/peer-process.js';
import { fmt, median, ratio, round, table } from '../lib/stats.js';
import { start, stop } from './children.js';
import { log, mib, MiB } from './format.js';
import { CASES, variantName, type CaseName, type Options, type Variant } from './options.js';

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
  /** The machine probe's CPU ms per unit of work during the rep, median and mean (bench/lib/machine-probe.ts). */
  probeMs: number;
  probeMeanMs: number;
  /** One process: what explains its CPU (engine-peer.ts / lt-bench.py `explain`), plus ours' `deopts` with --deopt-log-ours. */
  explain?: Record<string, number>;
}

/** V8's `--log-deopt` log of one process: deoptimisations counted, and the three most frequent reasons. */
function countDeopts(file: string): { deopts: number; top: string } {
  if (!existsSync(file)) return { deopts: NaN, top: '' };
  const reasons = new Map<string, number>();
  let deopts = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('code-deopt,')) continue;
    deopts++;
    // code-deopt,time,size,code,inlining,offset,kind,<function:line:col>,reason
    const f = line.split(',');
    const key = `${f.at(-1)} @ ${(f[7] ?? '').replace(/^.*\//, '')}`;
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  const top = [...reasons]
    .sort((x, y) => y[1] - x[1])
    .slice(0, 3)
    .map(([k, c]) => `${c}x ${k}`)
    .join('; ');
  return { deopts, top };
}

/** The per-rep line of what explains a swarm process's CPU (only what that side reports). */
function explainLine(e: Record<string, number>): string {
  const MB = 1e6;
  const f = (k: string, d = 1): string => (e[k] ?? 0).toFixed(d);
  const has = (k: string): boolean => e[k] !== undefined;
  const parts = [
    `main ${f('mainCpu', 2)} s, other threads ${f('otherThreadsCpu', 2)} s` +
      (has('v8HelpersCpu')
        ? ` (V8 helpers ${f('v8HelpersCpu', 2)}, pool ${(e.otherThreadsCpu! - e.v8HelpersCpu!).toFixed(2)})`
        : '') +
      (has('mainRunqueue') ? `, runqueue ${f('mainRunqueue', 2)} s` : '') +
      (has('elu') ? `, elu ${f('elu', 2)}` : ''),
    `syscalls r/w ${e.syscr}/${e.syscw}, MB r/w ${((e.rchar ?? 0) / MB).toFixed(0)}/${((e.wchar ?? 0) / MB).toFixed(0)}`,
    `minflt ${e.minflt}; ctxt ${e.voluntaryCtxt}+${e.involuntaryCtxt}`
  ];
  if (has('gc_scavenge') || has('gc_markCompact'))
    parts.push(
      `gc scavenge ${e.gc_scavenge ?? 0} (${f('gc_scavengeMs', 0)} ms), mark-compact ${e.gc_markCompact ?? 0} (${f('gc_markCompactMs', 0)} ms)`
    );
  parts.push(
    `payload up ${((e.payloadUp ?? 0) / MB).toFixed(1)} MB, extra down ${((e.payloadExtra ?? 0) / MB).toFixed(2)} MB` +
      (has('deopts') ? `; deopts ${e.deopts}` : '')
  );
  return parts.join('; ');
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
  const probe = new MachineProbe();
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
    let explain: Record<string, number> | undefined;
    const deoptLog =
      impl === 'ours' && procs === 1 && opts.deoptDir
        ? join(opts.deoptDir, `deopt-${caseName}-n${n}-${v.key}-rep${rep + 1}.log`)
        : undefined;
    if (procs === 1) {
      if (deoptLog) mkdirSync(opts.deoptDir!, { recursive: true });
      const flags = deoptLog ? ['--log-deopt', '--no-logfile-per-isolate', `--logfile=${deoptLog}`] : [];
      const p = await start(impl, 'swarm', args, opts, flags);
      parts.push(p);
      probe.start();
      const fin = await p.request('go', 'finished', timeoutMs);
      seconds = Number(fin.seconds);
      perPeer = fin.perPeer as number[];
      seedUploaded = Number(fin.seedUploaded);
      cpu = Number(fin.cpu);
      explain = fin.explain as Record<string, number> | undefined;
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
      probe.start();
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
    const { medianMs: probeMs, meanMs: probeMeanMs } = probe.stop();
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
    if (explain && deoptLog) {
      const d = countDeopts(deoptLog);
      explain.deopts = d.deopts;
      log(`      deopts ${d.deopts}: ${d.top}`);
    }
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
      probeMs,
      probeMeanMs,
      variant: v.key,
      ...(explain ? { explain } : {})
    };
  } finally {
    probe.stop();
    await stop(...parts);
    await fsp.rm(work, { recursive: true, force: true });
  }
}

export async function runSwarm(opts: Options, dir: string, summary: Record<string, unknown>): Promise<void> {
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
            `    rep ${rep + 1} ${variantName(v).padEnd(11)} ${s.seconds.toFixed(1)} s = ${s.ratio.toFixed(3)} x D_p2p; seed sent the file ${s.seedSends.toFixed(2)} times; CPU ${s.cpu.toFixed(1)} s; probe ${s.probeMs.toFixed(2)} ms (mean ${s.probeMeanMs.toFixed(2)})${s.outputChecked ? '; outputs = source' : '; outputs NOT checked (memory storage)'}`
          );
          if (s.explain) log(`      ${explainLine(s.explain)}`);
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
      // CPU per byte: both deliver N x F, so the CPU ratio is it. The ratio of the medians, and
      // the median of each rep's ratio (ours and libtorrent of the same rep ran back to back, so
      // a machine that is slower for a while weighs on both).
      const oC = median(o.map((s) => s.cpu));
      const aC = median(a.map((s) => s.cpu));
      const perRep = o.flatMap((s) => {
        const l = a.find((x) => x.rep === s.rep);
        return l ? [s.cpu / l.cpu] : [];
      });
      rows.push([
        CASES[c].label,
        String(n),
        fmt(o[0]?.bound ?? NaN),
        `${fmt(median(o.map((s) => s.seconds)))} (${fmt(oR, 3)})`,
        `${fmt(median(a.map((s) => s.seconds)))} (${fmt(aR, 3)})`,
        fmt(ratio(oR, aR), 3),
        fmt(median(o.map((s) => s.seedSends))),
        fmt(median(a.map((s) => s.seedSends))),
        `${fmt(oC)} / ${fmt(aC)} = ${fmt(ratio(oC, aC))} (per rep ${fmt(median(perRep))})`,
        `<= ${target}: ${oR <= target ? 'met' : 'NOT met'}`
      ]);
      table2.push({
        case: c,
        n,
        bound: round(o[0]?.bound ?? NaN),
        oursRatio: round(oR),
        ltRatio: round(aR),
        oursCpu: round(oC),
        ltCpu: round(aC),
        cpuRatio: round(ratio(oC, aC)),
        cpuRatioPerRep: round(median(perRep)),
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
        'CPU s ours / lt',
        'target'
      ],
      rows
    )
  );
  summary.swarm = { sizeBytes: F, pieceLength: t.info.pieceLength, samples, table: table2 };
  await fsp.rm(t.dataDir, { recursive: true, force: true });
}
