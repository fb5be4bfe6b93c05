/**
 * Joining the DHT from what we already know, before ever asking the public routers.
 *
 * Candidate nodes come from sources, tried in this order (JOIN_ORDER):
 *   'state'   the saved routing table,
 *   'torrent' a .torrent's `nodes` (BEP 5),
 *   'peers'   DHT ports of the peers we talk to (x.pe peers and the rest, by PORT messages),
 *   'lsd'     DHT ports of peers found on the LAN (BEP 14, then their PORT messages),
 *   'user'    a list the user gave,
 *   'routers' the public bootstrap routers — asked once every earlier candidate has failed,
 *             and, when other sources may still speak up (`waitForOthers`: LAN discovery
 *             runs, or x.pe peers will send PORT messages), not before `routerDelayMs`.
 * Candidates are pinged a few at a time, best source first, each once. The first that answers
 * is where we got in: `joinedVia` records its source, the 'joined' event reports it, and the
 * DHT runs its join lookup (find_node for our own id) from it. Sources can offer nodes at any
 * time (a PORT message arrives whenever a peer connects), so a node that hears nothing from
 * the routers still joins the moment any source yields a live node. Once joined, offered nodes
 * simply go to the DHT.
 *
 * Works over the DHT's public API (ping, addNode, findNode): a ping that is answered puts the
 * node in the routing table. Bounded: `maxPerSource` candidates kept per source, `maxInFlight`
 * pings at once; time through the injected Clock.
 */
import { formatAddress, type Address } from '../net/address.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { TypedEmitter } from '../util/typed-emitter.js';

export type JoinSource = 'state' | 'torrent' | 'peers' | 'lsd' | 'user' | 'routers';

export const JOIN_ORDER: readonly JoinSource[] = ['state', 'torrent', 'peers', 'lsd', 'user', 'routers'];

/** What the joiner needs of a DHT node (the DHT class fits). */
export interface JoinableDht {
  readonly nodeId: Uint8Array;
  ping(address: Address): Promise<Uint8Array>;
  addNode(address: Address): Promise<void>;
  findNode(target: Uint8Array): Promise<unknown>;
}

export interface JoinOptions {
  clock: Clock;
  /** The public routers, resolved only if they are needed (names need DNS). */
  routers?: () => Promise<Address[]>;
  /** Sources that offer nodes later may still speak up: give them `routerDelayMs`. */
  waitForOthers?: boolean;
  /** How long the other sources get before the routers are asked, ms. */
  routerDelayMs?: number;
  maxInFlight?: number;
  maxPerSource?: number;
}

export type JoinEvents = {
  /** We got in: `node` (from `source`) answered first. */
  joined: [source: JoinSource, node: Address];
  warning: [error: Error];
};

/** Default wait for the other sources before the routers: a LAN or x.pe peer's PORT comes fast. */
export const ROUTER_DELAY_MS = 10_000;

export class DhtJoin extends TypedEmitter<JoinEvents> {
  private readonly queues = new Map<JoinSource, Address[]>(JOIN_ORDER.map((s) => [s, []]));
  private readonly tried = new Set<string>();
  private inFlight = 0;
  private started = false;
  private routersDue = false;
  private routersLoaded = false;
  private timer: TimerHandle | null = null;
  private closed = false;
  private via: { source: JoinSource; node: Address } | null = null;
  private readonly routerDelayMs: number;
  private readonly maxInFlight: number;
  private readonly maxPerSource: number;

  constructor(
    private readonly dht: JoinableDht,
    private readonly o: JoinOptions
  ) {
    super();
    this.routerDelayMs = o.routerDelayMs ?? ROUTER_DELAY_MS;
    this.maxInFlight = o.maxInFlight ?? 3;
    this.maxPerSource = o.maxPerSource ?? 64;
  }

  /** Where we got in, once we have. */
  get joinedVia(): { source: JoinSource; node: Address } | null {
    return this.via;
  }

  /** Start pinging (best source first) and the routers' clock; later offers are tried at once. */
  start(): void {
    if (this.closed || this.started) return;
    this.started = true;
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = null;
      this.routersDue = true;
      this.pump();
    }, this.routerDelayMs);
    this.pump();
  }

  /** Candidate nodes from `source`. */
  offer(source: JoinSource, nodes: readonly Address[]): void {
    if (this.closed) return;
    if (this.via) {
      for (const n of nodes) this.dht.addNode(n).catch(() => {});
      return;
    }
    const queue = this.queues.get(source)!;
    for (const n of nodes) {
      const key = formatAddress(n);
      if (this.tried.has(key) || queue.length >= this.maxPerSource) continue;
      this.tried.add(key);
      queue.push(n);
    }
    this.pump();
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
    this.removeAllListeners();
  }

  private pump(): void {
    while (this.started && !this.closed && !this.via && this.inFlight < this.maxInFlight) {
      const next = this.next();
      if (!next) break;
      this.inFlight++;
      void this.dht
        .ping(next.node)
        .then(
          () => this.answered(next.source, next.node),
          () => {}
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }

  private next(): { source: JoinSource; node: Address } | null {
    for (const source of JOIN_ORDER) {
      if (source === 'routers') break;
      const node = this.queues.get(source)!.shift();
      if (node) return { source, node };
    }
    // Nothing else is queued. The routers come next unless an earlier candidate may still
    // answer, we have not started, or later sources get their time first.
    if (!this.routersDue && (this.inFlight > 0 || this.o.waitForOthers)) return null;
    this.routersDue = true;
    if (!this.routersLoaded) {
      this.routersLoaded = true;
      this.loadRouters();
      return null;
    }
    const node = this.queues.get('routers')!.shift();
    return node ? { source: 'routers', node } : null;
  }

  private loadRouters(): void {
    if (!this.o.routers) return;
    this.o.routers().then(
      (list) => this.offer('routers', list),
      (err: Error) => this.emit('warning', err)
    );
  }

  private answered(source: JoinSource, node: Address): void {
    if (this.via || this.closed) return;
    this.via = { source, node };
    this.timer?.cancel();
    this.timer = null;
    this.emit('joined', source, node);
    this.dht.findNode(this.dht.nodeId).catch((err: Error) => this.emit('warning', err));
    // What is still queued is worth knowing too.
    for (const queue of this.queues.values())
      for (const n of queue.splice(0)) this.dht.addNode(n).catch(() => {});
  }
}
