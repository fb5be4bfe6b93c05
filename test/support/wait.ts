/** Bounded polling for real-network tests: no fixed sleeps, no unbounded loops. */
import { randomBytes } from 'node:crypto';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Re-run `check` every `intervalMs` until it returns a value other than undefined/false, or
 * until `timeoutMs` has passed (then throws with `what`). Each attempt is awaited, so a slow
 * check (a whole lookup) never overlaps the next one.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  {
    timeoutMs = 20_000,
    intervalMs = 250,
    detail
  }: {
    timeoutMs?: number;
    intervalMs?: number;
    /** State to put in the timeout error. */ detail?: () => string;
  } = {}
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  let lastError: unknown;
  for (;;) {
    attempts++;
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() + intervalMs > deadline) {
      const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      const state = detail ? `; state: ${detail()}` : '';
      throw new Error(
        `timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${what}${cause}${state}`
      );
    }
    await sleep(intervalMs);
  }
}

/** A random infohash as 40 hex characters. */
export function randomInfoHashHex(): string {
  return randomBytes(20).toString('hex');
}

/**
 * For unit tests waiting on real I/O (file system): let the event loop turn until `check`
 * holds, at most `maxTurns` times; no timers, so no wall-clock dependence. Returns whether it held.
 */
export async function untilIo(check: () => boolean, maxTurns = 10_000): Promise<boolean> {
  for (let i = 0; i < maxTurns; i++) {
    if (check()) return true;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return check();
}
