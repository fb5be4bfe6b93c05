/** AbortSignal plumbing shared by long-running operations. */
import { AbortError } from '../errors.js';
import type { Clock } from './clock.js';

/** An AbortController that follows `signal`; `dispose()` detaches it (no listener leak). */
export function linkedController(signal: AbortSignal | undefined): AbortController & { dispose(): void } {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  if (signal?.aborted) controller.abort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return Object.assign(controller, { dispose: () => signal?.removeEventListener('abort', onAbort) });
}

/** Wait `ms` on `clock`; rejects with AbortError (and cancels the timer) when `signal` fires. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError());
    const onAbort = (): void => {
      timer.cancel();
      reject(new AbortError());
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
