/**
 * The serving order of a seed in `distribute` mode.
 *
 * Seed upload is the scarce resource of a swarm, so such a seed serves the queued requests of
 * all its peers in priority order rather than round-robin (lower first):
 *   0  a piece we are already sending to this peer (finish it: only whole pieces can be
 *      shared on), or a piece it asks for again after we rejected it (nobody else gave it);
 *   1  a piece no other connected peer holds or is being sent by us: new to the swarm;
 *   2+ pieces others hold (1 + holders, + 1 if we are sending it to someone else).
 * Work-conserving: a request for a common piece is served whenever nothing rarer is queued, so
 * the seed's upload is never idle while it has a request it could serve.
 */
import type { Clock } from '../../util/clock.js';
import type { QueuedRequest, UploadPeer } from './upload-peer.js';

/** A piece asked for again this long after we rejected it is served first, ms. */
const REDIRECT_WINDOW_MS = 3_000;
/** A piece being sent to a peer counts as "coming" there for this long, ms. */
const ASSIGNMENT_MS = 10_000;
/** A request for a piece others hold waits this long behind rarer work before it is rejected, ms. */
const HOLD_MS = 1_500;
/** Queued requests of each peer looked at when choosing the next block. */
const SCAN_DEPTH = 64;

export interface SeedPriorityOptions {
  clock: Clock;
  /** Connected peers that announced `piece`. */
  availability(piece: number): number;
  /** Send a BEP 6 reject for a request we drop. */
  reject(u: UploadPeer, r: QueuedRequest): void;
}

export class SeedPriority {
  /** piece -> the peer we last sent a block of it to, and when. */
  private readonly assigned = new Map<number, { peer: UploadPeer; at: number }>();

  constructor(private readonly o: SeedPriorityOptions) {}

  priority(u: UploadPeer, piece: number, now: number): number {
    const a = this.assigned.get(piece);
    const sending = a !== undefined && a.peer.session.connected && now - a.at < ASSIGNMENT_MS;
    if (sending && a.peer === u) return 0;
    const since = u.redirected.get(piece);
    if (since !== undefined && now - since >= REDIRECT_WINDOW_MS) return 0;
    return 1 + this.o.availability(piece) + (sending ? 1 : 0);
  }

  /** Remember who gets a piece from us (refreshed with every block sent). */
  assign(u: UploadPeer, piece: number): void {
    this.assigned.set(piece, { peer: u, at: this.o.clock.now() });
    u.redirected.delete(piece);
  }

  /**
   * The next request to serve: the lowest priority over the first SCAN_DEPTH queued requests
   * of every peer not blocked by its socket (ties: `active`'s order, i.e. round-robin).
   * Removes disconnected and idle peers from `active`.
   */
  pick(active: Set<UploadPeer>, blocked: ReadonlySet<UploadPeer>): { u: UploadPeer; i: number } | undefined {
    const now = this.o.clock.now();
    let best: UploadPeer | undefined;
    let bestIndex = -1;
    let bestPriority = Infinity;
    for (const u of active) {
      if (!u.session.connected || u.inbound.length === 0) {
        active.delete(u);
        continue;
      }
      if (blocked.has(u)) continue;
      const n = Math.min(u.inbound.length, SCAN_DEPTH);
      for (let i = 0; i < n && bestPriority > 0; i++) {
        const p = this.priority(u, u.inbound[i]!.index, now);
        if (p < bestPriority) [best, bestIndex, bestPriority] = [u, i, p];
      }
      if (bestPriority === 0) break;
    }
    return best ? { u: best, i: bestIndex } : undefined;
  }

  /**
   * From the periodic tick: while requests for pieces new to the swarm wait, requests for
   * pieces others hold that waited HOLD_MS are rejected (BEP 6), so the requester takes them
   * from a holder (our Downloader avoids a piece a peer rejected for a few seconds) instead of
   * keeping those blocks reserved behind the seed's queue.
   */
  shed(active: ReadonlySet<UploadPeer>): void {
    const now = this.o.clock.now();
    let rarest = Infinity;
    for (const u of active) {
      const n = Math.min(u.inbound.length, SCAN_DEPTH);
      for (let i = 0; i < n && rarest > 1; i++)
        rarest = Math.min(rarest, this.priority(u, u.inbound[i]!.index, now));
    }
    if (rarest > 1) return;
    for (const u of active) {
      if (!u.session.wire.fastExtension || !u.session.connected) continue;
      u.inbound = u.inbound.filter((r) => {
        if (now - r.at < HOLD_MS || this.priority(u, r.index, now) < 2) return true;
        u.redirected.set(r.index, now);
        this.o.reject(u, r);
        return false;
      });
    }
  }
}
