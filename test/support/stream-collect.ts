/** Record what a WireStream delivers (copies: the stream may reuse its buffers) and whether it closed. */
import type { WireStream } from '../../lib/net/stream.js';
import { waitFor } from './wait.js';

export function collect(stream: WireStream): { bytes: () => Buffer; closed: () => boolean } {
  const chunks: Uint8Array[] = [];
  let closed = false;
  stream.onData((c) => chunks.push(Uint8Array.from(c)));
  stream.onClose(() => (closed = true));
  return { bytes: () => Buffer.concat(chunks), closed: () => closed };
}

/** Poll `fn` every few ms until it returns a value (bounded by `ms`). */
export function until<T>(fn: () => T | undefined | false, ms = 5000): Promise<T> {
  return waitFor('the condition', fn, { timeoutMs: ms, intervalMs: 2 });
}
