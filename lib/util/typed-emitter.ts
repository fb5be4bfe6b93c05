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

/**
 * The listener table: event names and their listener lists side by side, [name, list, name,
 * list, ...], each array of exactly its size (built with concat and slice: a spread or a push
 * leaves room for 16 more). Emitters hold a few events each, and a scan of a
 * few interned names is as fast as a Map lookup at a fraction of its memory (a Map with one
 * event costs ~180 bytes; every DHT node, swarm and wire has an emitter). Lists are never
 * changed in place but replaced, so an emit goes through the list as it was when it began.
 */
type Table = readonly (string | readonly Stored[])[];
const NO_LISTENERS: Table = Object.freeze([]);

export class TypedEmitter<E extends EventMap> {
  private table: Table = NO_LISTENERS;

  on<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    const i = this.indexOf(event);
    const stored = fn as unknown as Stored;
    if (i < 0) this.table = this.table.concat([event as string, [stored]]);
    else (this.table as (string | readonly Stored[])[])[i + 1] = this.listAt(i).concat([stored]);
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
    const i = this.indexOf(event);
    if (i < 0) return this;
    const stored = this.listAt(i).find((l) => l === (fn as unknown) || l.listener === fn);
    if (stored) this.removeStored(event, stored);
    return this;
  }

  listenerCount<K extends keyof E>(event: K): number {
    const i = this.indexOf(event);
    return i < 0 ? 0 : this.listAt(i).length;
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const i = this.indexOf(event);
    if (i < 0) return;
    const list = this.listAt(i);
    if (list.length === 1) {
      (list[0] as unknown as Listener<E[K]>)(...args);
      return;
    }
    for (const fn of list) (fn as unknown as Listener<E[K]>)(...args);
  }

  /** Drop every listener of every event (an owner shutting down for good). */
  protected removeAllListeners(): void {
    this.table = NO_LISTENERS;
  }

  /** Where `event`'s name is in the table (its list follows it), or -1. */
  private indexOf(event: keyof E): number {
    const t = this.table;
    for (let i = 0; i < t.length; i += 2) if (t[i] === event) return i;
    return -1;
  }

  private listAt(i: number): readonly Stored[] {
    return this.table[i + 1] as readonly Stored[];
  }

  private removeStored(event: keyof E, stored: Stored): void {
    const i = this.indexOf(event);
    if (i < 0) return;
    const list = this.listAt(i);
    const j = list.indexOf(stored);
    if (j < 0) return;
    if (list.length > 1) {
      (this.table as (string | readonly Stored[])[])[i + 1] = list.slice(0, j).concat(list.slice(j + 1));
      return;
    }
    const t = this.table;
    this.table = t.length === 2 ? NO_LISTENERS : t.slice(0, i).concat(t.slice(i + 2));
  }
}
