/**
 * The two selection rules of the piece picker, as pure functions over plain arrays (the
 * picker owns the state and applies the choices):
 *
 * - `rarestFirst`: which new pieces to start for a peer — the rarest among the pieces it has
 *   and we want, ties at random (or all at random while we have too few pieces to trade).
 * - `inIndexOrder`: the same candidates, lowest index first (sequential mode: streaming a
 *   whole file front to back).
 * - `endgameOrder`: which outstanding blocks to ask a peer for again — least-duplicated first.
 *
 * Both run for every pick, i.e. for nearly every block received, so they allocate nothing per
 * candidate: rarest-first sorts candidates into the caller's scratch array, endgame visits
 * blocks in place (per-pick arrays and objects were a fifth of a capped swarm's garbage).
 */
import type { RandomSource } from '../../util/random.js';
import type { Bitfield } from '../bitfield.js';

/** What both orders scan: the candidate pieces for one peer. */
export interface CandidateInput {
  pieceCount: number;
  /** The peer's pieces (a full bitfield for a seed). */
  theirs: Bitfield;
  have: Bitfield;
  wanted: Bitfield;
  /** 1 for pieces already in progress (they are not new). */
  inProgress: Uint8Array;
  exclude: ((piece: number) => boolean) | undefined;
}

export interface RarestFirstInput extends CandidateInput {
  /** Availability of each piece; ignored in random mode. */
  availability: Uint32Array;
  /** Random first pieces: every candidate counts as equally rare. */
  randomMode: boolean;
  /** Pieces wanted at least (the caller may stop earlier through `take`). */
  need: number;
  random: RandomSource;
  /** Room for `pieceCount` piece indices, reused by every call (its contents are not kept). */
  scratch: Uint32Array;
}

/**
 * Offer candidate pieces to `take`, rarest level first, each level in random order, until
 * `take` returns true (the budget is spent) or the levels that cover `need` are exhausted.
 *
 * One scan builds a histogram of candidate availability, a second writes only the rarest
 * levels needed to fill the budget into `scratch`, grouped by level (a counting sort); each
 * level is sampled with a partial Fisher-Yates shuffle, so ties are random and few random
 * numbers are drawn. The scan is byte-wise: (theirs & ~have & wanted) skips 8 pieces at a
 * time, and most bytes once we have most pieces.
 */
export function rarestFirst(o: RarestFirstInput, take: (piece: number) => boolean): void {
  const level = (i: number): number => (o.randomMode ? 0 : (o.availability[i] ?? 0));
  const histogram: number[] = [];
  scanCandidates(o, (i) => {
    const l = level(i);
    histogram[l] = (histogram[l] ?? 0) + 1;
  });
  let threshold = -1;
  for (let l = 0, sum = 0; l < histogram.length && sum < o.need; l++) {
    sum += histogram[l] ?? 0;
    threshold = l;
  }
  if (threshold < 0) return;
  // Where each level's run starts in `scratch`; the second scan fills the runs in index order.
  const next: number[] = [];
  for (let l = 0, at = 0; l <= threshold; l++) {
    next[l] = at;
    at += histogram[l] ?? 0;
  }
  const scratch = o.scratch;
  scanCandidates(o, (i) => {
    const l = level(i);
    if (l <= threshold) scratch[next[l]!++] = i;
  });
  for (let l = 0, start = 0; l <= threshold; l++) {
    const end = start + (histogram[l] ?? 0);
    for (let k = start; k < end; k++) {
      const j = k + o.random.int(end - k);
      const chosen = scratch[j]!;
      scratch[j] = scratch[k]!;
      if (take(chosen)) return;
    }
    start = end;
  }
}

/**
 * Offer the candidate pieces to `take` lowest index first, until it returns true. Sequential
 * mode trades the swarm's health (everyone fetching the same pieces) for a file that is
 * playable front to back as it arrives.
 */
export function inIndexOrder(o: CandidateInput, take: (piece: number) => boolean): void {
  scanCandidates(o, take);
}

/**
 * Visit the pieces the peer has, we lack and want, not started, not excluded, in index order,
 * until `visit` returns true. Byte-wise: (theirs & ~have & wanted) skips 8 pieces at a time.
 */
function scanCandidates(o: CandidateInput, visit: (i: number) => boolean | void): void {
  const bytes = Math.ceil(o.pieceCount / 8);
  for (let b = 0; b < bytes; b++) {
    const mask = candidateMask(o, b);
    if (mask === 0) continue;
    for (let bit = 0; bit < 8; bit++) {
      const i = b * 8 + bit;
      if (mask & (0x80 >> bit) && o.inProgress[i] === 0 && !(o.exclude?.(i) ?? false) && visit(i) === true)
        return;
    }
  }
}

function candidateMask(o: CandidateInput, b: number): number {
  return o.theirs.byte(b) & ~o.have.byte(b) & o.wanted.byte(b);
}

/** The pieces in progress as endgame sees them: each one's requested, not yet received blocks. */
export interface EndgameSource<T, P> {
  pieces: Iterable<T>;
  /** Visit the piece's outstanding blocks in order with their requester lists, until `visit` returns true. */
  outstanding(piece: T, visit: (block: number, requesters: P[]) => boolean): void;
}

/**
 * Endgame: offer `take` the blocks requested from fewer than `maxRequesters` peers and not
 * from `peer`, least-duplicated first (ties in the source's order), at most `max` of them. One
 * pass per requester count, so nothing is collected or sorted; `take` may add `peer` to the
 * requester list it is given (a later pass then skips that block).
 */
export function endgameOrder<T, P>(
  source: EndgameSource<T, P>,
  peer: P,
  maxRequesters: number,
  max: number,
  take: (piece: T, block: number, requesters: P[]) => void
): void {
  let taken = 0;
  let count = 1;
  let piece: T;
  const visit = (block: number, requesters: P[]): boolean => {
    if (requesters.length !== count || requesters.includes(peer)) return false;
    take(piece, block, requesters);
    return ++taken >= max;
  };
  for (; count < maxRequesters && taken < max; count++) {
    for (piece of source.pieces) {
      source.outstanding(piece, visit);
      if (taken >= max) return;
    }
  }
}
