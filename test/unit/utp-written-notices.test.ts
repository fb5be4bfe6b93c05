/**
 * The callbacks of a uTP connection's writes (lib/utp/written-notices.ts): called in order once
 * the acknowledged stream offset passes the end of their write, each once, all when the
 * connection ends, also when a callback ends the connection while others wait.
 */
import { describe, expect, it } from '@jest/globals';
import { WrittenNotices } from '../../lib/utp/written-notices.js';

describe('uTP written notices', () => {
  it('calls each write once the acknowledged offset reaches its end, in order', () => {
    const n = new WrittenNotices();
    const called: number[] = [];
    for (const end of [100, 200, 200, 350]) n.add(end, () => called.push(end));
    expect(n.pending).toBe(true);
    n.release(99);
    expect(called).toEqual([]);
    n.release(200);
    expect(called).toEqual([100, 200, 200]);
    n.release(200);
    expect(called).toEqual([100, 200, 200]);
    n.release(1000);
    expect(called).toEqual([100, 200, 200, 350]);
    expect(n.pending).toBe(false);
  });

  it('calls every waiting write when the connection ends, also from inside a callback', () => {
    const n = new WrittenNotices();
    const called: number[] = [];
    n.add(10, () => {
      called.push(10);
      n.releaseAll(); // the write's owner closed the connection
    });
    n.add(20, () => called.push(20));
    n.add(30, () => called.push(30));
    n.release(10);
    expect(called).toEqual([10, 20, 30]);
    expect(n.pending).toBe(false);
    n.releaseAll();
    expect(called).toEqual([10, 20, 30]);
  });

  it('calls every one of many writes released in small steps', () => {
    const n = new WrittenNotices();
    let calls = 0;
    for (let i = 1; i <= 10_000; i++) {
      n.add(i * 10, () => calls++);
      if (i % 3 === 0) n.release(i * 10 - 15);
    }
    n.release(100_000);
    expect(calls).toBe(10_000);
    expect(n.pending).toBe(false);
  });
});
