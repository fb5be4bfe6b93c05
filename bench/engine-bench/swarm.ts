/** --swarm: 1 seed + N downloaders under upload caps, distribution time against D_p2p. */
import { mkdirSync, promises as fsp, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dCS, dP2P, type Rates } from '../lib/bounds.js';
import { makeFileTorrent, type BenchTorrent } from '../lib/content.js';
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
