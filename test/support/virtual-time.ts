/**
 * Virtual time for engine tests whose I/O is in-process (memory pipes, memory storage): a
 * FakeClock the engines run on, moved by the test. Between steps of virtual time, a few turns
 * of the real event loop let pipes deliver and storage promises settle, so nothing waits on
 * the wall clock and every run sees the same timeline.
 */
import { FakeClock } from './fake-clock.js';

/** Real event-loop turns per step: pipe deliveries and storage promises settle within these. */
const TURNS = 4;
/** Virtual time per step, ms. */
const STEP_MS = 5;

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export class VirtualTime {
  readonly clock: FakeClock;

  constructor(start = 1_000_000) {
    this.clock = new FakeClock(start);
  }

  now(): number {
    return this.clock.now();
  }

  /** Let in-process I/O run, and the clock's immediates, without moving time. */
  async flush(): Promise<void> {
    for (let i = 0; i < TURNS; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.clock.advance(0);
    }
  }

  /** Move `ms` of virtual time forward, letting I/O run between steps. */
  async run(ms: number, stepMs = STEP_MS): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      await this.flush();
      this.clock.advance(Math.min(stepMs, end - this.clock.now()));
    }
    await this.flush();
  }

  /** Move time until `check` returns a value other than undefined/false; throws after `maxMs` of virtual time. */
  async until<T>(
    what: string,
    check: () => T | undefined | false,
    { maxMs = 120_000, stepMs = STEP_MS }: { maxMs?: number; stepMs?: number } = {}
  ): Promise<T> {
    const end = this.clock.now() + maxMs;
    for (;;) {
      await this.flush();
      const v = check();
      if (v !== undefined && v !== false) return v;
      if (this.clock.now() >= end) throw new Error(`not reached in ${maxMs} ms of virtual time: ${what}`);
      this.clock.advance(stepMs);
    }
  }

  /** Move time until `promise` settles (within `maxMs` of virtual time), and return its outcome. */
  async settle<T>(promise: Promise<T>, options: { maxMs?: number } = {}): Promise<T> {
    let settled: Settled<T> | undefined;
    promise.then(
      (value) => (settled = { ok: true, value }),
      (error: unknown) => (settled = { ok: false, error })
    );
    const s = await this.until('the promise to settle', () => settled, options);
    if (!s.ok) throw s.error;
    return s.value;
  }
}
