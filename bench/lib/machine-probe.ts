/**
 * How fast the machine is right now, measured beside a benchmark run: a fixed piece of work
 * (SHA-1 of 1 MiB, a copy of it, a loop allocating small objects; four times, ~3 ms) done every
 * `everyMs` by the otherwise idle orchestrator, timed in CPU seconds (not wall time, so waiting
 * for a core does not count). On shared cores the same work costs more CPU when the other
 * tenants thrash the caches: if a run's CPU moves with the probe's, the run did the same work
 * on a slower machine. ~1 % of one core at the default interval.
 */
import { createHash } from 'node:crypto';

const DATA = Buffer.alloc(1 << 20, 0x5a);
const COPY = Buffer.alloc(1 << 20);

function unit(): number {
  const h = createHash('sha1').update(DATA).digest();
  DATA.copy(COPY);
  let acc = h[0]!;
  for (let i = 0; i < 20_000; i++) {
    const o = { i, v: acc };
    acc = (acc + o.i * 31 + o.v) & 0xffff;
  }
  return acc;
}

export class MachineProbe {
  private samples: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Keeps the work observable, so it is not optimised away. */
  sink = 0;

  constructor(private readonly everyMs = 500) {}

  start(): void {
    this.samples = [];
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref();
  }

  /**
   * CPU milliseconds of one unit of work over the samples since `start()`: the median (the
   * machine's speed most of the time) and the mean (which also carries the rare long units: in
   * a virtual machine whose host takes the core away without the guest knowing, that time is
   * charged to whatever ran, as CPU time).
   */
  stop(): { medianMs: number; meanMs: number; samples: number } {
    clearInterval(this.timer);
    const s = [...this.samples].sort((a, b) => a - b);
    if (s.length === 0) return { medianMs: NaN, meanMs: NaN, samples: 0 };
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    return { medianMs: s[Math.floor(s.length / 2)]!, meanMs: mean, samples: s.length };
  }

  private sample(): void {
    const a = process.cpuUsage();
    for (let k = 0; k < 4; k++) this.sink ^= unit();
    const b = process.cpuUsage(a);
    this.samples.push((b.user + b.system) / 1000);
  }
}
