/**
 * Injectable time source. Everything that waits or reads the time takes a Clock, so the
 * simulated network can run thousands of nodes in virtual time.
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
}

/** Wall clock on Node's timers. Timers are unref'd so they never keep a process alive alone. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  }
};
