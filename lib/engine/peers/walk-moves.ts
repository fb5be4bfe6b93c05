/**
 * The random walk acting on this torrent's connections (the sampler, random-walk.ts, says
 * where to go; this file dials and closes). A step below the cap adds a dial candidate. At the
 * cap the connection moves: the peer found is dialled at once (one over the cap for a moment)
 * and the neighbour walked through is closed only when that connection's handshake is done.
 * The neighbour named the peer as its own neighbour, so the path from us to it through the new
 * peer remains: a move never splits the swarm, and a dial that fails (or a full peer that
 * refuses us) changes nothing. After accepting into the slack, `shed` closes a connection the
 * sampler says can be spared, one a tick, back to the cap.
 */
import { formatAddress, type Address } from '../../net/address.js';
import type { PeerSession } from './peer-session.js';
import type { RandomWalkSampler } from './random-walk.js';
import { walkSurplus } from './walk-policy.js';

/** What the random-walk sampler did. */
export interface RandomWalkStats {
  /** Peers dialled on a walk step below the connection cap. */
  added: number;
  /** Connections moved at the cap: the peer found connected, then the neighbour walked through closed. */
  moved: number;
  /** Moves that did not happen: the peer found could not be reached or was full. */
  failed: number;
}

/** Walk moves whose dial is in progress (one starts a step, so a few at most). */
const MAX_PENDING_MOVES = 4;

/** What the moves need of the torrent's peers. */
export interface WalkMovesHost {
  /** Every connection, by its session, with the listen address the sampler knows it by. */
  readonly connections: ReadonlyMap<PeerSession, { readonly walkKey: Address | undefined }>;
  readonly maxConnections: number;
  hasRoom(): boolean;
  /** A dial candidate (false: not taken). */
  addCandidate(address: Address): boolean;
  /** Dial now, one over the cap (false: not dialled). */
  dialReplacing(address: Address): boolean;
}

export class WalkMoves {
  readonly counts: RandomWalkStats = { added: 0, moved: 0, failed: 0 };
  /** Moves in progress: the peer dialled (key) -> the neighbour to close once it is connected. */
  private readonly pending = new Map<string, Address>();

  constructor(
    private readonly walk: RandomWalkSampler,
    private readonly host: WalkMovesHost
  ) {}

  /** A due walk step: a candidate below the cap, a move at it. */
  step(): void {
    const step = this.walk.step(!this.host.hasRoom());
    if (!step) return;
    if (!step.drop) {
      if (this.host.addCandidate(step.dial)) this.counts.added++;
      return;
    }
    if (!this.sessionWalkedAs(step.drop) || !this.host.dialReplacing(step.dial)) return;
    if (this.pending.size >= MAX_PENDING_MOVES) this.pending.delete(this.pending.keys().next().value!);
    this.pending.set(formatAddress(step.dial), step.drop);
  }

  /**
   * Back to the cap after accepting into the slack: close one connection the sampler says can
   * be spared (the peer stays reachable through another neighbour and keeps others). While none
   * can, we stay over the cap, by at most the slack. Moves in progress keep the one connection
   * they may hold over the cap until their dial ends.
   */
  shed(): void {
    const { connections, maxConnections } = this.host;
    if (walkSurplus(connections.size, maxConnections, this.pending.size) <= 0) return;
    for (const [s, c] of connections) {
      if (!s.connected || !c.walkKey || !this.walk.spare(c.walkKey)) continue;
      s.wire.close();
      return;
    }
  }

  /** An outgoing connection's handshake is done: if a move dialled it, close the neighbour it replaces. */
  connected(s: PeerSession): void {
    const key = formatAddress(s.address);
    const leaving = this.pending.get(key);
    if (!leaving) return;
    this.pending.delete(key);
    const old = this.sessionWalkedAs(leaving);
    if (!old) return;
    this.counts.moved++;
    old.wire.close();
  }

  /** A dial failed, or its connection closed before the handshake. */
  failed(address: Address): void {
    if (this.pending.delete(formatAddress(address))) this.counts.failed++;
  }

  /** The session the sampler knows by this listen address. */
  private sessionWalkedAs(address: Address): PeerSession | undefined {
    const key = formatAddress(address);
    for (const [s, c] of this.host.connections) if (c.walkKey && formatAddress(c.walkKey) === key) return s;
    return undefined;
  }
}
