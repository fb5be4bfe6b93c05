/**
 * Random-walk peer sampling on top of PEX (BEP 11): keeps a swarm's peer graph connected and
 * well mixed with no tracker and no DHT, once a peer knows one other peer of the swarm.
 *
 * PEX already tells us each neighbour's own neighbours (its `added` / `dropped` lists); this
 * class remembers them and applies the walk's rules (walk-policy.ts, shared with the swarm-graph
 * model) to them. A step asks a random neighbour for a random neighbour and dials it. Below
 * the connection cap that only adds a connection. At the cap the step moves the connection
 * instead: the peer found behind the neighbour walked through replaces that neighbour (only an
 * old enough connection: fresh ones have not exchanged anything yet). Each connection's far
 * end thereby performs a random walk over the swarm, one hop a step, so whatever the order in
 * which peers met, the graph drifts toward a uniformly random one — an expander. Keeping the
 * neighbour and adding its neighbour (triadic closure, what plain PEX does) would instead
 * build tight clusters joined by few links, which churn cuts (docs/no-routers.md measures
 * both).
 *
 * No sockets, no timers; time comes from the injected Clock and randomness from
 * the injected RandomSource. Bounded: at most one step per `intervalMs`, at most
 * `maxPeersPerNeighbour` peers remembered per neighbour, state only for current neighbours
 * plus `recentlyDroppedLimit` addresses not to redial at once.
 */
import { formatAddress, type Address } from '../../net/address.js';
import type { Clock } from '../../util/clock.js';
import type { RandomSource } from '../../util/random.js';
import { canSpare, chooseWalkStep, walkStepDue, type WalkNeighbour } from './walk-policy.js';

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

interface Neighbour extends WalkNeighbour<string> {
  address: Address;
  /** Its neighbours, as its PEX messages told us (key -> address). */
  named: Map<string, Address>;
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
      this.neighbours.set(key, { key, address: peer, since: this.clock.now(), named: new Map() });
  }

  /** A connection closed: what it told us is forgotten with it. */
  disconnected(peer: Address): void {
    this.neighbours.delete(formatAddress(peer));
  }

  /** A PEX message from a neighbour (ignored from anyone we are not connected to). */
  heard(from: Address, added: readonly Address[], dropped: readonly Address[] = []): void {
    const n = this.neighbours.get(formatAddress(from));
    if (!n) return;
    for (const d of dropped) n.named.delete(formatAddress(d));
    for (const a of added) {
      const key = formatAddress(a);
      if (n.named.has(key)) continue;
      if (n.named.size >= this.o.maxPeersPerNeighbour) {
        // A newcomer replaces a random entry: recent messages describe its current neighbours best.
        const victim = this.nth(n.named.keys(), this.random.int(n.named.size));
        n.named.delete(victim);
      }
      n.named.set(key, a);
    }
  }

  get size(): number {
    return this.neighbours.size;
  }

  /** Whether our connection to neighbour `peer` can be closed without splitting the swarm (walk-policy.ts). */
  spare(peer: Address): boolean {
    return canSpare(formatAddress(peer), this.neighbours.keys(), (k) => this.neighbours.get(k)?.named);
  }

  /**
   * One walk step if one is due and possible, else null. `full`: we are at the connection cap
   * (default: as many neighbours as `maxConnections`; an engine knows better, counting
   * connections the sampler does not see).
   */
  step(full = this.neighbours.size >= this.o.maxConnections): WalkStep | null {
    const now = this.clock.now();
    if (!walkStepDue(this.lastStepAt, now, this.o.intervalMs) || this.neighbours.size === 0) return null;
    this.lastStepAt = now;
    const d = chooseWalkStep<string, Neighbour>(
      [...this.neighbours.values()],
      full,
      now,
      this.o.minAgeMs,
      (k) => this.dialable(k),
      this.random
    );
    if (!d) return null;
    const dial = d.via.named.get(d.dial)!;
    if (!d.move) return { dial, via: d.via.address };
    this.rememberDropped(d.via.key);
    return { dial, via: d.via.address, drop: d.via.address };
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
