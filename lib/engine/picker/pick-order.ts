/**
 * The two selection rules of the piece picker, as pure functions over plain arrays (the
 * picker owns the state and applies the choices):
 *
 * - `rarestFirst`: which new pieces to start for a peer — the rarest among the pieces it has
 *   and we want, ties at random (or all at random while we have too few pieces to trade).
 * - `inIndexOrder`: the same candidates, lowest index first (sequential mode: streaming a
 *   whole file front to back).
 * - `endgameOrder`: which outstanding blocks to ask a peer for again — least-duplicated first.
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
}

/**
 * Offer candidate pieces to `take`, rarest level first, each level in random order, until
 * `take` returns true (the budget is spent) or the levels that cover `need` are exhausted.
 *
 * One scan builds a histogram of candidate availability, a second collects only the rarest
 * levels needed to fill the budget; each level is sampled with a partial Fisher-Yates shuffle,
 * so ties are random and few random numbers are drawn. The scan is byte-wise:
 * (theirs & ~have & wanted) skips 8 pieces at a time, and most bytes once we have most pieces.
 */
export function rarestFirst(o: RarestFirstInput, take: (piece: number) => boolean): void {
  const candidates = (visit: (i: number) => void): void => scanCandidates(o, visit);
  const level = (i: number): number => (o.randomMode ? 0 : (o.availability[i] ?? 0));

  const histogram: number[] = [];
  candidates((i) => {
    const l = level(i);
    histogram[l] = (histogram[l] ?? 0) + 1;
  });
  let threshold = -1;
  for (let l = 0, sum = 0; l < histogram.length && sum < o.need; l++) {
    sum += histogram[l] ?? 0;
    threshold = l;
  }
  if (threshold < 0) return;
  const levels: number[][] = [];
  candidates((i) => {
    const l = level(i);
    if (l <= threshold) (levels[l] ??= []).push(i);
  });
  for (const pieces of levels) {
    if (!pieces) continue;
    for (let k = 0; k < pieces.length; k++) {
      const j = k + o.random.int(pieces.length - k);
      const chosen = pieces[j] as number;
      pieces[j] = pieces[k] as number;
      if (take(chosen)) return;
    }
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

/** One outstanding block that could be asked from another peer in endgame. */
export interface EndgameCandidate<T, P> {
  piece: T;
  block: number;
  requesters: P[];
}

/**
 * Endgame: blocks requested from fewer than `maxRequesters` peers and not from `peer`,
 * least-duplicated first, at most `max` of them.
 */
export function endgameOrder<T, P>(
  blocks: Iterable<EndgameCandidate<T, P>>,
  peer: P,
  maxRequesters: number,
  max: number
): EndgameCandidate<T, P>[] {
  const out: EndgameCandidate<T, P>[] = [];
  for (const c of blocks) {
    if (c.requesters.length >= maxRequesters || c.requesters.includes(peer)) continue;
    out.push(c);
  }
  out.sort((a, b) => a.requesters.length - b.requesters.length);
  return out.slice(0, Math.max(0, max));
}
