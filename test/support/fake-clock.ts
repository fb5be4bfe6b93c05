/**
 * Manually driven Clock for unit tests: time only moves when the test calls advance(), and
 * due timers fire in (due time, creation order). Shared by every unit test that needs time.
 */
import type { Clock, TimerHandle } from '../../lib/util/clock.js';

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private time: number;
  private seq = 0;
  /** Pending timers; kept small in unit tests, so a sorted array beats a heap for clarity. */
  private timers: FakeTimer[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: FakeTimer = { at: this.time + Math.max(0, ms || 0), seq: this.seq++, fn };
    // Insert after every timer due at or before `at`, keeping FIFO order among equal times.
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.at > timer.at) i--;
    this.timers.splice(i, 0, timer);
    return {
      cancel: () => {
        const idx = this.timers.indexOf(timer);
        if (idx >= 0) this.timers.splice(idx, 1);
      }
    };
  }

  /** Runs at the current time, on the next advance() (even advance(0)). */
  setImmediate(fn: () => void): TimerHandle {
    return this.setTimeout(fn, 0);
  }

  /**
   * Move time forward by `ms`, firing each due timer at its own due time (so now() inside a
   * callback reads the time it was scheduled for). Timers scheduled by callbacks fire too if
   * they fall inside the window.
   */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = this.timers[0];
      if (next === undefined || next.at > end) break;
      this.timers.shift();
      this.time = next.at;
      next.fn();
    }
    this.time = end;
  }

  /** Number of timers not yet fired or cancelled. */
  pendingTimers(): number {
    return this.timers.length;
  }
}
