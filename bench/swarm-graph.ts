/**
 * Can a swarm be really truly trackerless? The peer graph a swarm forms under churn with a
 * tracker (50 random peers), DHT get_peers results, PEX only, and PEX + random walks, at
 * 100-5,000 peers: connectivity, diameter, spectral gap and the time to distribute a file.
 * The model is in swarm-graph-model.ts; everything is reproducible from --seed.
 *
 *   npm run bench:swarm-graph -- [--sizes 100,1000,5000] [--reps 3] [--reps-at 5000=1] [--seed 1]
 *     [--churn 0.02] [--minutes 120] [--svg docs/swarm-graph] [--json FILE]
 *
 * Prints a markdown table of medians over --reps runs (seeds seed, seed+1, ...) and writes two
 * SVG charts (<svg>-gap.svg, <svg>-distribution.svg).
 */
import { writeFileSync } from 'node:fs';
import { seededRandom } from '../lib/util/random.js';
import { argvReader } from './lib/argv.js';
import { median } from './lib/stats.js';
import { lineChart, type Series } from './lib/svg-chart.js';
import { DEFAULT_MODEL, runModel, SCHEMES, type GraphMeasure, type Scheme } from './swarm-graph-model.js';

const args = argvReader(process.argv.slice(2));
const sizes = (args.value('sizes') ?? '100,1000,5000').split(',').map(Number);
const reps = args.num('reps', 3);
/** Fewer runs for the big sizes: `--reps-at 5000=1,2000=2`. */
const repsAt = new Map(
  (args.value('reps-at') ?? '')
    .split(',')
    .filter((x) => x.includes('='))
    .map((x) => x.split('=').map(Number) as [number, number])
);
const seed = args.num('seed', 1);
const churn = args.num('churn', DEFAULT_MODEL.churnPerMinute);
const minutes = args.num('minutes', DEFAULT_MODEL.minutes);
const svg = args.value('svg') ?? '';
const json = args.value('json') ?? '';

const COLORS: Record<Scheme, string> = {
  tracker: '#1f77b4',
  dht: '#ff7f0e',
  pex: '#d62728',
  'pex+walk': '#2ca02c'
};

const results: GraphMeasure[][] = [];
const rows: string[] = [
  '| peers | scheme | live | components | largest share | diameter | spectral gap | mean degree | dead dials/peer | distribution rounds | finished |',
  '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
];
for (const peers of sizes) {
  for (const scheme of SCHEMES) {
    const runs: GraphMeasure[] = [];
    const n = repsAt.get(peers) ?? reps;
    for (let r = 0; r < n; r++) {
      const started = Date.now();
      runs.push(
        runModel({ ...DEFAULT_MODEL, peers, scheme, churnPerMinute: churn, minutes }, seededRandom(seed + r))
      );
      process.stderr.write(`${peers} ${scheme} rep ${r + 1}/${n}: ${Date.now() - started} ms\n`);
    }
    results.push(runs);
    const m = (f: (g: GraphMeasure) => number): number => median(runs.map(f));
    const rounds = m((g) => g.distributionRounds);
    rows.push(
      `| ${peers} | ${scheme} | ${m((g) => g.alive)} | ${m((g) => g.components)} | ${m((g) => g.largestShare).toFixed(3)} | ` +
        `${m((g) => g.diameter)}${runs.every((g) => g.diameterExact) ? '' : '*'} | ${m((g) => g.spectralGap).toFixed(3)} | ` +
        `${m((g) => g.meanDegree).toFixed(1)} | ${m((g) => g.deadDialsPerPeer).toFixed(1)} | ` +
        `${Number.isFinite(rounds) ? rounds : 'never'} | ${m((g) => g.finishedShare).toFixed(3)} |`
    );
  }
}
console.log(rows.join('\n'));
console.log(
  `\n${reps} runs each${repsAt.size ? ` (${[...repsAt].map(([k, v]) => `${v} at ${k}`).join(', ')})` : ''} (seeds from ${seed}), medians; churn ${churn}/min, ${minutes} min simulated, ` +
    `${DEFAULT_MODEL.pieces} pieces (lower bound ${DEFAULT_MODEL.pieces} rounds). * diameter from double sweeps (a lower bound).`
);
if (json) writeFileSync(json, JSON.stringify(results, null, 1));
if (svg) {
  const series = (f: (g: GraphMeasure) => number): Series[] =>
    SCHEMES.map((scheme) => ({
      name: scheme,
      color: COLORS[scheme],
      markers: true,
      points: results
        .filter((runs) => runs[0]!.scheme === scheme)
        .map((runs) => [runs[0]!.peers, median(runs.map(f))] as [number, number])
        .filter(([, y]) => Number.isFinite(y))
    }));
  const subtitle = `median of ${reps} seeded runs${repsAt.size ? ' (fewer at the largest sizes)' : ''}; churn ${churn * 100}%/min; at most 50 connections per peer`;
  writeFileSync(
    `${svg}-gap.svg`,
    lineChart({
      title: 'Spectral gap of the peer graph (higher mixes faster)',
      subtitle,
      xLabel: 'peers in the swarm',
      yLabel: 'spectral gap (1 - lambda2)',
      series: series((g) => g.spectralGap),
      xTicks: sizes
    })
  );
  writeFileSync(
    `${svg}-distribution.svg`,
    lineChart({
      title: 'Rounds to distribute a 100-piece file to every reachable peer',
      subtitle,
      xLabel: 'peers in the swarm',
      yLabel: 'rounds (lower bound 100)',
      series: series((g) => g.distributionRounds),
      xTicks: sizes
    })
  );
}
