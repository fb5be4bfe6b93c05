/**
 * What explains a benchmark process's CPU, counted between two points (Linux /proc and V8's GC
 * entries): system calls and the bytes they moved (sockets and files alike), page faults,
 * context switches, and GC pauses by kind. Benchmark use only: it reads /proc/self, which is
 * cheap enough to take twice per run, and observes 'gc' performance entries while running.
 */
import { readFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';

interface Snapshot {
  io: Record<string, number>;
  minflt: number;
  majflt: number;
  voluntary: number;
  involuntary: number;
}

function readIo(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const line of readFileSync('/proc/self/io', 'utf8').split('\n')) {
      const [k, v] = line.split(': ');
      if (k && v) out[k] = Number(v);
    }
  } catch {
    // not Linux: counted as NaN below
  }
  return out;
}

function snapshot(): Snapshot {
  const r = process.resourceUsage();
  return {
    io: readIo(),
    minflt: r.minorPageFault,
    majflt: r.majorPageFault,
    voluntary: r.voluntaryContextSwitches,
    involuntary: r.involuntaryContextSwitches
  };
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'markCompact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakCallbacks'
};

/** Counters from `start()` to `read()`: call `start()` once, `read()` as often as needed. */
export class ProcessCounters {
  private from: Snapshot | undefined;
  private readonly gc: Record<string, number> = {};
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const detail = (e as { detail?: { kind?: number } }).detail;
      const kind = GC_KINDS[detail?.kind ?? -1] ?? 'other';
      this.gc[`gc_${kind}`] = (this.gc[`gc_${kind}`] ?? 0) + 1;
      this.gc[`gc_${kind}Ms`] = (this.gc[`gc_${kind}Ms`] ?? 0) + e.duration;
    }
  });

  start(): void {
    this.from = snapshot();
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): void {
    this.observer.disconnect();
  }

  /** Deltas since `start()`: syscalls (`syscr`, `syscw`), bytes (`rchar`, `wchar`), faults, switches, GC. */
  read(): Record<string, number> {
    const a = this.from ?? snapshot();
    const b = snapshot();
    const io = (k: string): number => (b.io[k] ?? NaN) - (a.io[k] ?? NaN);
    const round = (x: number): number => Math.round(x * 10) / 10;
    return {
      syscr: io('syscr'),
      syscw: io('syscw'),
      rchar: io('rchar'),
      wchar: io('wchar'),
      minflt: b.minflt - a.minflt,
      majflt: b.majflt - a.majflt,
      voluntaryCtxt: b.voluntary - a.voluntary,
      involuntaryCtxt: b.involuntary - a.involuntary,
      ...Object.fromEntries(Object.entries(this.gc).map(([k, v]) => [k, round(v)]))
    };
  }
}
