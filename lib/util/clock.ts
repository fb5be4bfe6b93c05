/**
 * Injectable time source. Everything that waits or reads the time takes a Clock, so the
 * simulated network can run thousands of nodes in virtual time and unit tests can move time
 * by hand (test/support/fake-clock.ts).
 */
export interface TimerHandle {
  /** Cancel the timer; harmless if it already fired. */
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since an arbitrary epoch. */
  now(): number;
  /** Run `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /**
   * Run `fn` once soon, after the I/O callbacks of this turn (Node's setImmediate), at the
   * current time: work batched "once per turn however often it is asked" goes through this.
   * A virtual clock runs it when time next moves (even by 0 ms).
   */
  setImmediate(fn: () => void): TimerHandle;
}

/** Wall clock on Node's timers. Timers are unref'd so they never keep a process alive alone. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
  setImmediate(fn) {
    const t = setImmediate(fn);
    return { cancel: () => clearImmediate(t) };
  }
};
