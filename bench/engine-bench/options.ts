/** The engine benchmark's command line (flags listed in the header of bench/engine-bench.ts). */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { argvReader } from '../lib/argv.js';
import type { Rates } from '../lib/bounds.js';
import { IMPL_NAMES, type Impl } from '../lib/peer-process.js';
import { MiB } from './format.js';

export type CaseName = 'a' | 'b';
export const CASES: Record<CaseName, Rates & { label: string; target: number; ltIssue: [number, number] }> = {
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
  /** Extra node flags for every process of ours (experiments, e.g. '--max-semi-space-size=4'). */
  nodeFlagsOurs: string[];
  /** Our swarm processes log their V8 deoptimisations here (counted per rep). */
  deoptDir: string | null;
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

export const variantName = (v: Variant): string =>
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
  const defaultSvg = fileURLToPath(new URL('../../../docs/swarm-distribution.svg', import.meta.url));
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
    deoptDir: value('deopt-log-ours') ?? null,
    nodeFlagsOurs: (value('node-flags-ours') ?? '').split(' ').filter(Boolean),
    traceDir: value('trace-dir') ?? null,
    replot: value('replot') ?? null
  };
}

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
export const pairName = (s: Impl, d: Impl): string =>
  `${s === 'ours' ? 'ours' : 'libtorrent'}->${d === 'ours' ? 'ours' : 'libtorrent'}`;
