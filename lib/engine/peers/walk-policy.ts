/**
 * The random walk's decisions, as pure functions over any key type: the engine (peers.ts via
 * random-walk.ts, keyed by address) and the swarm-graph model (bench/swarm-graph-model.ts,
 * keyed by peer number) both call these, so the figures in docs/no-routers.md are the engine's
 * rules and the two cannot drift apart.
 *
 * The rules:
 * - **A step**, at most one per interval: pick a neighbour uniformly (at the cap only one whose
 *   connection is at least `minAgeMs` old: fresh ones have not exchanged anything yet), then a
 *   peer uniformly from what that neighbour named as its own neighbours (its PEX list) that we
 *   may dial; a few tries, since one neighbour may name only peers we know.
 * - **Below the cap** the peer found becomes a dial candidate. **At the cap** the connection
 *   moves: the peer found is dialled first (one over the cap for a moment) and the neighbour
 *   walked through is closed only once that connection is up. It named the new peer as its
 *   own neighbour, so the path to it through the new one remains; a failed dial changes
 *   nothing.
 * - **Slack**: with the walk on, a full peer accepts up to `WALK_ACCEPT_SLACK` incoming
 *   connections over its cap (libtorrent's connections_slack), so moves reach full peers too.
 * - **Shedding**: over the cap (less one for a move of our own in progress) a peer closes one
 *   connection a tick, and only one it can spare: a neighbour that another neighbour named as
 *   its own (still reachable) and that named at least `SPARE_MIN_DEGREE` neighbours (it keeps
 *   others even if one of them closes on it at the same moment).
 * - Never for a private torrent (BEP 27: peers come from its trackers only).
 */
import type { RandomSource } from '../../util/random.js';

/** Incoming connections a full peer accepts over its cap while the walk is on. */
export const WALK_ACCEPT_SLACK = 2;
/** Neighbours a peer must have named before we close our connection to it. */
export const SPARE_MIN_DEGREE = 3;
/** Neighbours picked before a step gives up (the first may name only peers we know). */
const STEP_TRIES = 4;

/** What a neighbour told us about its own neighbours (a Map or Set keyed by peer). */
export interface NamedPeers<K> {
  has(key: K): boolean;
  readonly size: number;
  keys(): IterableIterator<K>;
}

export interface WalkNeighbour<K> {
  key: K;
  /** When the connection opened (ms). */
  since: number;
  /** Its neighbours, as its PEX messages named them. */
  named: NamedPeers<K>;
}

/** A step's outcome: dial `dial`, a neighbour of `via`; `move`: then close `via` (at the cap). */
export interface WalkDecision<K, N extends WalkNeighbour<K> = WalkNeighbour<K>> {
  dial: K;
  via: N;
  move: boolean;
}

/** Whether a step is due: at most one per interval. */
export function walkStepDue(lastStepAt: number, now: number, intervalMs: number): boolean {
  return now - lastStepAt >= intervalMs;
}

/**
 * One walk step over `neighbours` (`full`: at the connection cap). `dialable` says whether a
 * named peer may be dialled (not us, not a neighbour, not just dropped). Null: no step possible.
 */
export function chooseWalkStep<K, N extends WalkNeighbour<K>>(
  neighbours: readonly N[],
  full: boolean,
  now: number,
  minAgeMs: number,
  dialable: (key: K) => boolean,
  random: RandomSource
): WalkDecision<K, N> | null {
  // Only a neighbour we could leave can be walked through at the cap.
  const from = full ? neighbours.filter((n) => now - n.since >= minAgeMs) : neighbours;
  for (let attempt = 0; attempt < STEP_TRIES && from.length > 0; attempt++) {
    const via = from[random.int(from.length)]!;
    const candidates = [...via.named.keys()].filter(dialable);
    if (candidates.length === 0) continue;
    return { dial: candidates[random.int(candidates.length)]!, via, move: full };
  }
  return null;
}

/** Whether a peer with `connections` accepts another incoming one. */
export function acceptsIncoming(connections: number, maxConnections: number, walkOn: boolean): boolean {
  return connections < maxConnections + (walkOn ? WALK_ACCEPT_SLACK : 0);
}

/** Connections to shed this tick: over the cap, less one held by our own moves in progress. */
export function walkSurplus(connections: number, maxConnections: number, movesPending: number): number {
  return connections - maxConnections - Math.min(1, movesPending);
}

/**
 * Whether our connection to neighbour `peer` can be closed without splitting the swarm: it
 * named at least `SPARE_MIN_DEGREE` neighbours of its own, and another neighbour named it.
 * `namedBy(k)`: what neighbour `k` named, undefined for a peer that is not a neighbour.
 */
export function canSpare<K>(
  peer: K,
  neighbours: Iterable<K>,
  namedBy: (key: K) => NamedPeers<K> | undefined
): boolean {
  const own = namedBy(peer);
  if (!own || own.size < SPARE_MIN_DEGREE) return false;
  for (const k of neighbours) if (k !== peer && namedBy(k)?.has(peer)) return true;
  return false;
}

/** The policy as one object, so a caller can be handed it (and a test can watch it). */
export const WALK_POLICY = {
  stepDue: walkStepDue,
  chooseStep: chooseWalkStep,
  acceptsIncoming,
  surplus: walkSurplus,
  canSpare
};
export type WalkPolicy = typeof WALK_POLICY;
