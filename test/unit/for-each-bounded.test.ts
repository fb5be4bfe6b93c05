/** forEachBounded: every item once, in order, never more than the limit at once, and a stop. */
import { describe, expect, it } from '@jest/globals';
import { forEachBounded } from '../../lib/util/for-each-bounded.js';

/** Tasks that end when the test says so, recording what runs. */
function controlled(): {
  task: (i: number) => Promise<void>;
  running: Set<number>;
  started: number[];
  maxRunning: () => number;
  finish: (i: number) => void;
} {
  const running = new Set<number>();
  const started: number[] = [];
  const ends = new Map<number, () => void>();
  let max = 0;
  return {
    running,
    started,
    maxRunning: () => max,
    task: (i) =>
      new Promise<void>((resolve) => {
        running.add(i);
        started.push(i);
        max = Math.max(max, running.size);
        ends.set(i, () => {
          running.delete(i);
          resolve();
        });
      }),
    finish: (i) => ends.get(i)!()
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('forEachBounded', () => {
  it('starts items in order, at most `limit` at once, and resolves when all have ended', async () => {
    const c = controlled();
    let done = false;
    const all = forEachBounded([0, 1, 2, 3, 4], 2, c.task).then(() => (done = true));
    await turn();
    expect(c.started).toEqual([0, 1]);
    c.finish(1);
    await turn();
    expect(c.started).toEqual([0, 1, 2]);
    expect([...c.running].sort()).toEqual([0, 2]);
    for (const i of [0, 2, 3]) {
      c.finish(i);
      await turn();
    }
    expect(c.started).toEqual([0, 1, 2, 3, 4]);
    expect(done).toBe(false);
    c.finish(4);
    await all;
    expect(done).toBe(true);
    expect(c.maxRunning()).toBe(2);
  });

  it('starts nothing more once told to stop; an empty list resolves at once', async () => {
    const c = controlled();
    let stop = false;
    const all = forEachBounded([0, 1, 2, 3], 1, c.task, () => stop);
    await turn();
    stop = true;
    c.finish(0);
    await all;
    expect(c.started).toEqual([0]);
    await forEachBounded([], 3, c.task);
  });
});
