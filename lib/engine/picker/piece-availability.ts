/**
 * Which pieces the connected peers have, for the piece picker: each peer's announced pieces
 * (BITFIELD, HAVE, BEP 6 HAVE_ALL), the per-piece availability counts that rarest-first reads,
 * and per peer how many wanted pieces it has that we lack (whether we are interested in it).
 *
 * Peers that have everything are counted once in `seeds` instead of in every piece's count:
 * a seed joining or leaving is O(1), a bitfield O(pieces), a HAVE O(1).
 */
import { InvalidArgumentError } from '../../errors.js';
import { Bitfield } from '../bitfield.js';

interface PeerPieces {
  /** undefined until the peer sends a bitfield or HAVE. */
  bitfield: Bitfield | undefined;
  seed: boolean;
  /** Wanted pieces it has that we lack (bitfield peers only). */
  interesting: number;
}

export class PieceAvailability<P> {
  /** Peers having each piece, seeds not included (they are in `seeds`). */
  readonly counts: Uint32Array;
  private seeds = 0;
  private readonly peers = new Map<P, PeerPieces>();
  private readonly pieceCount: number;

  /**
   * @param everyPiece a full bitfield: stands in for a seed's pieces.
   * @param wantedMissing whether we want piece `i` and lack it (the picker owns that state).
   */
  constructor(
    private readonly everyPiece: Bitfield,
    private readonly wantedMissing: (i: number) => boolean
  ) {
    this.pieceCount = everyPiece.length;
    this.counts = new Uint32Array(this.pieceCount);
  }

  add(peer: P): void {
    if (!this.peers.has(peer)) this.peers.set(peer, { bitfield: undefined, seed: false, interesting: 0 });
  }

  /** The peer is gone: its pieces no longer count. */
  remove(peer: P): void {
    const pp = this.peers.get(peer);
    if (!pp) return;
    this.forget(pp);
    this.peers.delete(peer);
  }

  /** Number of connected peers known to have `index`. */
  of(index: number): number {
    return (this.counts[index] ?? 0) + this.seeds;
  }

  /** BITFIELD message (replaces anything the peer announced before). */
  onBitfield(peer: P, bitfield: Bitfield): void {
    if (bitfield.length !== this.pieceCount) {
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        `bitfield has ${bitfield.length} bits, expected ${this.pieceCount}`
      );
    }
    const pp = this.state(peer);
    this.forget(pp);
    if (bitfield.hasAll()) {
      pp.seed = true;
      this.seeds++;
      return;
    }
    pp.bitfield = bitfield.clone();
    for (const i of pp.bitfield.indices()) {
      this.counts[i] = (this.counts[i] ?? 0) + 1;
      if (this.wantedMissing(i)) pp.interesting++;
    }
  }

  /** HAVE message. */
  onHave(peer: P, index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.pieceCount) {
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        `HAVE for piece ${index} out of range [0, ${this.pieceCount})`
      );
    }
    const pp = this.state(peer);
    if (pp.seed) return;
    pp.bitfield ??= new Bitfield(this.pieceCount);
    if (!pp.bitfield.set(index)) return;
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    if (this.wantedMissing(index)) pp.interesting++;
  }

  /** The peer's pieces (every piece for a seed); undefined until it announced any. */
  piecesOf(peer: P): Bitfield | undefined {
    const pp = this.peers.get(peer);
    return pp?.seed ? this.everyPiece : pp?.bitfield;
  }

  /** Pieces the peer announced. */
  peerPieceCount(peer: P): number {
    const pp = this.peers.get(peer);
    return !pp ? 0 : pp.seed ? this.pieceCount : (pp.bitfield?.count ?? 0);
  }

  /** The peer announced every piece (have_all, a full bitfield, or HAVEs for all). */
  peerHasAll(peer: P): boolean {
    const pp = this.peers.get(peer);
    return !!pp && (pp.seed || (pp.bitfield?.hasAll() ?? false));
  }

  peerHas(peer: P, index: number): boolean {
    const pp = this.peers.get(peer);
    return !!pp && (pp.seed || (pp.bitfield?.get(index) ?? false));
  }

  /** Does the peer have a wanted piece we lack? `missingWanted` is how many we lack. */
  isInteresting(peer: P, missingWanted: number): boolean {
    const pp = this.peers.get(peer);
    if (!pp) return false;
    return pp.seed ? missingWanted > 0 : pp.interesting > 0;
  }

  /** Piece `index` left (-1) or re-entered (+1) the wanted, missing set. */
  adjustInterest(index: number, delta: 1 | -1): void {
    for (const pp of this.peers.values()) if (!pp.seed && pp.bitfield?.get(index)) pp.interesting += delta;
  }

  /** Recount every peer's interesting pieces (what we have or want changed wholesale). */
  recountInterest(): void {
    for (const pp of this.peers.values()) {
      pp.interesting = 0;
      if (pp.bitfield) for (const i of pp.bitfield.indices()) if (this.wantedMissing(i)) pp.interesting++;
    }
  }

  private state(peer: P): PeerPieces {
    this.add(peer);
    return this.peers.get(peer) as PeerPieces;
  }

  private forget(pp: PeerPieces): void {
    if (pp.seed) this.seeds--;
    else if (pp.bitfield) for (const i of pp.bitfield.indices()) this.counts[i] = (this.counts[i] ?? 1) - 1;
    pp.seed = false;
    pp.bitfield = undefined;
    pp.interesting = 0;
  }
}
