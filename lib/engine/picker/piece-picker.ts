/**
 * Which blocks to request from which peer: a pure policy (no I/O, no timers), in the spirit of
 * libtorrent's piece_picker / request_blocks.
 *
 * Order of preference for one peer:
 *  0. pieces readers wait on (deadlines), most urgent first: blocks of those in progress,
 *     then new ones — libtorrent's time-critical pieces;
 *  1. unrequested blocks of pieces already in progress that the peer has — finishing pieces
 *     early frees memory, lets us verify and re-share them sooner;
 *  2. new pieces, in two tiers:
 *     a. high-priority pieces (a file set to 'high'), rarest first;
 *     b. the other wanted pieces: random ones until `randomFirstPieces` are complete (a
 *        newcomer needs something to trade quickly; the rarest pieces are slow to get), then
 *        rarest first among the pieces the peer has (ties broken at random so peers don't all
 *        chase the same piece); in sequential mode lowest index first instead;
 *  3. endgame: once every missing block is requested, blocks already requested from other
 *     peers are requested again (at most `endgameMaxRequestsPerBlock` requesters per block);
 *     `onBlockReceived` returns the peers whose duplicate requests should be cancelled.
 *
 * A piece with a deadline is wanted even outside the wanted set (a reader of a skipped file
 * still gets its bytes), and may be started when `newPieces` is false: readers' windows are
 * small and bounded, and waiting on the memory budget would stall playback.
 *
 * Cost: availability updates are O(1) per HAVE and O(pieces) per bitfield (piece-availability.ts);
 * `pick` is O(pieces) (one scan for candidates) plus O(blocks) of the in-progress pieces
 * (partial-piece.ts); every block event is O(requesters of that block).
 */
import { InvalidArgumentError } from '../../errors.js';
import type { RandomSource } from '../../util/random.js';
import { BLOCK_SIZE } from '../../wire/constants.js';
import { Bitfield } from '../bitfield.js';
import { PartialPiece } from './partial-piece.js';
import { endgameOrder, inIndexOrder, rarestFirst } from './pick-order.js';
import { PieceAvailability } from './piece-availability.js';
import type { BlockReceived, PickOptions, PiecePickerOptions } from './piece-picker-types.js';
import type { BlockRequest } from '../../wire/messages.js';
import { pieceCount, pieceSize, type PieceLayout } from '../../torrent/piece-layout.js';

export type * from './piece-picker-types.js';

/** BEP 3: requests are for 16 KiB blocks ("2^14 (16 kiB)"), the last block of the last piece shorter. */

export class PiecePicker<P = string> {
  readonly pieceCount: number;
  readonly blockSize: number;
  private readonly layout: PieceLayout;
  private readonly blocksPerPiece: number;
  private readonly randomFirstPieces: number;
  private readonly endgameMax: number;
  private readonly have: Bitfield;
  private wanted: Bitfield | null = null;
  /** High-priority pieces (a subset of the wanted ones), or null for none. */
  private high: Bitfield | null = null;
  /** Pieces readers wait on, most urgent first, and each one's rank in that order. */
  private deadlineOrder: readonly number[] = [];
  private readonly deadlineRank = new Map<number, number>();
  private sequential = false;
  private readonly swarm: PieceAvailability<P>;
  private readonly partials = new Map<number, PartialPiece<P>>();
  /** 1 where `partials` has the piece: a typed-array test in the candidate scan. */
  private readonly inProgress: Uint8Array;
  /** rarestFirst's working space: candidate piece indices (reused by every pick). */
  private readonly scratch: Uint32Array;
  /** Every piece: stands in for a seed's bitfield in the byte-wise scan. */
  private readonly all: Bitfield;
  /** Per connected peer, the block keys (piece * blocksPerPiece + block) requested from it. */
  private readonly requests = new Map<P, Set<number>>();
  /** Unrequested blocks of wanted, missing pieces: 0 means endgame. */
  private unrequested = 0;
  /** Wanted pieces we do not have. */
  private missingWanted = 0;

  constructor(opts: PiecePickerOptions) {
    const { length, pieceLength } = opts;
    if (
      !Number.isSafeInteger(length) ||
      length <= 0 ||
      !Number.isSafeInteger(pieceLength) ||
      pieceLength <= 0
    ) {
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        'length and pieceLength must be positive integers'
      );
    }
    this.layout = { length, pieceLength };
    this.blockSize = opts.blockSize ?? BLOCK_SIZE;
    this.pieceCount = pieceCount(this.layout);
    this.blocksPerPiece = Math.ceil(pieceLength / this.blockSize);
    this.randomFirstPieces = opts.randomFirstPieces ?? 4;
    this.endgameMax = opts.endgameMaxRequestsPerBlock ?? 3;
    this.inProgress = new Uint8Array(this.pieceCount);
    this.scratch = new Uint32Array(this.pieceCount);
    this.all = Bitfield.full(this.pieceCount);
    this.swarm = new PieceAvailability(this.all, (i) => this.wantedMissing(i));
    if (opts.have && opts.have.length !== this.pieceCount) {
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        `have bitfield has ${opts.have.length} bits, expected ${this.pieceCount}`
      );
    }
    this.have = opts.have ? opts.have.clone() : new Bitfield(this.pieceCount);
    this.sequential = opts.sequential ?? false;
    this.recount();
  }

  // --- queries ---------------------------------------------------------------------------------

  hasPiece(index: number): boolean {
    return this.have.get(index);
  }

  /** Our pieces in wire form (for the BITFIELD message). */
  haveBytes(): Uint8Array {
    return this.have.toBytes();
  }

  get completedCount(): number {
    return this.have.count;
  }

  /** All wanted pieces are verified. */
  isComplete(): boolean {
    return this.missingWanted === 0;
  }

  /** Every missing block is requested: duplicates are allowed. */
  isEndgame(): boolean {
    return this.unrequested === 0 && this.missingWanted > 0;
  }

  /** Number of connected peers known to have `index`. */
  availability(index: number): number {
    return this.swarm.of(index);
  }

  /** Does the peer have a wanted piece we lack? (drives our INTERESTED message) */
  isInteresting(peer: P): boolean {
    return this.swarm.isInteresting(peer, this.missingWanted);
  }

  /** Is the block at (`piece`, `offset`) an outstanding request of ours to `peer`? */
  isRequestedFrom(peer: P, piece: number, offset: number): boolean {
    if (this.blockLength(piece, offset) === 0) return false;
    return this.requests.get(peer)?.has(piece * this.blocksPerPiece + offset / this.blockSize) ?? false;
  }

  /** Outstanding requests to `peer` (to keep its request queue at the desired depth). */
  requestCount(peer: P): number {
    return this.requests.get(peer)?.size ?? 0;
  }

  pieceSize(index: number): number {
    return pieceSize(this.layout, index);
  }

  /** Expected length of the block at `offset` in `piece`, or 0 if it is not a block boundary. */
  blockLength(piece: number, offset: number): number {
    if (!Number.isInteger(piece) || piece < 0 || piece >= this.pieceCount) return 0;
    const size = this.pieceSize(piece);
    if (!Number.isInteger(offset) || offset < 0 || offset >= size || offset % this.blockSize !== 0) return 0;
    return Math.min(this.blockSize, size - offset);
  }

  // --- peers -----------------------------------------------------------------------------------

  addPeer(peer: P): void {
    this.swarm.add(peer);
    if (!this.requests.has(peer)) this.requests.set(peer, new Set());
  }

  /** BITFIELD message (replaces anything the peer announced before). */
  onBitfield(peer: P, bitfield: Bitfield): void {
    this.swarm.onBitfield(peer, bitfield);
    this.addPeer(peer);
  }

  /** BEP 6 HAVE_ALL. */
  onHaveAll(peer: P): void {
    this.onBitfield(peer, Bitfield.full(this.pieceCount));
  }

  /** HAVE message. */
  onHave(peer: P, index: number): void {
    this.swarm.onHave(peer, index);
    this.addPeer(peer);
  }

  /** Pieces the peer announced. */
  peerPieceCount(peer: P): number {
    return this.swarm.peerPieceCount(peer);
  }

  /** The peer announced every piece (have_all, a full bitfield, or HAVEs for all). */
  peerHasAll(peer: P): boolean {
    return this.swarm.peerHasAll(peer);
  }

  peerHas(peer: P, index: number): boolean {
    return this.swarm.peerHas(peer, index);
  }

  /** The peer disconnected: its pieces no longer count and its requests become free. */
  removePeer(peer: P): void {
    if (!this.requests.has(peer)) return;
    this.releasePeerRequests(peer);
    this.swarm.remove(peer);
    this.requests.delete(peer);
  }

  /** The outstanding requests to `peer`. */
  outstanding(peer: P): BlockRequest[] {
    const out: BlockRequest[] = [];
    for (const key of this.requests.get(peer) ?? []) {
      const piece = Math.floor(key / this.blocksPerPiece);
      const offset = (key % this.blocksPerPiece) * this.blockSize;
      out.push({ index: piece, begin: offset, length: this.blockLength(piece, offset) });
    }
    return out;
  }

  /** Drop every request to `peer` (it choked us, or it is going away). Returns them. */
  releasePeerRequests(peer: P): BlockRequest[] {
    const requests = this.requests.get(peer);
    if (!requests) return [];
    const released = this.outstanding(peer);
    for (const r of released) this.releaseRequest(peer, r.index, r.begin);
    return released;
  }

  /** One request is gone without data (REJECT_REQUEST, timeout, our CANCEL). */
  releaseRequest(peer: P, piece: number, offset: number): void {
    const requests = this.requests.get(peer);
    if (!requests || this.blockLength(piece, offset) === 0) return;
    const block = offset / this.blockSize;
    if (!requests.delete(piece * this.blocksPerPiece + block)) return;
    const partial = this.partials.get(piece);
    if (partial?.release(block, peer) && this.wantedMissing(piece)) this.unrequested++;
  }

  // --- wanted pieces (BEP 53 select-only, file priorities) ------------------------------------

  /** Restrict downloading to the set pieces; `null` wants everything. */
  setWanted(wanted: Bitfield | null): void {
    this.checkLength(wanted, 'wanted');
    this.wanted = wanted ? wanted.clone() : null;
    if (this.high && this.wanted) this.high = this.high.and(this.wanted);
    this.recount();
  }

  /** Pieces to start before the other wanted ones (files set to 'high'); `null` for none. */
  setHigh(high: Bitfield | null): void {
    this.checkLength(high, 'high');
    this.high = high && this.wanted ? high.and(this.wanted) : (high?.clone() ?? null);
    if (this.high?.hasNone()) this.high = null;
  }

  /** Sequential mode: new pieces lowest index first instead of rarest first. */
  setSequential(on: boolean): void {
    this.sequential = on;
  }

  /**
   * The pieces readers wait on, most urgent first (replaces the previous list). Out-of-range
   * indices are ignored. Pieces leaving or joining the list change the wanted set (a deadline
   * makes a piece wanted), so counters are adjusted for those only.
   */
  setDeadlines(pieces: readonly number[]): void {
    const before = new Set(this.deadlineRank.keys());
    const order: number[] = [];
    this.deadlineRank.clear();
    for (const p of pieces) {
      if (!Number.isInteger(p) || p < 0 || p >= this.pieceCount || this.deadlineRank.has(p)) continue;
      this.deadlineRank.set(p, order.length);
      order.push(p);
    }
    this.deadlineOrder = order;
    for (const p of before) if (!this.deadlineRank.has(p)) this.wantedChanged(p, true);
    for (const p of order) if (!before.has(p)) this.wantedChanged(p, false);
  }

  /** The most urgent piece readers wait on that we lack, if any. */
  firstDeadline(): number | undefined {
    return this.deadlineOrder.find((p) => !this.have.get(p));
  }

  /** Does a reader wait on `piece`? */
  hasDeadline(piece: number): boolean {
    return this.deadlineRank.has(piece);
  }

  // --- blocks and pieces -----------------------------------------------------------------------

  /**
   * Up to `maxRequests` new block requests for `peer`. With `newPieces: false` only pieces
   * already in progress are served (the engine's in-flight memory budget is spent).
   */
  pick(peer: P, maxRequests: number, random: RandomSource, options: PickOptions = {}): BlockRequest[] {
    const requests = this.requests.get(peer);
    const out: BlockRequest[] = [];
    if (!requests || maxRequests <= 0 || this.missingWanted === 0) return out;
    const exclude = options.exclude;
    const theirs = this.swarm.piecesOf(peer);
    const has = (i: number): boolean => (theirs?.get(i) ?? false) && !(exclude?.(i) ?? false);

    if (this.unrequested > 0) {
      const started = [...this.partials.values()].filter(
        (p) => p.unrequested > 0 && this.wantedMissing(p.index) && has(p.index)
      );
      started.sort(
        (a, b) =>
          this.urgency(a.index) - this.urgency(b.index) ||
          a.unrequested - b.unrequested ||
          this.availability(a.index) - this.availability(b.index)
      );
      const urgent = started.filter((p) => this.deadlineRank.has(p.index));
      for (const partial of urgent) {
        if (out.length >= maxRequests) break;
        this.takeBlocks(partial, peer, requests, maxRequests, out);
      }
      if (out.length < maxRequests && this.deadlineOrder.length > 0)
        this.pickDeadlinePieces(peer, requests, has, maxRequests, out);
      for (const partial of started.slice(urgent.length)) {
        if (out.length >= maxRequests) break;
        this.takeBlocks(partial, peer, requests, maxRequests, out);
      }
    }
    if (out.length < maxRequests && this.unrequested > 0 && options.newPieces !== false) {
      this.pickNewPieces(peer, requests, maxRequests, random, out, exclude);
    }
    if (out.length < maxRequests && this.isEndgame()) this.pickEndgame(peer, requests, has, maxRequests, out);
    return out;
  }

  /** A block arrived from `peer` (data not yet verified: that happens per piece). */
  onBlockReceived(peer: P, piece: number, offset: number): BlockReceived<P> {
    const rejected: BlockReceived<P> = { accepted: false, pieceComplete: false, cancel: [] };
    if (this.blockLength(piece, offset) === 0 || this.have.get(piece)) {
      return rejected;
    }
    const partial = this.partialFor(piece);
    const block = offset / this.blockSize;
    if (partial.isReceived(block)) {
      this.releaseRequest(peer, piece, offset);
      return rejected;
    }
    const { requesters, wasUnrequested } = partial.receive(block, peer);
    const key = piece * this.blocksPerPiece + block;
    for (const p of requesters) this.requests.get(p)?.delete(key);
    if (wasUnrequested && this.wantedMissing(piece)) this.unrequested--;
    return { accepted: true, pieceComplete: partial.complete, cancel: requesters.filter((p) => p !== peer) };
  }

  /** The piece's hash matched (or it was found on disk). */
  onPieceVerified(index: number): void {
    if (this.have.get(index)) return;
    const wanted = this.wantedMissing(index);
    const partial = this.partials.get(index);
    if (partial) {
      this.dropPartial(partial);
      if (wanted) this.unrequested -= partial.unrequested;
    } else if (wanted) {
      this.unrequested -= this.blockCountOf(index);
    }
    this.have.set(index);
    if (!wanted) return;
    this.missingWanted--;
    this.swarm.adjustInterest(index, -1);
  }

  /**
   * The piece's hash did not match (or a piece we had turned out bad): every block is needed
   * again. Returns the peers that sent blocks of it, for the engine's trust bookkeeping.
   */
  onPieceFailed(index: number): P[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.pieceCount) return [];
    if (this.have.get(index)) {
      this.have.set(index, false);
      if (this.wantedMissing(index)) {
        this.missingWanted++;
        this.unrequested += this.blockCountOf(index);
        this.swarm.adjustInterest(index, 1);
      }
      return [];
    }
    const partial = this.partials.get(index);
    if (!partial) return [];
    this.dropPartial(partial);
    if (this.wantedMissing(index)) this.unrequested += partial.blockCount - partial.unrequested;
    return partial.blockSenders();
  }

  // --- internals -------------------------------------------------------------------------------

  private wantedMissing(i: number): boolean {
    return !this.have.get(i) && (this.wanted === null || this.wanted.get(i) || this.deadlineRank.has(i));
  }

  /** Deadline rank, or past every rank for pieces without a deadline (a sort key). */
  private urgency(i: number): number {
    return this.deadlineRank.get(i) ?? this.pieceCount;
  }

  private checkLength(bits: Bitfield | null, name: string): void {
    if (bits && bits.length !== this.pieceCount) {
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        `${name} bitfield has ${bits.length} bits, expected ${this.pieceCount}`
      );
    }
  }

  /**
   * Piece `i` may have joined or left the wanted set (`wasWanted` tells whether it was in):
   * adjust the counters for that one piece instead of recounting them all.
   */
  private wantedChanged(i: number, wasWanted: boolean): void {
    if (this.have.get(i)) return;
    const now = this.wantedMissing(i);
    const before = wasWanted || this.wanted === null || this.wanted.get(i);
    if (now === before) return;
    const sign = now ? 1 : -1;
    this.missingWanted += sign;
    this.unrequested += sign * (this.partials.get(i)?.unrequested ?? this.blockCountOf(i));
    this.swarm.adjustInterest(i, sign);
  }

  private blockCountOf(i: number): number {
    return Math.ceil(this.pieceSize(i) / this.blockSize);
  }

  /** Recompute the counters that depend on `have` and `wanted` (construction, setWanted). */
  private recount(): void {
    this.missingWanted = 0;
    this.unrequested = 0;
    for (let i = 0; i < this.pieceCount; i++) {
      if (!this.wantedMissing(i)) continue;
      this.missingWanted++;
      this.unrequested += this.partials.get(i)?.unrequested ?? this.blockCountOf(i);
    }
    this.swarm.recountInterest();
  }

  private partialFor(index: number): PartialPiece<P> {
    let partial = this.partials.get(index);
    if (!partial) {
      partial = new PartialPiece<P>(index, this.blockCountOf(index));
      this.partials.set(index, partial);
      this.inProgress[index] = 1;
    }
    return partial;
  }

  /** Forget a piece's block state, removing its outstanding requests from the peers. */
  private dropPartial(partial: PartialPiece<P>): void {
    for (const { block, peer } of partial.openRequests())
      this.requests.get(peer)?.delete(partial.index * this.blocksPerPiece + block);
    this.partials.delete(partial.index);
    this.inProgress[partial.index] = 0;
  }

  private takeBlocks(
    partial: PartialPiece<P>,
    peer: P,
    requests: Set<number>,
    max: number,
    out: BlockRequest[]
  ): void {
    partial.requestFrom(
      peer,
      () => out.length < max,
      (block) => {
        this.unrequested--;
        requests.add(partial.index * this.blocksPerPiece + block);
        const offset = block * this.blockSize;
        out.push({ index: partial.index, begin: offset, length: this.blockLength(partial.index, offset) });
      }
    );
  }

  /** Start the pieces readers wait on, most urgent first. */
  private pickDeadlinePieces(
    peer: P,
    requests: Set<number>,
    has: (i: number) => boolean,
    max: number,
    out: BlockRequest[]
  ): void {
    for (const piece of this.deadlineOrder) {
      if (out.length >= max) return;
      if (this.inProgress[piece] === 1 || this.have.get(piece) || !has(piece)) continue;
      this.takeBlocks(this.partialFor(piece), peer, requests, max, out);
    }
  }

  /** Start new pieces for `peer`: high priority first, then rarest first or in index order (see pick-order.ts). */
  private pickNewPieces(
    peer: P,
    requests: Set<number>,
    max: number,
    random: RandomSource,
    out: BlockRequest[],
    exclude: ((piece: number) => boolean) | undefined
  ): void {
    const theirs = this.swarm.piecesOf(peer);
    if (!theirs) return;
    const take = (piece: number): boolean => {
      this.takeBlocks(this.partialFor(piece), peer, requests, max, out);
      return out.length >= max;
    };
    for (const wanted of this.high ? [this.high, this.wanted ?? this.all] : [this.wanted ?? this.all]) {
      const candidates = {
        pieceCount: this.pieceCount,
        theirs,
        have: this.have,
        wanted,
        inProgress: this.inProgress,
        exclude
      };
      if (this.sequential) inIndexOrder(candidates, take);
      else {
        rarestFirst(
          {
            ...candidates,
            availability: this.swarm.counts,
            randomMode: this.have.count < this.randomFirstPieces,
            need: Math.ceil((max - out.length) / this.blocksPerPiece) + 1,
            random,
            scratch: this.scratch
          },
          take
        );
      }
      if (out.length >= max) return;
    }
  }

  /** Endgame: re-request blocks outstanding elsewhere, least-duplicated first. */
  private pickEndgame(
    peer: P,
    requests: Set<number>,
    has: (i: number) => boolean,
    max: number,
    out: BlockRequest[]
  ): void {
    endgameOrder<PartialPiece<P>, P>(
      {
        pieces: { [Symbol.iterator]: () => this.partials.values() },
        outstanding: (partial, visit) => {
          if (this.wantedMissing(partial.index) && has(partial.index)) partial.outstanding(visit);
        }
      },
      peer,
      this.endgameMax,
      max - out.length,
      (partial, block, requesters) => {
        requesters.push(peer);
        requests.add(partial.index * this.blocksPerPiece + block);
        const offset = block * this.blockSize;
        out.push({ index: partial.index, begin: offset, length: this.blockLength(partial.index, offset) });
      }
    );
  }
}
