/**
 * The library's one event emitter (DHT, engine, Swarm, crawler, peer wire, extensions).
 *
 * Event maps are `type`s of name -> listener argument tuple (labelled), e.g.
 * `type Events = { peer: [peer: Address, infoHash: Uint8Array] }`.
 *
 * 'error' is an event like any other: emitting it without a listener does nothing (unlike
 * node:events, which throws). The library reports failures as events from inside socket and
 * timer callbacks, where a throw would crash the process; a fatal error also ends the
 * operation it stops (a rejected promise, a closed wire), so nothing depends on the throw.
 *
 * Listeners run synchronously in the order they were added; one added during an emit is not
 * called by that emit. A listener that throws stops the emit and the throw reaches the emitter.
 */

/** Event name -> listener argument tuple. Declare event maps as `type`, not `interface`. */
export type EventMap = Record<string, unknown[]>;

type Listener<A extends unknown[]> = (...args: A) => void;
/** A `once` wrapper remembers the listener it wraps, so `off(event, listener)` removes it. */
type Stored = Listener<never[]> & { listener?: unknown };

export class TypedEmitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Stored[]>();

  on<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    const list = this.listeners.get(event);
    if (list) list.push(fn as unknown as Stored);
    else this.listeners.set(event, [fn as unknown as Stored]);
    return this;
  }

  once<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    const wrapper = (...args: E[K]): void => {
      this.removeStored(event, wrapper as unknown as Stored);
      fn(...args);
    };
    (wrapper as unknown as Stored).listener = fn;
    return this.on(event, wrapper);
  }

  off<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    const list = this.listeners.get(event);
    if (!list) return this;
    const i = list.findIndex((l) => l === (fn as unknown) || l.listener === fn);
    if (i >= 0) this.removeStored(event, list[i]!);
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

  /** Drop every listener of every event (an owner shutting down for good). */
  protected removeAllListeners(): void {
    this.listeners.clear();
  }

  private removeStored(event: keyof E, stored: Stored): void {
    const list = this.listeners.get(event);
    if (!list) return;
    const i = list.indexOf(stored);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.listeners.delete(event);
  }
}
