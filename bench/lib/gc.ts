/** A gc() function even when node was started without --expose-gc (benchmark use only). */
import v8 from 'node:v8';
import vm from 'node:vm';

export function getGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return () => g();
  v8.setFlagsFromString('--expose-gc');
  const fn = vm.runInNewContext('gc') as () => void;
  return () => fn();
}

/** Full GC a few times until heapUsed stops shrinking; returns heapUsed. */
export function settledHeap(gc: () => void): number {
  let last = Infinity;
  for (let i = 0; i < 6; i++) {
    gc();
    const now = process.memoryUsage().heapUsed;
    if (now >= last - 1024) return now;
    last = now;
  }
  return last;
}
