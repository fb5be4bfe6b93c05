/**
 * Random-walk peer sampling on top of PEX (BEP 11): keeps a swarm's peer graph connected and
 * well mixed with no tracker and no DHT, once a peer knows one other peer of the swarm.
 *
 * PEX already tells us each neighbour's own neighbours (its `added` / `dropped` lists). A walk
 * step asks a random neighbour for a random neighbour: it picks a neighbour uniformly, then a
 * peer uniformly from what that neighbour last told us, and dials it. Below the connection
 * cap that only adds a connection. At the cap the step moves the connection instead: it closes
 * the neighbour it walked through (if that connection is at least `minAgeMs` old: fresh ones
 * have not exchanged anything yet) and dials the peer found behind it. Each connection's far
 * end thereby performs a random walk over the swarm, one hop a step, so whatever the order in
 * which peers met, the graph drifts toward a uniformly random one — an expander. Keeping the
 * neighbour and adding its neighbour (triadic closure, what plain PEX does) would instead
 * build tight clusters joined by few links, which churn cuts (docs/no-routers.md measures
 * both).
 *
 * Pure policy: no sockets, no timers; time comes from the injected Clock and randomness from
 * the injected RandomSource. Bounded: at most one step per `intervalMs`, at most
 * `maxPeersPerNeighbour` peers remembered per neighbour, state only for current neighbours
 * plus `recentlyDroppedLimit` addresses not to redial at once.
 */
import { formatAddress, type Address } from '../../net/address.js';
import type { Clock } from '../../util/clock.js';
import type { RandomSource } from '../../util/random.js';

export interface RandomWalkOptions {
  /** Least time between two steps, ms (PEX itself sends at most once a minute per peer). */
  intervalMs: number;
  /** Connections we keep; at the cap a step swaps one connection for the walk's peer. */
  maxConnections: number;
  /** A connection younger than this is never closed by a step, ms. */
  minAgeMs: number;
  /** Peers remembered from one neighbour's PEX messages. */
  maxPeersPerNeighbour: number;
  /** Addresses closed by a step that are not dialled again (the oldest forgotten first). */
  recentlyDroppedLimit: number;
}

/** BEP 11 allows one PEX message a minute per peer: one walk step a minute matches it. */
export const DEFAULT_RANDOM_WALK: RandomWalkOptions = {
  intervalMs: 60_000,
  maxConnections: 50,
  minAgeMs: 120_000,
  maxPeersPerNeighbour: 200,
  recentlyDroppedLimit: 64
};

/** The engine's `randomWalk` option as the sampler's options (less the cap), or undefined: off. */
export function walkOptions(option: boolean | Partial<Pick<RandomWalkOptions, 'intervalMs' | 'minAgeMs'>>): {
  randomWalk?: Omit<RandomWalkOptions, 'maxConnections'>;
} {
  if (option === false) return {};
  const { maxConnections: _cap, ...defaults } = DEFAULT_RANDOM_WALK;
  return { randomWalk: { ...defaults, ...(option === true ? {} : option) } };
}

/** What a step asks the owner to do. */
export interface WalkStep {
  /** Dial this peer (a neighbour of `via`). */
  dial: Address;
  /** The neighbour whose PEX list named it. */
  via: Address;
  /** Close this connection first (we are at the cap). */
  drop?: Address;
}

interface Neighbour {
  address: Address;
  since: number;
  /** Its neighbours, as its PEX messages told us (key -> address). */
  peers: Map<string, Address>;
}

export class RandomWalkSampler {
  private readonly o: RandomWalkOptions;
  private readonly neighbours = new Map<string, Neighbour>();
  /** Insertion order is age: the oldest is forgotten first. */
  private readonly recentlyDropped = new Set<string>();
  private lastStepAt = -Infinity;
  private readonly selfKey: string | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly random: RandomSource,
    options: Partial<RandomWalkOptions> = {},
    /** Our own address, never dialled. */
    self?: Address
  ) {
    this.o = { ...DEFAULT_RANDOM_WALK, ...options };
    this.selfKey = self ? formatAddress(self) : undefined;
  }

  /** A connection opened (either way). */
  connected(peer: Address): void {
    const key = formatAddress(peer);
    if (!this.neighbours.has(key))
      this.neighbours.set(key, { address: peer, since: this.clock.now(), peers: new Map() });
  }

  /** A connection closed: what it told us is forgotten with it. */
  disconnected(peer: Address): void {
    this.neighbours.delete(formatAddress(peer));
  }

  /** A PEX message from a neighbour (ignored from anyone we are not connected to). */
  heard(from: Address, added: readonly Address[], dropped: readonly Address[] = []): void {
    const n = this.neighbours.get(formatAddress(from));
    if (!n) return;
    for (const d of dropped) n.peers.delete(formatAddress(d));
    for (const a of added) {
      const key = formatAddress(a);
      if (n.peers.has(key)) continue;
      if (n.peers.size >= this.o.maxPeersPerNeighbour) {
        // A newcomer replaces a random entry: recent messages describe its current neighbours best.
        const victim = this.nth(n.peers.keys(), this.random.int(n.peers.size));
        n.peers.delete(victim);
      }
      n.peers.set(key, a);
    }
  }

  get size(): number {
    return this.neighbours.size;
  }

  /**
   * Whether our connection to neighbour `peer` can be closed without splitting the swarm:
   * another neighbour named it as its own (a path to it remains through that one), and it
   * named at least `minDegree` neighbours of its own (it keeps others even if one of them
   * closes its connection at the same moment, on the same reasoning).
   */
  spare(peer: Address, minDegree = 3): boolean {
    const key = formatAddress(peer);
    const own = this.neighbours.get(key);
    if (!own || own.peers.size < minDegree) return false;
    for (const [k, n] of this.neighbours) if (k !== key && n.peers.has(key)) return true;
    return false;
  }

  /**
   * One walk step if one is due and possible, else null. `full`: we are at the connection cap
   * (default: as many neighbours as `maxConnections`; an engine knows better, counting
   * connections the sampler does not see).
   */
  step(full = this.neighbours.size >= this.o.maxConnections): WalkStep | null {
    const now = this.clock.now();
    if (now - this.lastStepAt < this.o.intervalMs || this.neighbours.size === 0) return null;
    this.lastStepAt = now;
    const list = [...this.neighbours.values()];
    // Only a neighbour we could leave can be walked through at the cap.
    const from = full ? list.filter((n) => now - n.since >= this.o.minAgeMs) : list;
    // A few tries: the first neighbour picked may only name peers we already know.
    for (let attempt = 0; attempt < 4 && from.length > 0; attempt++) {
      const via = from[this.random.int(from.length)]!;
      const candidates = [...via.peers].filter(([k]) => this.dialable(k));
      if (candidates.length === 0) continue;
      const [, dial] = candidates[this.random.int(candidates.length)]!;
      if (!full) return { dial, via: via.address };
      this.rememberDropped(formatAddress(via.address));
      return { dial, via: via.address, drop: via.address };
    }
    return null;
  }

  private dialable(key: string): boolean {
    return key !== this.selfKey && !this.neighbours.has(key) && !this.recentlyDropped.has(key);
  }

  private rememberDropped(key: string): void {
    this.recentlyDropped.add(key);
    if (this.recentlyDropped.size > this.o.recentlyDroppedLimit)
      this.recentlyDropped.delete(this.recentlyDropped.values().next().value!);
  }

  private nth<T>(it: Iterable<T>, i: number): T {
    let k = 0;
    for (const v of it) if (k++ === i) return v;
    throw new RangeError('index out of range');
  }
}
