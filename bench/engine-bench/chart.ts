/** --chart: distribution time against N with the D_p2p and D_cs bounds, drawn as an SVG. */
import { promises as fsp, writeFileSync } from 'node:fs';
import { dCS, dP2P } from '../lib/bounds.js';
import { makeFileTorrent } from '../lib/content.js';
import { fmt, median, table } from '../lib/stats.js';
import { lineChart, logTicks, type Series } from '../lib/svg-chart.js';
import { log, mib, MiB } from './format.js';
import { CASES, variantName, type Options, type Variant } from './options.js';
import { swarmOnce, type SwarmSample } from './swarm.js';

/** Draw the chart (and print its table) from measured samples: after a run, or --replot FILE. */
export function plotChart(samples: SwarmSample[], F: number, opts: Options): void {
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

export async function runChart(opts: Options, dir: string, summary: Record<string, unknown>): Promise<void> {
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
