/**
 * Promise-style waiting on an engine's state, with an AbortSignal: resolves when `value()` is
 * defined (at once if it already is), rejects on abort, on a fatal 'error', or when the engine
 * stopped without reaching the state.
 */
import { AbortError } from '../errors.js';
import type { EngineEmitter } from './engine.js';

export interface WaitSpec<T> {
  /** Emitted when the state may have been reached (`value()` tells). */
  event: 'metadata' | 'done' | 'piece';
  value: () => T | undefined;
  /** The engine is stopping or stopped. */
  stopped: () => boolean;
  /** The error to reject with when it stopped. */
  error: () => Error;
  signal?: AbortSignal;
}

export function waitForState<T>(engine: EngineEmitter, spec: WaitSpec<T>): Promise<T> {
  const now = spec.value();
  if (now !== undefined) return Promise.resolve(now);
  if (spec.signal?.aborted) return Promise.reject(new AbortError());
  if (spec.stopped()) return Promise.reject(spec.error());
  return new Promise<T>((resolve, reject) => {
    const cleanup = (): void => {
      engine.off(spec.event, onEvent);
      engine.off('error', onError);
      engine.off('progress', onProgress);
      spec.signal?.removeEventListener('abort', onAbort);
    };
    const onEvent = (): void => {
      const v = spec.value();
      if (v === undefined) return;
      cleanup();
      resolve(v);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    // An engine emits a last 'progress' when it has stopped: a stop without the event.
    const onProgress = (): void => {
      const v = spec.value();
      if (v !== undefined) {
        cleanup();
        resolve(v);
      } else if (spec.stopped()) {
        cleanup();
        reject(spec.error());
      }
    };
    const onAbort = (): void => {
      cleanup();
      reject(new AbortError());
    };
    engine.on(spec.event, onEvent);
    engine.on('error', onError);
    engine.on('progress', onProgress);
    spec.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
