/**
 * Who we upload to: the BEP 3 tit-for-tat choker as a pure policy (libtorrent `choker.cpp`
 * style). The engine measures rates, calls `recompute` every `recalcMs` (and when an unchoked
 * peer leaves), then sends CHOKE/UNCHOKE for the difference.
 *
 * - Leeching: the `regularSlots` interested peers that upload to us fastest are unchoked
 *   (reciprocation). Snubbed peers (sent us nothing for a while) get no regular slot.
 * - Seeding: nobody uploads to us, so the peers we upload to fastest keep their slots: it
 *   favours peers that can actually take the data and spreads it quickly.
 * - Optimistic unchoke: `optimisticSlots` more interested, choked peers, rotated every
 *   `optimisticRotateMs`. It is how newcomers with nothing to trade get their first pieces
 *   and how we discover faster partners. Peers connected recently (within `newPeerMs`) are
 *   three times as likely to be picked, as in the original client.
 *
 * Not done (deliberately): BEP 3 also unchokes uninterested peers faster than the slowest
 * regular one; it only saves a round trip when they become interested, and costs churn.
 */
import type { Clock } from '../../util/clock.js';
import type { RandomSource } from '../../util/random.js';

export interface PeerSnapshot<P> {
  id: P;
  /** They are interested in our pieces. */
  interested: boolean;
  /** Bytes/s they send us. */
  downloadRate: number;
  /** Bytes/s we send them. */
  uploadRate: number;
  /** They have sent us nothing for a while although unchoked and requested. */
  snubbed?: boolean;
  /** When the connection was established (clock ms), for the new-peer weighting. */
  connectedAt?: number;
}

export interface ChokerOptions {
  regularSlots?: number;
  optimisticSlots?: number;
  recalcMs?: number;
  optimisticRotateMs?: number;
  /** A peer connected for less than this counts as new (weight 3). Default 3 rotations. */
  newPeerMs?: number;
  clock: Clock;
  random: RandomSource;
}

export interface ChokeDecision<P> {
  /** Every peer that should be unchoked: regular and optimistic. */
  unchoke: Set<P>;
  /** The (first) optimistic unchoke. */
  optimistic: P | undefined;
  /** All optimistic unchokes (length <= optimisticSlots). */
  optimisticPeers: P[];
}

export class Choker<P = string> {
  readonly regularSlots: number;
  readonly optimisticSlots: number;
  readonly recalcMs: number;
  readonly optimisticRotateMs: number;
  readonly newPeerMs: number;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private optimistic: P[] = [];
  private lastRotation = -Infinity;
  private lastRecompute = -Infinity;
  private regular = new Set<P>();

  constructor(opts: ChokerOptions) {
    this.regularSlots = opts.regularSlots ?? 4;
    this.optimisticSlots = opts.optimisticSlots ?? 1;
    this.recalcMs = opts.recalcMs ?? 10_000;
    this.optimisticRotateMs = opts.optimisticRotateMs ?? 30_000;
    this.newPeerMs = opts.newPeerMs ?? 3 * this.optimisticRotateMs;
    this.clock = opts.clock;
    this.random = opts.random;
  }

  /** True when `recalcMs` has passed since the last `recompute` (for an engine tick). */
  isDue(): boolean {
    return this.clock.now() - this.lastRecompute >= this.recalcMs;
  }

  /** Start a fresh optimistic rotation at the next `recompute`. */
  forceRotation(): void {
    this.lastRotation = -Infinity;
  }

  recompute(peers: readonly PeerSnapshot<P>[], seeding: boolean): ChokeDecision<P> {
    const now = this.clock.now();
    this.lastRecompute = now;
    const byId = new Map(peers.map((p) => [p.id, p]));

    // Regular slots. Shuffle first so equal rates are ordered at random, then prefer peers that
    // already hold a slot among equals (fewer CHOKE/UNCHOKE flips).
    const eligible = this.shuffle(peers.filter((p) => p.interested && (seeding || !p.snubbed)));
    const rate = (p: PeerSnapshot<P>): number => (seeding ? p.uploadRate : p.downloadRate);
    eligible.sort(
      (a, b) => rate(b) - rate(a) || Number(this.regular.has(b.id)) - Number(this.regular.has(a.id))
    );
    this.regular = new Set(eligible.slice(0, this.regularSlots).map((p) => p.id));

    // Optimistic slots: keep the current ones until the rotation is due, unless they left,
    // lost interest, or earned a regular slot.
    const rotate = now - this.lastRotation >= this.optimisticRotateMs;
    if (rotate) this.lastRotation = now;
    const keep = rotate
      ? []
      : this.optimistic.filter((id) => byId.get(id)?.interested === true && !this.regular.has(id));
    let pool = peers.filter((p) => p.interested && !this.regular.has(p.id) && !keep.includes(p.id));
    // A rotation moves the slot on: the previous holders are picked again only if nobody else can be.
    const fresh = pool.filter((p) => !this.optimistic.includes(p.id));
    if (rotate && fresh.length >= this.optimisticSlots) pool = fresh;
    const chosen = [...keep];
    while (chosen.length < this.optimisticSlots && pool.length > 0) {
      const index = this.weightedIndex(pool, now);
      chosen.push((pool[index] as PeerSnapshot<P>).id);
      pool.splice(index, 1);
    }
    this.optimistic = chosen;

    return {
      unchoke: new Set([...this.regular, ...chosen]),
      optimistic: chosen[0],
      optimisticPeers: [...chosen]
    };
  }

  /** Index into `pool`, new peers weighted 3, others 1. */
  private weightedIndex(pool: PeerSnapshot<P>[], now: number): number {
    const weight = (p: PeerSnapshot<P>): number =>
      p.connectedAt !== undefined && now - p.connectedAt < this.newPeerMs ? 3 : 1;
    let total = 0;
    for (const p of pool) total += weight(p);
    let r = this.random.int(total);
    for (let i = 0; i < pool.length; i++) {
      r -= weight(pool[i] as PeerSnapshot<P>);
      if (r < 0) return i;
    }
    return pool.length - 1;
  }

  private shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.random.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }
}
