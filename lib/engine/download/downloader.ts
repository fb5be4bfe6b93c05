/**
 * The download half of the built-in engine: turns peers' availability into pipelined block
 * requests (PiecePicker: rarest first, random first pieces, endgame), assembles blocks into
 * piece buffers, verifies each piece's SHA-1 before it is written, and blames senders of bad
 * data (SmartBan).
 *
 * Piece path, with the copies it costs: socket chunk -> (framer view) -> one copy into the
 * piece buffer -> one SHA-1 over the buffer -> one storage write of the whole piece. Piece
 * buffers are recycled once their write resolved (piece-buffers.ts). Memory is bounded: a
 * buffer is taken when a piece's first block is requested, and once `maxInFlightBytes` of buffers (including
 * pieces being written) exist, peers only get blocks of pieces already started.
 *
 * A file selection (BEP 53) or file priorities restrict the picker to the `wanted` pieces
 * (changeable while running), and completion means every wanted piece is stored. Readers'
 * deadlines (demand.ts) go to the picker; when a new most-urgent piece appears (a seek, a new
 * reader) the requests queued at peers that have it are cancelled, so it is not served behind
 * a pipeline of other pieces. While a peer chokes us, we still ask it for the pieces of its
 * BEP 6 allowed-fast set (`DownloadPeer.allowedFast`), and only those.
 */
import { createHash, webcrypto } from 'node:crypto';
import { pieceHash, type TorrentInfo } from '../../torrent/metainfo.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import type { RandomSource } from '../../util/random.js';
import type { PieceMessage, RequestMessage } from '../../wire/peer-wire-types.js';
import { Bitfield } from '../bitfield.js';
import type { PeerSession } from '../peers/peer-session.js';
import { PieceBuffers, type PieceBuffer } from './piece-buffers.js';
import { PiecePicker } from '../picker/piece-picker.js';
import { SmartBan } from './smart-ban.js';
import type { Storage } from '../storage/storage.js';
import type { RateLimiter } from '../../util/rate-limiter.js';

/** After a peer rejected a piece while unchoking us, ask others for it for this long, ms. */
const AVOID_AFTER_REJECT_MS = 5_000;
/**
 * Most allowed_fast indices remembered per peer. BEP 6 suggests sets of 10 (libtorrent sends
 * 10 by default); the cap bounds what a peer sending endless allowed_fast messages costs us.
 */
export const MAX_PEER_ALLOWED_FAST = 64;

/** What the downloader keeps per peer (it is the only writer). */
interface DownloadPeer {
  /** Last time a block arrived from the peer, or when our first request to it went out. */
  lastBlockAt: number;
  /** The peer sent no data for a while although we asked (the choker gives it no regular slot). */
  snubbed: boolean;
  /** Pieces the peer put in our allowed-fast set: we may request them while it chokes us (capped). */
  readonly allowedFast: Set<number>;
  /** piece -> until when not to ask this peer for it (it rejected it while unchoking us). */
  readonly avoid: Map<number, number>;
  /**
   * Blocks (`piece:offset`) we cancelled to make way for a deadline, still awaiting the BEP 6
   * answer (a piece or a reject): they stay requested until then, so the same block is not
   * asked twice on one connection, and their reject is no "ask elsewhere" hint.
   */
  readonly cancelled: Set<string>;
}

/** A peer as the downloader sees it, for status displays and tests. */
export interface DownloadPeerStatus {
  /** Our block requests to it not yet answered. */
  requests: number;
  /** The pieces of its allowed-fast set (BEP 6), ascending. */
  allowedFast: number[];
  snubbed: boolean;
  /** It has every piece. */
  seed: boolean;
}

export interface DownloaderHooks {
  /** Piece verified and written: announce it (HAVE). */
  pieceStored(index: number): void;
  /** The peer sent data that failed verification. */
  ban(session: PeerSession): void;
  /** Storage failed: the engine cannot continue. */
  fatal(error: Error): void;
  /** Every wanted piece is verified and written (not yet flushed). */
  complete(): void;
}

export interface DownloaderOptions {
  info: TorrentInfo;
  storage: Storage;
  /** Pieces already verified and stored (resume). */
  have: Bitfield;
  /** Pieces to download (a file selection); undefined: every piece. */
  wanted?: Bitfield;
  clock: Clock;
  random: RandomSource;
  hooks: DownloaderHooks;
  /** Cap on piece buffers (being assembled or written), bytes. */
  maxInFlightBytes: number;
  /** Requests kept outstanding per peer: at least `minPipeline`, up to `maxPipeline` for fast peers. */
  minPipeline: number;
  maxPipeline: number;
  /** Seconds of a peer's measured rate kept in flight (sizes the pipeline between min and max). */
  pipelineSeconds: number;
  /** Download cap, bytes/s (0 = unlimited): enforced by pacing our requests. */
  /** The download cap (the engine's, changeable at run time; under a client's global one). */
  limiter: RateLimiter;
  /** A peer that sends nothing for this long while we wait on it loses its requests, ms. */
  requestTimeoutMs: number;
  /** Hash pieces on the thread pool (WebCrypto) instead of the event loop. */
  hashInThreadPool?: boolean;
}

export class Downloader {
  readonly picker: PiecePicker<PeerSession>;
  /** Verified AND written: what we may serve and what the resume file records. */
  readonly stored: Bitfield;
  /** The pieces to download (a file selection), or undefined for all of them. */
  private _wanted: Bitfield | undefined;
  /** Wanted pieces stored (progress and completion; pieces stored beyond a selection do not count). */
  storedWantedCount = 0;
  /** Piece payload bytes received, and the part discarded (duplicates, unrequested, failed pieces). */
  receivedBytes = 0;
  wastedBytes = 0;
  failedPieces = 0;
  private readonly o: DownloaderOptions;
  private readonly buffers: PieceBuffers<PeerSession>;
  private writingBytes = 0;
  private readonly writes = new Set<Promise<void>>();
  private readonly peers = new Map<PeerSession, DownloadPeer>();
  private readonly limiter: RateLimiter;
  private readonly smartBan: SmartBan<PeerSession>;
  private fillScheduled = false;
  /**
   * A fill ran with the in-flight budget spent (no new pieces started): the next write that
   * brings the budget back refills every peer. Without one, a finished write changes nothing a
   * pick could use (the piece left the picker when it verified), and refilling every peer after
   * every write was most of a swarm's picks, nearly all of them empty.
   */
  private budgetLimited = false;
  private refillTimer: TimerHandle | undefined;
  private closed = false;

  constructor(options: DownloaderOptions) {
    this.o = options;
    this.picker = new PiecePicker<PeerSession>({
      length: options.info.length,
      pieceLength: options.info.pieceLength,
      have: options.have
    });
    this.stored = options.have.clone();
    this.applyWanted(options.wanted);
    this.limiter = options.limiter;
    this.smartBan = new SmartBan({ blockSize: this.picker.blockSize });
    this.buffers = new PieceBuffers({
      pieceLength: options.info.pieceLength,
      blockSize: this.picker.blockSize,
      pieceSize: (index) => this.picker.pieceSize(index),
      maxPooled: Math.ceil(options.maxInFlightBytes / options.info.pieceLength)
    });
  }

  get complete(): boolean {
    return this.storedWantedCount === this.wantedCount;
  }

  /** The pieces to download (a file selection or priorities), or undefined for all of them. */
  get wanted(): Bitfield | undefined {
    return this._wanted;
  }

  /** Change the pieces to download (priorities changed). The caller checks `complete` after. */
  setWanted(wanted: Bitfield | undefined): void {
    this.applyWanted(wanted);
    this.refreshInterest();
  }

  /** Pieces to start before other wanted ones (high-priority files); null for none. */
  setHigh(high: Bitfield | null): void {
    this.picker.setHigh(high);
  }

  setSequential(on: boolean): void {
    this.picker.setSequential(on);
  }

  /** The pieces readers wait on, most urgent first (see demand.ts). */
  setDeadlines(pieces: readonly number[]): void {
    const before = this.picker.firstDeadline();
    this.picker.setDeadlines(pieces);
    const head = this.picker.firstDeadline();
    if (head !== undefined && head !== before && !this.buffers.has(head)) this.makeWayFor(head);
    this.refreshInterest();
  }

  /** Pieces to download: all of them, or those of the selected files. */
  get wantedCount(): number {
    return this.wanted ? this.wanted.count : this.picker.pieceCount;
  }

  /** Bytes held in piece buffers (assembling or being written). */
  get inFlightBytes(): number {
    return this.buffers.bytes + this.writingBytes;
  }

  // --- peers -----------------------------------------------------------------------------------

  /** `allowedFast`: indices the peer sent before the piece count was known (range-checked here). */
  addPeer(s: PeerSession, allowedFast: Iterable<number> = []): void {
    const p: DownloadPeer = {
      lastBlockAt: 0,
      snubbed: false,
      allowedFast: new Set(),
      avoid: new Map(),
      cancelled: new Set()
    };
    for (const i of allowedFast) if (i < this.picker.pieceCount) p.allowedFast.add(i);
    this.peers.set(s, p);
    this.picker.addPeer(s);
  }

  removePeer(s: PeerSession): void {
    if (!this.peers.delete(s)) return;
    this.picker.removePeer(s);
    this.smartBan.forget(s);
    this.scheduleFill();
  }

  /** Apply a bitfield (wire form). Throws InvalidArgumentError on a bad length / spare bits. */
  onBitfield(s: PeerSession, bitfield: Bitfield): void {
    this.picker.onBitfield(s, bitfield);
    this.updateInterest(s);
  }

  onHaveAll(s: PeerSession): void {
    this.picker.onHaveAll(s);
    this.updateInterest(s);
  }

  onHave(s: PeerSession, index: number): void {
    this.picker.onHave(s, index);
    if (!s.wire.amInterested) this.updateInterest(s);
    else this.fill(s);
  }

  onUnchoke(s: PeerSession): void {
    this.fill(s);
  }

  /** The peer has every piece (have_all, a full bitfield, or HAVEs for all). */
  isSeed(s: PeerSession): boolean {
    return this.picker.peerHasAll(s);
  }

  /** The peer sent nothing for a while although we asked (see `tick`). */
  isSnubbed(s: PeerSession): boolean {
    return this.peers.get(s)?.snubbed ?? false;
  }

  status(s: PeerSession): DownloadPeerStatus | undefined {
    const p = this.peers.get(s);
    if (!p) return undefined;
    return {
      requests: this.picker.requestCount(s),
      allowedFast: [...p.allowedFast].sort((a, b) => a - b),
      snubbed: p.snubbed,
      seed: this.picker.peerHasAll(s)
    };
  }

  /** BEP 6 ALLOWED_FAST: we may request `index` while the peer chokes us (if it has it). */
  onAllowedFast(s: PeerSession, index: number): void {
    const p = this.peers.get(s);
    if (!p || !Number.isInteger(index) || index < 0 || index >= this.picker.pieceCount) return;
    if (!p.allowedFast.has(index)) {
      if (p.allowedFast.size >= MAX_PEER_ALLOWED_FAST) return;
      p.allowedFast.add(index);
    }
    if (s.wire.peerChoking) this.fill(s);
  }

  /** Without BEP 6 a choke drops our requests (BEP 3); with it, rejects will follow. */
  onChoke(s: PeerSession): void {
    if (!s.wire.fastExtension) {
      this.picker.releasePeerRequests(s);
      this.peers.get(s)?.cancelled.clear();
      this.scheduleFill();
    }
  }

  /**
   * A reject while unchoked means "not from me, not now" (an overloaded peer, or a seed that
   * redirects us to another holder): ask others for that piece for a while. A reject while
   * choked withdraws the piece from the peer's allowed-fast set (BEP 6 lets it refuse them,
   * e.g. once we are no longer a starting peer): asking again would loop request/reject.
   */
  onReject(s: PeerSession, r: RequestMessage): void {
    const p = this.peers.get(s);
    if (!p) return;
    this.picker.releaseRequest(s, r.index, r.begin);
    if (p.cancelled.delete(`${r.index}:${r.begin}`)) return this.scheduleFill();
    if (!s.wire.peerChoking) p.avoid.set(r.index, this.o.clock.now() + AVOID_AFTER_REJECT_MS);
    else p.allowedFast.delete(r.index);
    this.scheduleFill();
  }

  onPiece(s: PeerSession, m: PieceMessage): void {
    const p = this.peers.get(s);
    if (!p) return;
    const now = this.o.clock.now();
    const length = m.block.length;
    s.down.add(length);
    if (p.cancelled.size > 0) p.cancelled.delete(`${m.index}:${m.begin}`);
    p.lastBlockAt = now;
    p.snubbed = false;
    this.receivedBytes += length;
    // The wire checks lengths of requested blocks; an unrequested one (legal without BEP 6,
    // e.g. after a choke) must still be exactly a block, of a wanted piece, to be counted —
    // and may open a new piece buffer only within the in-flight budget: otherwise a peer
    // sending one stray block per piece would make us buffer the whole torrent.
    const fits =
      this.picker.blockLength(m.index, m.begin) === length &&
      (!this.wanted || this.wanted.get(m.index) || this.picker.hasDeadline(m.index)) &&
      (this.buffers.has(m.index) ||
        this.picker.isRequestedFrom(s, m.index, m.begin) ||
        this.inFlightBytes + this.picker.pieceSize(m.index) <= this.o.maxInFlightBytes);
    const r = fits ? this.picker.onBlockReceived(s, m.index, m.begin) : undefined;
    if (!r?.accepted) {
      this.wastedBytes += length;
      this.fill(s);
      return;
    }
    for (const other of r.cancel) if (other.connected) other.wire.cancel(m.index, m.begin, length);
    const buf = this.buffers.forPiece(m.index);
    buf.data.set(m.block, m.begin);
    buf.senders[m.begin / this.picker.blockSize] = s;
    if (r.pieceComplete) this.verify(m.index, buf);
    this.fill(s);
  }

  // --- requests --------------------------------------------------------------------------------

  /** Send our INTERESTED / NOT_INTERESTED for the peer's current availability, then top it up. */
  updateInterest(s: PeerSession): void {
    if (this.setInterest(s)) this.fill(s);
  }

  /**
   * Top up the peer's pipeline (refills once it is a quarter empty, to batch the picks). A
   * choking peer is asked only for its allowed-fast pieces (BEP 6: "a peer may download pieces
   * in the allowed fast set even when choked").
   */
  fill(s: PeerSession): void {
    const p = this.peers.get(s);
    if (this.closed || !p || !s.connected || !s.wire.amInterested) return;
    const choked = s.wire.peerChoking;
    if (choked && (!s.wire.fastExtension || p.allowedFast.size === 0)) return;
    const target = this.pipelineTarget(s);
    const outstanding = this.picker.requestCount(s);
    if (outstanding > target - Math.max(1, target >> 2)) return;
    let budget = target - outstanding;
    if (this.limiter.limited) {
      budget = Math.min(
        budget,
        Math.floor(this.limiter.available(this.o.clock.now()) / this.picker.blockSize)
      );
      if (budget <= 0) return this.scheduleRefill();
    }
    const newPieces = this.inFlightBytes < this.o.maxInFlightBytes;
    if (!newPieces) this.budgetLimited = true;
    const now = this.o.clock.now();
    const avoided =
      p.avoid.size === 0 ? undefined : (piece: number): boolean => (p.avoid.get(piece) ?? 0) > now;
    const exclude = choked
      ? (piece: number): boolean => !p.allowedFast.has(piece) || (avoided?.(piece) ?? false)
      : avoided;
    const requests = this.picker.pick(
      s,
      budget,
      this.o.random,
      exclude ? { newPieces, exclude } : { newPieces }
    );
    if (requests.length > 0 && outstanding === 0) p.lastBlockAt = this.o.clock.now();
    for (const r of requests) {
      this.buffers.forPiece(r.index);
      this.limiter.take(now, r.length);
      s.wire.request(r.index, r.begin, r.length);
    }
  }

  /** Fill every peer, once per turn of the event loop however often it is asked. */
  scheduleFill(): void {
    if (this.fillScheduled || this.closed) return;
    this.fillScheduled = true;
    this.o.clock.setImmediate(() => {
      this.fillScheduled = false;
      for (const s of this.peers.keys()) this.fill(s);
    });
  }

  /**
   * Periodic upkeep: a peer that kept our requests unanswered for `requestTimeoutMs` is marked
   * snubbed and its requests go back to the picker (cancelled on the wire).
   */
  tick(now: number): void {
    for (const [s, p] of this.peers) {
      for (const [piece, until] of p.avoid) if (until <= now) p.avoid.delete(piece);
      if (this.picker.requestCount(s) === 0 || now - p.lastBlockAt < this.o.requestTimeoutMs) continue;
      p.snubbed = true;
      p.cancelled.clear();
      for (const r of this.picker.releasePeerRequests(s))
        if (s.connected) s.wire.cancel(r.index, r.begin, r.length);
      p.lastBlockAt = now;
    }
    this.scheduleFill();
  }

  /** Resolves when no piece write is in progress (graceful stop). */
  async idle(): Promise<void> {
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
  }

  close(): void {
    this.closed = true;
    this.refillTimer?.cancel();
    this.buffers.close();
  }

  // --- internals -------------------------------------------------------------------------------

  private applyWanted(wanted: Bitfield | undefined): void {
    this._wanted = wanted?.clone();
    this.picker.setWanted(wanted ?? null);
    this.storedWantedCount = wanted ? wanted.and(this.stored).count : this.stored.count;
  }

  /** Interest may change with the wanted set: update it for every peer, then refill. */
  private refreshInterest(): void {
    for (const s of this.peers.keys()) this.updateInterest(s);
    this.scheduleFill();
  }

  /**
   * A reader now waits first on `piece`, which nobody is fetching: cancel the requests queued
   * at each unchoking peer that has it, except those for pieces with deadlines, so its blocks
   * go out first instead of behind a full pipeline. With BEP 6 the peer answers every cancel
   * (a piece already on its way, or a reject), and the request stays ours until then; without
   * it the cancel ends the request at once (BEP 3).
   */
  private makeWayFor(piece: number): void {
    for (const [s, p] of this.peers) {
      if (!s.connected || s.wire.peerChoking || !this.picker.peerHas(s, piece)) continue;
      for (const r of this.picker.outstanding(s)) {
        if (this.picker.hasDeadline(r.index)) continue;
        const key = `${r.index}:${r.begin}`;
        if (p.cancelled.has(key)) continue;
        s.wire.cancel(r.index, r.begin, r.length);
        if (s.wire.fastExtension) p.cancelled.add(key);
        else this.picker.releaseRequest(s, r.index, r.begin);
      }
    }
  }

  private pipelineTarget(s: PeerSession): number {
    const { minPipeline, maxPipeline, pipelineSeconds } = this.o;
    const byRate = Math.ceil((s.down.rate() * pipelineSeconds) / this.picker.blockSize);
    const target = Math.max(minPipeline, Math.min(maxPipeline, byRate));
    return Math.min(target, s.remoteQueueLimit ?? target);
  }

  /** INTERESTED / NOT_INTERESTED as the peer's availability says; true while interested. */
  private setInterest(s: PeerSession): boolean {
    if (!s.connected) return false;
    const want = this.picker.isInteresting(s);
    if (want && !s.wire.amInterested) s.wire.interested();
    else if (!want && s.wire.amInterested) s.wire.uninterested();
    return want;
  }

  private scheduleRefill(): void {
    if (this.refillTimer || this.closed) return;
    const delay = Math.max(
      10,
      this.limiter.waitMs(this.o.clock.now(), this.picker.blockSize * Math.max(1, this.o.minPipeline >> 2))
    );
    this.refillTimer = this.o.clock.setTimeout(() => {
      this.refillTimer = undefined;
      this.scheduleFill();
    }, delay);
  }

  private verify(index: number, buf: PieceBuffer<PeerSession>): void {
    this.buffers.release(index);
    if (!this.o.hashInThreadPool)
      return this.checked(index, buf, createHash('sha1').update(buf.data).digest());
    // WebCrypto digests run on libuv's thread pool: the event loop keeps moving bytes meanwhile.
    const size = buf.data.length;
    this.writingBytes += size;
    const job = webcrypto.subtle.digest('SHA-1', buf.data).then(
      (digest) => {
        this.writingBytes -= size;
        if (!this.closed) this.checked(index, buf, Buffer.from(digest));
      },
      (err: unknown) => {
        this.writingBytes -= size;
        if (!this.closed) this.o.hooks.fatal(err instanceof Error ? err : new Error(String(err)));
      }
    );
    this.writes.add(job);
    void job.finally(() => this.writes.delete(job));
  }

  private checked(index: number, buf: PieceBuffer<PeerSession>, digest: Buffer): void {
    const expected = pieceHash(this.o.info, index);
    if (!digest.equals(expected)) {
      this.failedPieces++;
      this.wastedBytes += buf.data.length;
      this.picker.onPieceFailed(index);
      for (const p of this.smartBan.pieceFailed(index, buf.data, buf.senders)) this.o.hooks.ban(p);
      this.buffers.recycle(buf.data);
      this.scheduleFill();
      return;
    }
    this.picker.onPieceVerified(index);
    for (const p of this.smartBan.pieceVerified(index, buf.data)) this.o.hooks.ban(p);
    // A verified piece only removes candidates: peers that held it may no longer interest us,
    // but none has anything new to pick.
    for (const s of this.peers.keys())
      if (s.wire.amInterested && this.picker.peerHas(s, index)) this.setInterest(s);
    this.write(index, buf.data);
  }

  private write(index: number, data: Buffer): void {
    this.writingBytes += data.length;
    const done = this.o.storage.writeBlock(index, 0, data).then(
      () => {
        this.writingBytes -= data.length;
        this.buffers.recycle(data);
        if (this.closed) return;
        if (this.stored.set(index) && (!this.wanted || this.wanted.get(index))) this.storedWantedCount++;
        this.o.hooks.pieceStored(index);
        if (this.complete) this.o.hooks.complete();
        else if (this.budgetLimited && this.inFlightBytes < this.o.maxInFlightBytes) {
          this.budgetLimited = false;
          this.scheduleFill();
        }
      },
      (err: unknown) => {
        this.writingBytes -= data.length;
        if (!this.closed) this.o.hooks.fatal(err instanceof Error ? err : new Error(String(err)));
      }
    );
    this.writes.add(done);
    void done.finally(() => this.writes.delete(done));
  }
}
