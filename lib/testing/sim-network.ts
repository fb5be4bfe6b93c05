/**
 * In-memory simulated network with a virtual clock, for running thousands of DHT nodes
 * deterministically in one process (the libtorrent `simulation/` / pubky `Testnet` idea).
 *
 * One event queue holds both datagram deliveries and timers set through `network.clock`,
 * ordered by (virtual time, sequence number), so equal-time events run in FIFO order and a
 * run with the same seed replays exactly. Virtual time moves only when runFor / runUntil /
 * settle process events; nothing waits in real time. After every event the driver yields one
 * real macrotask (setImmediate) so promise continuations scheduled by that event (DHT code
 * awaits a lot) run before the next event, at the virtual time they belong to.
 */
import { MAX_DATAGRAM_RECV_BYTES } from '../constants.js';
import { TrackerlessError, TimeoutError } from '../errors.js';
import { formatAddress, type Address } from '../net/address.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { type RandomSource, seededRandom } from '../util/random.js';
import type { DatagramHandler, Transport } from '../net/transport.js';

/** Port given to automatically addressed transports. */
export const SIM_DEFAULT_PORT = 6881;
/** First port handed out for port 0 ("any port"), like an OS ephemeral range. */
const SIM_EPHEMERAL_PORT = 49152;

export type LatencyModel = number | ((from: Address, to: Address) => number);

export interface SimNetworkOptions {
  /** Seed of the network's RNG (loss, jitter, and `network.random`). Default 1. */
  seed?: number;
  /** One-way delay in virtual ms, fixed or per (from, to). Default 10. */
  latencyMs?: LatencyModel;
  /** Probability in [0, 1] that a datagram is lost. Default 0. */
  lossRate?: number;
  /** Extra uniform delay in [0, jitterMs] integer ms. Can reorder datagrams. Default 0. */
  jitterMs?: number;
  /** Max events one runFor/runUntil/settle call may process before throwing. Default 50M. */
  maxEvents?: number;
  /**
   * When to let promise continuations run: after every event ('event', the default: like Node,
   * which drains microtasks after each I/O or timer callback), or once per virtual instant
   * ('instant': all events due at the same time run back to back, then one flush). Each flush
   * costs one real event-loop turn (~1-5 us), so 'instant' is much faster on big networks with
   * integer latencies, at the price of a less faithful interleaving within one instant.
   */
  yieldPer?: 'event' | 'instant';
}

export type SendHook = (from: Address, to: Address, data: Uint8Array, time: number) => void;

/** A queued timer or datagram. One shape for both keeps the heap monomorphic. */
interface SimEvent {
  time: number;
  seq: number;
  /** Timer callback; null for a delivery. */
  fn: (() => void) | null;
  /** Delivery: destination key, source and payload. */
  to: string;
  from: Address | null;
  data: Uint8Array | null;
  /** Cancelled, or already fired (so a late cancel() is a no-op). */
  done: boolean;
  /** Position in the heap array (-1 once out of it), so a cancelled timer leaves at once. */
  index: number;
}

const flushMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class SimNetwork {
  /** Virtual clock: give it to every node on this network. */
  readonly clock: Clock;
  /** Deterministic RNG of this network, handy for node ids and per-node random sources. */
  readonly random: RandomSource;
  /** Latency, loss and jitter may be changed between runs (e.g. to model a partition). */
  latencyMs: LatencyModel;
  lossRate: number;
  jitterMs: number;
  /** Called for every datagram sent by an open transport, before loss is drawn. */
  onSend?: SendHook;

  private readonly maxEvents: number;
  private readonly yieldPerEvent: boolean;
  private readonly heap: SimEvent[] = [];
  private readonly transports = new Map<string, SimTransport>();
  private time = 0;
  private seq = 0;
  private live = 0;
  private pendingDeliveries = 0;
  private nextHost = 1;
  private nextEphemeral = SIM_EPHEMERAL_PORT;
  private running = false;
  private counters = { sent: 0, delivered: 0, dropped: 0 };

  constructor(opts: SimNetworkOptions = {}) {
    this.random = seededRandom(opts.seed ?? 1);
    this.latencyMs = opts.latencyMs ?? 10;
    this.lossRate = opts.lossRate ?? 0;
    this.jitterMs = opts.jitterMs ?? 0;
    this.maxEvents = opts.maxEvents ?? 50_000_000;
    this.yieldPerEvent = (opts.yieldPer ?? 'event') === 'event';
    this.clock = {
      now: () => this.time,
      setTimeout: (fn, ms) => this.scheduleTimer(fn, ms),
      setImmediate: (fn) => this.scheduleTimer(fn, 0)
    };
  }

  /** Datagrams sent by open transports. */
  get sent(): number {
    return this.counters.sent;
  }
  /** Datagrams handed to a receiver. */
  get delivered(): number {
    return this.counters.delivered;
  }
  /** Datagrams lost (lossRate), oversized, or addressed to nobody open. */
  get dropped(): number {
    return this.counters.dropped;
  }
  /** Datagrams sent but not yet delivered or dropped. */
  get inFlight(): number {
    return this.pendingDeliveries;
  }
  /** Timers and deliveries still queued (cancelled timers excluded). */
  get pendingEvents(): number {
    return this.live;
  }
  /** Open transports. */
  get size(): number {
    return this.transports.size;
  }

  /**
   * A transport on this network. Without `host`, a unique 10.x.y.z address is assigned; port
   * defaults to SIM_DEFAULT_PORT, and port 0 picks a free ephemeral port. Throws
   * ERR_INVALID_ADDRESS if the address is taken, ERR_INVALID_PORT for a bad port.
   */
  createTransport(host?: string, port?: number): Transport {
    if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 0xffff)) {
      throw new TrackerlessError('ERR_INVALID_PORT', `invalid port ${port}`);
    }
    let address: Address;
    if (host === undefined) {
      address = this.allocateHost(port === undefined || port === 0 ? SIM_DEFAULT_PORT : port);
    } else if (port === 0) {
      address = { host, port: this.allocatePort(host) };
    } else {
      address = { host, port: port ?? SIM_DEFAULT_PORT };
    }
    const key = formatAddress(address);
    if (this.transports.has(key)) {
      throw new TrackerlessError('ERR_INVALID_ADDRESS', `address ${key} is already in use`);
    }
    const transport: SimTransport = new SimTransport(
      Object.freeze(address),
      (data, to) => this.transmit(transport, data, to),
      () => this.detach(transport, key)
    );
    this.transports.set(key, transport);
    return transport;
  }

  /** Process every event due in the next `ms` virtual ms, then set the clock to now + ms. */
  async runFor(ms: number): Promise<void> {
    await this.run(this.time + ms, null);
  }

  /**
   * Process events until `predicate()` holds (checked before the first event and after each)
   * or `maxMs` of virtual time has passed. Returns whether the predicate held. On success the
   * clock stays at the time of the event that satisfied it.
   */
  async runUntil(predicate: () => boolean, maxMs: number): Promise<boolean> {
    return this.run(this.time + maxMs, predicate);
  }

  /** Drive virtual time until `work` settles; throws if it has not within `maxMs` virtual ms. */
  async runWork<T>(work: Promise<T>, maxMs: number): Promise<T> {
    let done = false;
    const p = work.finally(() => (done = true));
    await this.runUntil(() => done, maxMs);
    if (!done) throw new TimeoutError(`simulation did not settle within ${maxMs} virtual ms`);
    return p;
  }

  /**
   * Process events until none are queued (no timers, nothing in flight), or `maxMs` passed.
   * Returns whether the network went idle. Nodes with periodic maintenance timers never go
   * idle: pass `maxMs`, or use runUntil(() => net.inFlight === 0, ...).
   */
  async settle(maxMs = Infinity): Promise<boolean> {
    return this.run(this.time + maxMs, () => this.live === 0);
  }

  // ---- datagrams ----

  private transmit(source: SimTransport, data: Uint8Array, to: Address): void {
    this.counters.sent++;
    const from = source.addr;
    this.onSend?.(from, to, data, this.time);
    if (this.lossRate > 0 && this.random.int(1_000_000) < this.lossRate * 1_000_000) {
      this.counters.dropped++;
      return;
    }
    const latency = typeof this.latencyMs === 'number' ? this.latencyMs : this.latencyMs(from, to);
    const jitter = this.jitterMs > 0 ? this.random.int(Math.floor(this.jitterMs) + 1) : 0;
    // Copy: like a real socket, the payload is captured at send time.
    const event = this.push(Math.max(0, latency + jitter), null);
    event.to = formatAddress(to);
    event.from = from;
    event.data = new Uint8Array(data);
    this.pendingDeliveries++;
  }

  private detach(transport: SimTransport, key: string): void {
    if (this.transports.get(key) === transport) this.transports.delete(key);
  }

  // ---- event queue ----

  private scheduleTimer(fn: () => void, ms: number): TimerHandle {
    const event = this.push(ms > 0 ? ms : 0, fn); // NaN and negatives mean "now", like Node
    return {
      cancel: () => {
        if (event.done) return;
        event.done = true;
        event.fn = null;
        this.live--;
        // Out of the heap now: most timers are query timeouts cancelled by the reply; left in
        // place until their time, they made the heap ~8x larger than the live events during a
        // 1,500-node build, every entry kept alive (and copied) through young-generation GCs.
        this.removeAt(event.index);
      }
    };
  }

  private push(delay: number, fn: (() => void) | null): SimEvent {
    const event: SimEvent = {
      time: this.time + delay,
      seq: this.seq++,
      fn,
      to: '',
      from: null,
      data: null,
      done: false,
      index: -1
    };
    this.live++;
    this.heap.push(event);
    this.siftUp(event, this.heap.length - 1);
    return event;
  }

  private pop(): SimEvent | undefined {
    const top = this.heap[0];
    if (top !== undefined) this.removeAt(0);
    return top;
  }

  /** Take the entry at `i` out of the heap (no-op for -1: not in it). */
  private removeAt(i: number): void {
    const heap = this.heap;
    if (i < 0 || i >= heap.length) return;
    heap[i]!.index = -1;
    const last = heap.pop()!;
    if (i === heap.length) return; // it was the last entry
    if (i > 0 && before(last, heap[(i - 1) >> 1]!)) this.siftUp(last, i);
    else this.siftDown(last, i);
  }

  /** Place `event` at `i` or above, moving later parents down. */
  private siftUp(event: SimEvent, i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (before(p, event)) break;
      heap[i] = p;
      p.index = i;
      i = parent;
    }
    heap[i] = event;
    event.index = i;
  }

  /** Place `event` at `i` or below, moving earlier children up. */
  private siftDown(event: SimEvent, i: number): void {
    const heap = this.heap;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(heap[r]!, heap[l]!) ? r : l;
      const c = heap[child]!;
      if (before(event, c)) break;
      heap[i] = c;
      c.index = i;
      i = child;
    }
    heap[i] = event;
    event.index = i;
  }

  private async run(deadline: number, predicate: (() => boolean) | null): Promise<boolean> {
    if (this.running) throw new Error('SimNetwork: runFor/runUntil/settle called while already running');
    this.running = true;
    try {
      await flushMicrotasks(); // let the caller's pending continuations schedule their sends
      if (predicate?.()) return true;
      let processed = 0;
      for (;;) {
        const next = this.heap[0];
        if (next === undefined || next.time > deadline) break;
        this.pop();
        if (next.done) continue; // cancelled timer
        if (++processed > this.maxEvents) {
          throw new Error(`SimNetwork: more than ${this.maxEvents} events in one call (runaway timers?)`);
        }
        this.time = next.time;
        this.dispatch(next);
        if (this.yieldPerEvent || this.heap[0]?.time !== this.time) {
          await flushMicrotasks();
          if (predicate?.()) return true;
        }
      }
      if (Number.isFinite(deadline) && deadline > this.time) this.time = deadline;
      return predicate === null ? true : predicate();
    } finally {
      this.running = false;
    }
  }

  private dispatch(event: SimEvent): void {
    event.done = true;
    this.live--;
    const fn = event.fn;
    if (fn !== null) {
      event.fn = null;
      fn();
      return;
    }
    this.pendingDeliveries--;
    const data = event.data!;
    const from = event.from!;
    event.data = null;
    event.from = null;
    const target = this.transports.get(event.to);
    if (target === undefined || data.length > MAX_DATAGRAM_RECV_BYTES) {
      this.counters.dropped++;
      return;
    }
    this.counters.delivered++;
    target.receive(data, from);
  }

  /**
   * The n-th automatic address: 10.a.b.c with the low bits of n in the second and third octets,
   * so consecutive nodes land in different /24s, as random DHT nodes do (the IP diversity limits
   * of the routing table and lookups then see a realistic spread).
   */
  private allocateHost(port: number): Address {
    for (;;) {
      const n = this.nextHost++;
      const last = (n >>> 16) + 1; // 1..254: never a network/broadcast-looking address
      if (last > 254) throw new TrackerlessError('ERR_INVALID_ADDRESS', 'SimNetwork: out of 10/8 addresses');
      const address = { host: `10.${n & 0xff}.${(n >>> 8) & 0xff}.${last}`, port };
      if (!this.transports.has(formatAddress(address))) return address;
    }
  }

  private allocatePort(host: string): number {
    for (let tries = 0; tries < 0x10000 - SIM_EPHEMERAL_PORT; tries++) {
      const port = this.nextEphemeral;
      this.nextEphemeral = port === 0xffff ? SIM_EPHEMERAL_PORT : port + 1;
      if (!this.transports.has(formatAddress({ host, port }))) return port;
    }
    throw new TrackerlessError('ERR_INVALID_ADDRESS', `SimNetwork: no free port on ${host}`);
  }
}

/** Heap order: earlier time first, then lower sequence number (FIFO among equal times). */
function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

class SimTransport implements Transport {
  private handler: DatagramHandler | null = null;
  private closed = false;

  constructor(
    readonly addr: Address,
    private readonly transmit: (data: Uint8Array, to: Address) => void,
    private readonly detach: () => void
  ) {}

  send(data: Uint8Array, to: Address): void {
    // A closed socket sends nothing; the Transport contract forbids throwing.
    if (!this.closed) this.transmit(data, to);
  }

  sendv(parts: readonly Uint8Array[], to: Address): void {
    if (!this.closed) this.transmit(Buffer.concat(parts), to);
  }

  onMessage(handler: DatagramHandler): void {
    this.handler = handler;
  }

  onError(_handler: (err: Error) => void): void {
    // The simulated network has no asynchronous socket errors to report.
  }

  address(): Address {
    return { host: this.addr.host, port: this.addr.port };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handler = null;
    this.detach();
  }

  /** Called by the network for a datagram addressed to this transport. */
  receive(data: Uint8Array, from: Address): void {
    this.handler?.(data, from);
  }
}
