/**
 * Which blocks to request from which peer: a pure policy (no I/O, no timers), in the spirit of
 * libtorrent's piece_picker / request_blocks.
 *
 * Order of preference for one peer:
 *  1. unrequested blocks of pieces already in progress that the peer has — finishing pieces
 *     early frees memory, lets us verify and re-share them sooner;
 *  2. new pieces: random ones until `randomFirstPieces` are complete (a newcomer needs
 *     something to trade quickly; the rarest pieces are slow to get), then rarest first among
 *     the pieces the peer has (ties broken at random so peers don't all chase the same piece);
 *  3. endgame: once every missing block is requested, blocks already requested from other
 *     peers are requested again (at most `endgameMaxRequestsPerBlock` requesters per block);
 *     `onBlockReceived` returns the peers whose duplicate requests should be cancelled.
 *
 * Cost: availability updates are O(1) per HAVE and O(pieces) per bitfield; `pick` is
 * O(pieces) (one scan for candidates) plus O(blocks) of the in-progress pieces; every block
 * event is O(requesters of that block). Peers that have everything (have_all, BEP 6) are
 * counted once in `seeds` instead of in every piece's availability.
 */
import { InvalidArgumentError } from '../errors.js';
import type { RandomSource } from '../util/random.js';
import { Bitfield } from './bitfield.js';
import { endgameOrder, rarestFirst } from './pick-order.js';

/** BEP 3: requests are for 16 KiB blocks ("2^14 (16 kiB)"), the last block of the last piece shorter. */
export const BLOCK_SIZE = 16 * 1024;

export interface BlockRequest {
  piece: number;
  offset: number;
  length: number;
}

export interface PiecePickerOptions {
  /** Total torrent length in bytes. */
  length: number;
  pieceLength: number;
  blockSize?: number;
  /** Pieces picked at random before switching to rarest first (default 4). */
  randomFirstPieces?: number;
  /** In endgame, how many peers may be asked for the same block at once (default 3). */
  endgameMaxRequestsPerBlock?: number;
  /** Pieces we already have (resume). */
  have?: Bitfield;
}

export interface PickOptions {
  /** Start pieces nobody has started yet (default true). */
  newPieces?: boolean;
  /** Pieces not to request from this peer now (e.g. it redirected us elsewhere for them). */
  exclude?: (piece: number) => boolean;
}

export interface BlockReceived<P> {
  /** False for a duplicate, a piece we already have or verify, or an invalid offset. */
  accepted: boolean;
  /** Every block of the piece is in: hash it, then call onPieceVerified or onPieceFailed. */
  pieceComplete: boolean;
  /** Other peers that still have this block requested (endgame): send them CANCEL. */
  cancel: P[];
}

const NONE = 0;
const REQUESTED = 1;
const RECEIVED = 2;

interface PartialPiece<P> {
  index: number;
  blockCount: number;
  /** NONE / REQUESTED / RECEIVED per block. */
  state: Uint8Array;
  requesters: (P[] | undefined)[];
  /** Who delivered each block, so a failed hash can be traced to its senders. */
  senders: (P | undefined)[];
  unrequested: number;
  received: number;
}

interface PeerState {
  /** undefined until the peer sends a bitfield or HAVE. */
  bitfield: Bitfield | undefined;
  seed: boolean;
  /** Block keys (piece * blocksPerPiece + block) requested from this peer. */
  requests: Set<number>;
  /** Wanted pieces it has that we lack (bitfield peers only). */
  interesting: number;
}

export class PiecePicker<P = string> {
  readonly pieceCount: number;
  readonly blockSize: number;
  private readonly length: number;
  private readonly pieceLength: number;
  private readonly blocksPerPiece: number;
  private readonly randomFirstPieces: number;
  private readonly endgameMax: number;
  private readonly have: Bitfield;
  private wanted: Bitfield | null = null;
  private readonly availabilityCounts: Uint32Array;
  private seeds = 0;
  private readonly partials = new Map<number, PartialPiece<P>>();
  /** 1 where `partials` has the piece: a typed-array test in the candidate scan. */
  private readonly inProgress: Uint8Array;
  /** Every piece: stands in for a seed's bitfield in the byte-wise scan. */
  private readonly all: Bitfield;
  private readonly peers = new Map<P, PeerState>();
  /** Blocks in state NONE among wanted, missing pieces: 0 means endgame. */
  private unrequested = 0;
  /** Wanted pieces we do not have. */
  private missingWanted = 0;

  constructor(opts: PiecePickerOptions) {
    const { length, pieceLength } = opts;
    if (!Number.isSafeInteger(length) || length <= 0 || !Number.isSafeInteger(pieceLength) || pieceLength <= 0) {
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'length and pieceLength must be positive integers');
    }
    this.length = length;
    this.pieceLength = pieceLength;
    this.blockSize = opts.blockSize ?? BLOCK_SIZE;
    this.pieceCount = Math.ceil(length / pieceLength);
    this.blocksPerPiece = Math.ceil(pieceLength / this.blockSize);
    this.randomFirstPieces = opts.randomFirstPieces ?? 4;
    this.endgameMax = opts.endgameMaxRequestsPerBlock ?? 3;
    this.availabilityCounts = new Uint32Array(this.pieceCount);
    this.inProgress = new Uint8Array(this.pieceCount);
    this.all = Bitfield.full(this.pieceCount);
    if (opts.have && opts.have.length !== this.pieceCount) {
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `have bitfield has ${opts.have.length} bits, expected ${this.pieceCount}`);
    }
    this.have = opts.have ? opts.have.clone() : new Bitfield(this.pieceCount);
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
    return (this.availabilityCounts[index] ?? 0) + this.seeds;
  }

  /** Does the peer have a wanted piece we lack? (drives our INTERESTED message) */
  isInteresting(peer: P): boolean {
    const ps = this.peers.get(peer);
    if (!ps) return false;
    return ps.seed ? this.missingWanted > 0 : ps.interesting > 0;
  }

  /** Is the block at (`piece`, `offset`) an outstanding request of ours to `peer`? */
  isRequestedFrom(peer: P, piece: number, offset: number): boolean {
    if (this.blockLength(piece, offset) === 0) return false;
    return this.peers.get(peer)?.requests.has(piece * this.blocksPerPiece + offset / this.blockSize) ?? false;
  }

  /** Outstanding requests to `peer` (to keep its request queue at the desired depth). */
  requestCount(peer: P): number {
    return this.peers.get(peer)?.requests.size ?? 0;
  }

  pieceSize(index: number): number {
    return index === this.pieceCount - 1 ? this.length - index * this.pieceLength : this.pieceLength;
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
    if (!this.peers.has(peer)) this.peers.set(peer, { bitfield: undefined, seed: false, requests: new Set(), interesting: 0 });
  }

  /** BITFIELD message (replaces anything the peer announced before). */
  onBitfield(peer: P, bitfield: Bitfield): void {
    if (bitfield.length !== this.pieceCount) {
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `bitfield has ${bitfield.length} bits, expected ${this.pieceCount}`);
    }
    const ps = this.peerState(peer);
    this.forgetAvailability(ps);
    if (bitfield.hasAll()) {
      ps.seed = true;
      this.seeds++;
      return;
    }
    ps.bitfield = bitfield.clone();
    for (const i of ps.bitfield.indices()) {
      this.availabilityCounts[i] = (this.availabilityCounts[i] ?? 0) + 1;
      if (this.wantedMissing(i)) ps.interesting++;
    }
  }

  /** BEP 6 HAVE_ALL. */
  onHaveAll(peer: P): void {
    this.onBitfield(peer, Bitfield.full(this.pieceCount));
  }

  /** HAVE message. */
  onHave(peer: P, index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.pieceCount) {
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `HAVE for piece ${index} out of range [0, ${this.pieceCount})`);
    }
    const ps = this.peerState(peer);
    if (ps.seed) return;
    ps.bitfield ??= new Bitfield(this.pieceCount);
    if (!ps.bitfield.set(index)) return;
    this.availabilityCounts[index] = (this.availabilityCounts[index] ?? 0) + 1;
    if (this.wantedMissing(index)) ps.interesting++;
  }

  /** Pieces the peer announced. */
  peerPieceCount(peer: P): number {
    const ps = this.peers.get(peer);
    return !ps ? 0 : ps.seed ? this.pieceCount : (ps.bitfield?.count ?? 0);
  }

  /** The peer announced every piece (have_all, a full bitfield, or HAVEs for all). */
  peerHasAll(peer: P): boolean {
    const ps = this.peers.get(peer);
    return !!ps && (ps.seed || (ps.bitfield?.hasAll() ?? false));
  }

  peerHas(peer: P, index: number): boolean {
    const ps = this.peers.get(peer);
    return !!ps && (ps.seed || (ps.bitfield?.get(index) ?? false));
  }

  /** The peer disconnected: its pieces no longer count and its requests become free. */
  removePeer(peer: P): void {
    const ps = this.peers.get(peer);
    if (!ps) return;
    this.releasePeerRequests(peer);
    this.forgetAvailability(ps);
    this.peers.delete(peer);
  }

  /** Drop every request to `peer` (it choked us, or it is going away). Returns them. */
  releasePeerRequests(peer: P): BlockRequest[] {
    const ps = this.peers.get(peer);
    if (!ps) return [];
    const released: BlockRequest[] = [];
    for (const key of [...ps.requests]) {
      const piece = Math.floor(key / this.blocksPerPiece);
      const offset = (key % this.blocksPerPiece) * this.blockSize;
      this.releaseRequest(peer, piece, offset);
      released.push({ piece, offset, length: this.blockLength(piece, offset) });
    }
    return released;
  }

  /** One request is gone without data (REJECT_REQUEST, timeout, our CANCEL). */
  releaseRequest(peer: P, piece: number, offset: number): void {
    const ps = this.peers.get(peer);
    if (!ps || this.blockLength(piece, offset) === 0) return;
    const block = offset / this.blockSize;
    if (!ps.requests.delete(piece * this.blocksPerPiece + block)) return;
    const partial = this.partials.get(piece);
    if (!partial) return;
    const list = partial.requesters[block];
    const remaining = list?.filter((p) => p !== peer) ?? [];
    partial.requesters[block] = remaining.length > 0 ? remaining : undefined;
    if (remaining.length === 0 && partial.state[block] === REQUESTED) {
      partial.state[block] = NONE;
      partial.unrequested++;
      if (this.wantedMissing(piece)) this.unrequested++;
    }
  }

  // --- wanted pieces (BEP 53 select-only, file priorities) ------------------------------------

  /** Restrict downloading to the set pieces; `null` wants everything. */
  setWanted(wanted: Bitfield | null): void {
    if (wanted && wanted.length !== this.pieceCount) {
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `wanted bitfield has ${wanted.length} bits, expected ${this.pieceCount}`);
    }
    this.wanted = wanted ? wanted.clone() : null;
    this.recount();
  }

  // --- blocks and pieces -----------------------------------------------------------------------

  /**
   * Up to `maxRequests` new block requests for `peer`. With `newPieces: false` only pieces
   * already in progress are served (the engine's in-flight memory budget is spent).
   */
  pick(peer: P, maxRequests: number, random: RandomSource, options: PickOptions = {}): BlockRequest[] {
    const ps = this.peers.get(peer);
    const out: BlockRequest[] = [];
    if (!ps || maxRequests <= 0 || this.missingWanted === 0) return out;
    const exclude = options.exclude;
    const has = (i: number): boolean => (ps.seed || (ps.bitfield?.get(i) ?? false)) && !(exclude?.(i) ?? false);

    if (this.unrequested > 0) {
      const started = [...this.partials.values()].filter((p) => p.unrequested > 0 && this.wantedMissing(p.index) && has(p.index));
      started.sort((a, b) => a.unrequested - b.unrequested || this.availability(a.index) - this.availability(b.index));
      for (const partial of started) {
        if (out.length >= maxRequests) break;
        this.takeBlocks(partial, peer, ps, maxRequests, out);
      }
    }
    if (out.length < maxRequests && this.unrequested > 0 && options.newPieces !== false) {
      this.pickNewPieces(peer, ps, maxRequests, random, out, exclude);
    }
    if (out.length < maxRequests && this.isEndgame()) this.pickEndgame(peer, ps, has, maxRequests, out);
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
    if (partial.state[block] === RECEIVED) {
      this.releaseRequest(peer, piece, offset);
      return rejected;
    }
    const requesters = partial.requesters[block] ?? [];
    const key = piece * this.blocksPerPiece + block;
    for (const p of requesters) this.peers.get(p)?.requests.delete(key);
    if (partial.state[block] === NONE) {
      partial.unrequested--;
      if (this.wantedMissing(piece)) this.unrequested--;
    }
    partial.state[block] = RECEIVED;
    partial.requesters[block] = undefined;
    partial.senders[block] = peer;
    partial.received++;
    return { accepted: true, pieceComplete: partial.received === partial.blockCount, cancel: requesters.filter((p) => p !== peer) };
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
    for (const ps of this.peers.values()) if (!ps.seed && ps.bitfield?.get(index)) ps.interesting--;
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
        for (const ps of this.peers.values()) if (!ps.seed && ps.bitfield?.get(index)) ps.interesting++;
      }
      return [];
    }
    const partial = this.partials.get(index);
    if (!partial) return [];
    this.dropPartial(partial);
    if (this.wantedMissing(index)) this.unrequested += partial.blockCount - partial.unrequested;
    return [...new Set(partial.senders.filter((p): p is P => p !== undefined))];
  }

  // --- internals -------------------------------------------------------------------------------

  private peerState(peer: P): PeerState {
    this.addPeer(peer);
    return this.peers.get(peer) as PeerState;
  }

  private wantedMissing(i: number): boolean {
    return !this.have.get(i) && (this.wanted === null || this.wanted.get(i));
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
    for (const ps of this.peers.values()) {
      ps.interesting = 0;
      if (ps.bitfield) for (const i of ps.bitfield.indices()) if (this.wantedMissing(i)) ps.interesting++;
    }
  }

  private forgetAvailability(ps: PeerState): void {
    if (ps.seed) this.seeds--;
    else if (ps.bitfield) for (const i of ps.bitfield.indices()) this.availabilityCounts[i] = (this.availabilityCounts[i] ?? 1) - 1;
    ps.seed = false;
    ps.bitfield = undefined;
    ps.interesting = 0;
  }

  private partialFor(index: number): PartialPiece<P> {
    let partial = this.partials.get(index);
    if (!partial) {
      const blockCount = this.blockCountOf(index);
      partial = {
        index,
        blockCount,
        state: new Uint8Array(blockCount),
        requesters: new Array<P[] | undefined>(blockCount).fill(undefined),
        senders: new Array<P | undefined>(blockCount).fill(undefined),
        unrequested: blockCount,
        received: 0
      };
      this.partials.set(index, partial);
      this.inProgress[index] = 1;
    }
    return partial;
  }

  /** Forget a piece's block state, removing its outstanding requests from the peers. */
  private dropPartial(partial: PartialPiece<P>): void {
    partial.requesters.forEach((list, block) => {
      for (const p of list ?? []) this.peers.get(p)?.requests.delete(partial.index * this.blocksPerPiece + block);
    });
    this.partials.delete(partial.index);
    this.inProgress[partial.index] = 0;
  }

  private takeBlocks(partial: PartialPiece<P>, peer: P, ps: PeerState, max: number, out: BlockRequest[]): void {
    for (let b = 0; b < partial.blockCount && out.length < max; b++) {
      if (partial.state[b] !== NONE) continue;
      partial.state[b] = REQUESTED;
      partial.requesters[b] = [peer];
      partial.unrequested--;
      this.unrequested--;
      ps.requests.add(partial.index * this.blocksPerPiece + b);
      const offset = b * this.blockSize;
      out.push({ piece: partial.index, offset, length: this.blockLength(partial.index, offset) });
    }
  }

  /** Start new pieces for `peer`, rarest first (see pick-order.ts). */
  private pickNewPieces(
    peer: P,
    ps: PeerState,
    max: number,
    random: RandomSource,
    out: BlockRequest[],
    exclude: ((piece: number) => boolean) | undefined
  ): void {
    const theirs = ps.seed ? this.all : ps.bitfield;
    if (!theirs) return;
    const input = {
      pieceCount: this.pieceCount,
      theirs,
      have: this.have,
      wanted: this.wanted ?? this.all,
      inProgress: this.inProgress,
      exclude,
      availability: this.availabilityCounts,
      randomMode: this.have.count < this.randomFirstPieces,
      need: Math.ceil((max - out.length) / this.blocksPerPiece) + 1,
      random
    };
    rarestFirst(input, (piece) => {
      this.takeBlocks(this.partialFor(piece), peer, ps, max, out);
      return out.length >= max;
    });
  }

  /** Endgame: re-request blocks outstanding elsewhere, least-duplicated first. */
  private pickEndgame(peer: P, ps: PeerState, has: (i: number) => boolean, max: number, out: BlockRequest[]): void {
    const outstanding = function* (partials: Iterable<PartialPiece<P>>, wanted: (i: number) => boolean) {
      for (const partial of partials) {
        if (!wanted(partial.index) || !has(partial.index)) continue;
        for (let b = 0; b < partial.blockCount; b++) {
          const requesters = partial.requesters[b];
          if (partial.state[b] === REQUESTED && requesters) yield { piece: partial, block: b, requesters };
        }
      }
    };
    const chosen = endgameOrder(outstanding(this.partials.values(), (i) => this.wantedMissing(i)), peer, this.endgameMax, max - out.length);
    for (const { piece: partial, block, requesters } of chosen) {
      requesters.push(peer);
      ps.requests.add(partial.index * this.blocksPerPiece + block);
      const offset = block * this.blockSize;
      out.push({ piece: partial.index, offset, length: this.blockLength(partial.index, offset) });
    }
  }
}
