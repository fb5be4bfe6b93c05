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

/**
 * A Node timer as a TimerHandle: `cancel` lives on the prototype, so a handle is one small
 * object, not an object plus a closure and its context per timer (every query has one, and
 * every idle node keeps its maintenance timer).
 */
class NodeTimeout implements TimerHandle {
  constructor(private readonly t: NodeJS.Timeout) {}
  cancel(): void {
    clearTimeout(this.t);
  }
}

class NodeImmediate implements TimerHandle {
  constructor(private readonly t: NodeJS.Immediate) {}
  cancel(): void {
    clearImmediate(this.t);
  }
}

/** Wall clock on Node's timers. Timers are unref'd so they never keep a process alive alone. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return new NodeTimeout(t);
  },
  setImmediate(fn) {
    return new NodeImmediate(setImmediate(fn));
  }
};
