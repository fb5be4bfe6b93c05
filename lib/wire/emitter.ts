/**
 * A tiny typed event emitter. Unlike node:events, emitting 'error' without a listener does
 * not throw: a wire reports errors as events and closes itself, it never throws into the
 * stream's data callback.
 */
/** Event name -> listener argument tuple. Declare event maps as `type`, not `interface`. */
export type EventMap = Record<string, unknown[]>;

type Listener<A extends unknown[]> = (...args: A) => void;

export class TypedEmitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Listener<never[]>[]>();

  on<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    const list = this.listeners.get(event);
    if (list) list.push(fn as unknown as Listener<never[]>);
    else this.listeners.set(event, [fn as unknown as Listener<never[]>]);
    return this;
  }

  once<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    const wrapper = (...args: E[K]): void => {
      this.off(event, wrapper);
      fn(...args);
    };
    return this.on(event, wrapper);
  }

  off<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    const list = this.listeners.get(event);
    if (!list) return this;
    const i = list.indexOf(fn as unknown as Listener<never[]>);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.listeners.delete(event);
    return this;
  }

  listenerCount<K extends keyof E>(event: K): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const list = this.listeners.get(event);
    if (!list) return;
    if (list.length === 1) {
      (list[0] as unknown as Listener<E[K]>)(...args);
      return;
    }
    for (const fn of list.slice()) (fn as unknown as Listener<E[K]>)(...args);
  }
}
