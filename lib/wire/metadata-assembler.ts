/**
 * Collects ut_metadata pieces from several peers and verifies SHA-1(info) == infohash. Pure
 * bookkeeping (no I/O, no timers): the engine asks which piece to request from which peer,
 * keeping only a few requests in flight per peer, and reports answers, rejects and timeouts.
 *
 * `K` identifies a peer for the engine (a PeerWire, an address string, ...).
 */
import { createHash } from 'node:crypto';
import { ID_LENGTH } from '../constants.js';
import { InvalidArgumentError } from '../errors.js';
import { bytesEqual } from '../util/bytes.js';
import { DEFAULT_MAX_METADATA_SIZE, METADATA_PIECE_LENGTH } from './constants.js';
import { isValidMetadataSize, metadataPieceCount, metadataPieceLength } from './ut-metadata.js';

export interface MetadataAssemblerOptions {
  infoHash: Uint8Array;
  /** metadata_size announced by the peer(s) we fetch from, bytes. */
  size: number;
  /** Cap on `size`, bytes. Default 16 MiB. */
  maxSize?: number;
}

export type MetadataAddResult<K> =
  /** Stored; more pieces are needed. */
  | { status: 'partial' }
  /** All pieces present and the SHA-1 matches: `info` is the verified info dictionary. */
  | { status: 'complete'; info: Uint8Array }
  /** All pieces present but the hash is wrong: every piece was dropped; blame `contributors`. */
  | { status: 'corrupt'; contributors: K[] }
  | { status: 'ignored'; reason: 'done' | 'bad-index' | 'bad-length' | 'duplicate' };

export class MetadataAssembler<K = unknown> {
  readonly size: number;
  readonly pieceCount: number;
  private readonly infoHash: Uint8Array;
  private readonly buffer: Uint8Array;
  private readonly received: Uint8Array;
  private readonly contributors: (K | undefined)[];
  private receivedCount = 0;
  private done: Uint8Array | undefined;
  /**
   * SHA-1 over the contiguous prefix of received pieces, fed as pieces arrive (they mostly
   * arrive in order), so completing a 5 MiB dictionary does not stall on hashing it whole.
   */
  private hasher = createHash('sha1');
  /** Pieces [0, hashed) are received and fed to `hasher`; also where request scans start. */
  private hashed = 0;
  /** piece -> peers it is requested from, and peer -> pieces requested from it. */
  private readonly requestedFrom = new Map<number, Set<K>>();
  private readonly byPeer = new Map<K, Set<number>>();

  constructor(options: MetadataAssemblerOptions) {
    if (!(options.infoHash instanceof Uint8Array) || options.infoHash.length !== ID_LENGTH) {
      throw new InvalidArgumentError('ERR_INVALID_INFOHASH', 'infohash must be 20 bytes');
    }
    if (!isValidMetadataSize(options.size, options.maxSize ?? DEFAULT_MAX_METADATA_SIZE)) {
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `unacceptable metadata size ${options.size}`);
    }
    this.infoHash = options.infoHash;
    this.size = options.size;
    this.pieceCount = metadataPieceCount(options.size);
    this.buffer = new Uint8Array(options.size);
    this.received = new Uint8Array(this.pieceCount);
    this.contributors = new Array<K | undefined>(this.pieceCount);
  }

  get complete(): boolean {
    return this.done !== undefined;
  }

  /** The verified info dictionary once complete. */
  get info(): Uint8Array | undefined {
    return this.done;
  }

  /** Pieces not received yet (in flight or not), ascending. */
  missing(): number[] {
    const out: number[] = [];
    if (this.done) return out;
    for (let i = 0; i < this.pieceCount; i++) if (this.received[i] === 0) out.push(i);
    return out;
  }

  /** Requests currently recorded for `peer`. */
  inFlight(peer: K): number {
    return this.byPeer.get(peer)?.size ?? 0;
  }

  /**
   * Choose a piece to request from `peer` and record it, or undefined when `peer` already has
   * `maxInFlight` requests or nothing is left for it. Prefers pieces nobody is fetching; when
   * all missing pieces are in flight elsewhere (endgame), duplicates one this peer lacks.
   */
  nextRequest(peer: K, maxInFlight = 2): number | undefined {
    if (this.done || this.inFlight(peer) >= maxInFlight) return undefined;
    let fallback: number | undefined;
    for (let i = this.hashed; i < this.pieceCount; i++) {
      if (this.received[i] !== 0) continue;
      const from = this.requestedFrom.get(i);
      if (!from || from.size === 0) return this.record(peer, i);
      if (fallback === undefined && !from.has(peer)) fallback = i;
    }
    return fallback === undefined ? undefined : this.record(peer, fallback);
  }

  /** Forget requests to `peer` (a reject, a timeout, or all of them when it disconnected). */
  release(peer: K, piece?: number): void {
    const pieces = this.byPeer.get(peer);
    if (!pieces) return;
    for (const p of piece === undefined ? [...pieces] : [piece]) {
      if (!pieces.delete(p)) continue;
      this.requestedFrom.get(p)?.delete(peer);
    }
    if (pieces.size === 0) this.byPeer.delete(peer);
  }

  /** Store piece `piece` from `peer` (data is copied). Verifies the hash when the last arrives. */
  add(piece: number, data: Uint8Array, peer?: K): MetadataAddResult<K> {
    if (peer !== undefined) this.release(peer, piece);
    if (this.done) return { status: 'ignored', reason: 'done' };
    if (!Number.isInteger(piece) || piece < 0 || piece >= this.pieceCount)
      return { status: 'ignored', reason: 'bad-index' };
    if (data.length !== metadataPieceLength(this.size, piece))
      return { status: 'ignored', reason: 'bad-length' };
    if (this.received[piece] !== 0) return { status: 'ignored', reason: 'duplicate' };
    this.buffer.set(data, piece * METADATA_PIECE_LENGTH);
    this.received[piece] = 1;
    this.contributors[piece] = peer;
    this.receivedCount++;
    while (this.hashed < this.pieceCount && this.received[this.hashed] !== 0) {
      const start = this.hashed * METADATA_PIECE_LENGTH;
      this.hasher.update(this.buffer.subarray(start, start + metadataPieceLength(this.size, this.hashed)));
      this.hashed++;
    }
    if (this.receivedCount < this.pieceCount) return { status: 'partial' };
    if (bytesEqual(this.hasher.digest(), this.infoHash)) {
      this.done = this.buffer;
      this.requestedFrom.clear();
      this.byPeer.clear();
      return { status: 'complete', info: this.buffer };
    }
    const blamed = new Set<K>();
    for (const k of this.contributors) if (k !== undefined) blamed.add(k);
    this.received.fill(0);
    this.contributors.fill(undefined);
    this.receivedCount = 0;
    this.hasher = createHash('sha1');
    this.hashed = 0;
    return { status: 'corrupt', contributors: [...blamed] };
  }

  private record(peer: K, piece: number): number {
    let from = this.requestedFrom.get(piece);
    if (!from) this.requestedFrom.set(piece, (from = new Set()));
    from.add(peer);
    let pieces = this.byPeer.get(peer);
    if (!pieces) this.byPeer.set(peer, (pieces = new Set()));
    pieces.add(piece);
    return piece;
  }
}
