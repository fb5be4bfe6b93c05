/** AbortSignal plumbing shared by long-running operations. */

/** An AbortController that follows `signal`; `dispose()` detaches it (no listener leak). */
export function linkedController(signal: AbortSignal | undefined): AbortController & { dispose(): void } {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  if (signal?.aborted) controller.abort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return Object.assign(controller, { dispose: () => signal?.removeEventListener('abort', onAbort) });
}
