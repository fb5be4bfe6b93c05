import { describe, expect, it } from '@jest/globals';
import { TypedEmitter } from '../../lib/util/typed-emitter.js';

type Events = { a: [n: number]; b: []; constructor: []; __proto__: [] };

class E extends TypedEmitter<Events> {
  fire<K extends keyof Events>(event: K, ...args: Events[K]): void {
    this.emit(event, ...args);
  }
  clear(): void {
    this.removeAllListeners();
  }
}

describe('TypedEmitter', () => {
  it('calls listeners in order; one added during an emit waits for the next', () => {
    const e = new E();
    const seen: string[] = [];
    e.on('a', (n) => seen.push(`1:${n}`));
    e.on('a', (n) => {
      seen.push(`2:${n}`);
      if (n === 1) e.on('a', (m) => seen.push(`3:${m}`));
    });
    e.fire('a', 1);
    e.fire('a', 2);
    expect(seen).toEqual(['1:1', '2:1', '1:2', '2:2', '3:2']);
    expect(e.listenerCount('a')).toBe(3);
  });

  it('a listener removed during an emit is still called by that emit, not after', () => {
    const e = new E();
    const seen: number[] = [];
    const second = (): number => seen.push(2);
    e.on('a', () => {
      seen.push(1);
      e.off('a', second);
    });
    e.on('a', second);
    e.fire('a', 0);
    e.fire('a', 0);
    expect(seen).toEqual([1, 2, 1]);
  });

  it('once fires once and off removes it by the original listener', () => {
    const e = new E();
    let n = 0;
    e.once('b', () => n++);
    e.fire('b');
    e.fire('b');
    expect(n).toBe(1);
    const fn = (): number => n++;
    e.once('b', fn);
    e.off('b', fn);
    e.fire('b');
    expect(n).toBe(1);
    expect(e.listenerCount('b')).toBe(0);
  });

  it('keeps events apart, removes one registration at a time, and clears all', () => {
    const e = new E();
    const seen: string[] = [];
    const fn = (): number => seen.push('b');
    e.on('b', fn);
    e.on('b', fn);
    e.on('a', () => seen.push('a'));
    e.off('b', fn);
    e.fire('b');
    e.fire('a', 0);
    expect(seen).toEqual(['b', 'a']);
    e.off('b', fn);
    expect(e.listenerCount('b')).toBe(0);
    expect(e.listenerCount('a')).toBe(1);
    e.clear();
    e.fire('a', 0);
    expect(seen).toEqual(['b', 'a']);
  });

  it('event names that are Object.prototype properties are plain events', () => {
    const e = new E();
    let n = 0;
    e.fire('constructor');
    e.fire('__proto__');
    expect(e.listenerCount('constructor')).toBe(0);
    e.on('constructor', () => n++);
    e.on('__proto__', () => (n += 10));
    e.fire('constructor');
    e.fire('__proto__');
    expect(n).toBe(11);
  });
});
