/**
 * Run `task` on every item, in order, with at most `limit` tasks running at once; resolves
 * when all have ended. Once `stop()` is true no further item is started. `task` reports its
 * own failures: a rejection ends its worker and rejects the whole (the others still finish).
 */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
  stop: () => boolean = () => false
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !stop()) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(0, Math.min(limit, items.length)) }, worker));
}
