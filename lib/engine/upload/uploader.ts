/**
 * The upload half of the built-in engine: who we unchoke (Choker: 4 fastest + 1 optimistic,
 * recomputed every 10 s; by upload rate when seeding; under a cap, more peers while the cap is
 * not used up), and serving their requests from storage through a whole-piece read cache,
 * round-robin between peers (a seed in `distribute` mode: by swarm rarity), under an optional
 * upload cap (token bucket), with socket backpressure (stop on write() === false, resume on
 * 'drain'). BEP 6: requests we will not serve are rejected, choked peers' queues are rejected,
 * and starting peers get an allowed-fast set they may download while choked. The pieces of
 * queued requests are read ahead (read-ahead.ts) and each peer's turn goes out as one
 * gathered write (PeerWire.pieces).
 */
import { isIPv4 } from 'node:net';
import type { TorrentInfo } from '../../torrent/metainfo.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import type { RandomSource } from '../../util/random.js';
import type { OutgoingBlock, RequestMessage } from '../../wire/peer-wire-types.js';
import type { BlockRequest } from '../../wire/messages.js';
import { BLOCK_SIZE } from '../../wire/constants.js';
import { ALLOWED_FAST_COUNT, allowedFastSet } from './allowed-fast.js';
import type { Bitfield } from '../bitfield.js';
import { Choker, type ChokerOptions } from './choker.js';
import { PieceCache } from './piece-cache.js';
import { MAX_INBOUND_QUEUE, type PeerSession } from '../peers/peer-session.js';
import { UploadPeer, type QueuedRequest } from './upload-peer.js';
import { readAhead, readAheadPieces } from './read-ahead.js';
import { SeedPriority } from './seed-priority.js';
import type { Storage } from '../storage/storage.js';
import type { RateLimiter } from '../../util/rate-limiter.js';
import { pieceSize } from '../../torrent/piece-layout.js';

/** Capped upload used below this share over a tick: unchoke one more interested peer. */
const UNDERUSED = 0.85;
/** Extra unchokes (beyond the choker's slots) are at most this many times the choker's slots. */
const MAX_EXTRA_FACTOR = 2;
/**
 * Blocks served to one peer before moving to the next, as one gathered write (fairness vs. the
 * fixed cost of a write and of the peer's read: 256 KiB).
 */
const BLOCKS_PER_TURN = 16;
/**
 * Under a cap, wait for this many bytes of tokens before serving again, or for a full bucket
 * when the burst (a tenth of a second of the rate) is smaller: each wake-up then sends a large
 * batch instead of a few blocks. Every wake-up costs a timer, a service pass, a write and a
 * read at the peer; in a capped swarm those fixed costs, not the bytes, were most of the CPU
 * (libtorrent's bandwidth manager likewise hands out quota per tick, not per block).
 */
const TOKEN_QUANTUM = BLOCKS_PER_TURN * BLOCK_SIZE;

export type ChokerSettings = Partial<
  Pick<ChokerOptions, 'regularSlots' | 'optimisticSlots' | 'recalcMs' | 'optimisticRotateMs'>
>;

export interface UploaderOptions {
  info: TorrentInfo;
  storage: Storage;
  /** Pieces we can serve (verified and written). */
  stored: Bitfield;
  clock: Clock;
  random: RandomSource;
  /** Upload cap, bytes/s (0 = unlimited). */
  /** The upload cap (the engine's, changeable at run time; under a client's global one). */
  limiter: RateLimiter;
  /** Read cache size, bytes. */
  cacheBytes: number;
  choker?: ChokerSettings;
  /** Seeding: serve by swarm rarity, shed requests for pieces others hold (see seed-priority.ts). */
  distribute: boolean;
  /** Connected peers that announced `piece`. */
  availability(piece: number): number;
  /** Pieces the peer announced (BEP 6: allowed-fast only serves starting peers). */
  peerPieceCount(s: PeerSession): number;
  /** The downloader found the peer sends nothing although asked (the choker's snub rule). */
  snubbed(s: PeerSession): boolean;
  /** A read of stored data failed (reported, the request is dropped). */
  warn(error: Error): void;
}

export class Uploader {
  readonly cache: PieceCache;
  uploadedBytes = 0;
  private readonly o: UploaderOptions;
  private readonly choker: Choker<UploadPeer>;
  private readonly limiter: RateLimiter;
  private readonly peers = new Map<PeerSession, UploadPeer>();
  /** Peers with queued requests, in service order. */
  private readonly active = new Set<UploadPeer>();
  /** Peers whose socket buffer is full: wait for 'drain'. */
  private readonly blocked = new Set<UploadPeer>();
  private readonly seedPriority: SeedPriority;
  /** Peers unchoked beyond the choker's slots because the capped upload was not used up. */
  private readonly extra = new Set<UploadPeer>();
  private lastTickAt: number | undefined;
  private lastTickUploaded = 0;
  private serviceScheduled = false;
  private tokenTimer: TimerHandle | undefined;
  private seeding = false;
  private closed = false;

  constructor(options: UploaderOptions) {
    this.o = options;
    this.cache = new PieceCache(options.storage, options.cacheBytes, {
      maxAhead: readAheadPieces(options.cacheBytes, options.info.pieceLength),
      layout: options.info,
      clock: options.clock,
      onRead: (piece, error) => this.onRead(piece, error)
    });
    this.seedPriority = new SeedPriority({
      clock: options.clock,
      availability: options.availability,
      reject: (u, r) => this.reject(u, r)
    });
    this.limiter = options.limiter;
    this.choker = new Choker<UploadPeer>({
      ...options.choker,
      clock: options.clock,
      random: options.random
    });
  }

  /** Seeding changes the choker's criterion (upload rate to them instead of from them). */
  setSeeding(seeding: boolean): void {
    if (this.seeding === seeding) return;
    this.seeding = seeding;
    this.recompute();
  }

  addPeer(s: PeerSession): void {
    if (!this.peers.has(s)) this.peers.set(s, new UploadPeer(s));
  }

  /** Requests of the peer wait here: a message to it follows (a piece, a reject or a choke). */
  hasQueued(s: PeerSession): boolean {
    return (this.peers.get(s)?.inbound.length ?? 0) > 0;
  }

  removePeer(s: PeerSession): void {
    const u = this.peers.get(s);
    if (!u) return;
    this.peers.delete(s);
    this.extra.delete(u);
    this.active.delete(u);
    this.blocked.delete(u);
    u.inbound = [];
    if (!s.wire.amChoking) this.recompute();
  }

  /** Interest changes may free or claim a slot: recompute at once when a slot is free. */
  onInterestChanged(s: PeerSession): void {
    if (!s.wire.peerInterested && !s.wire.amChoking) return this.recompute();
    if (s.wire.peerInterested && s.wire.amChoking && this.freeSlots() > 0) this.recompute();
  }

  onRequest(s: PeerSession, r: RequestMessage): void {
    const u = this.peers.get(s);
    if (!u) return;
    if (!this.canServe(u, r) || u.inbound.length >= MAX_INBOUND_QUEUE) return this.reject(u, r);
    u.inbound.push({ index: r.index, begin: r.begin, length: r.length, at: this.o.clock.now() });
    this.active.add(u);
    this.scheduleService();
  }

  /** BEP 6: a cancelled request is answered with a reject (or the piece, if already sent). */
  onCancel(s: PeerSession, r: RequestMessage): void {
    const u = this.peers.get(s);
    if (!u) return;
    const i = u.inbound.findIndex((q) => q.index === r.index && q.begin === r.begin && q.length === r.length);
    if (i < 0) return;
    u.inbound.splice(i, 1);
    this.reject(u, r);
  }

  onDrain(s: PeerSession): void {
    const u = this.peers.get(s);
    if (u && this.blocked.delete(u)) this.scheduleService();
  }

  /** BEP 6: send a starting peer its allowed-fast set (pieces it may fetch while choked). */
  grantAllowedFast(s: PeerSession): void {
    const u = this.peers.get(s);
    if (!u || !s.wire.fastExtension || !isIPv4(s.address.host) || this.o.stored.count === 0) return;
    for (const index of allowedFastSet(
      s.address.host,
      this.o.info.infoHash,
      this.o.info.pieceCount,
      ALLOWED_FAST_COUNT
    )) {
      if (u.allowedFast.has(index)) continue;
      u.allowedFast.add(index);
      s.wire.allowedFast(index);
    }
  }

  /** Periodic: the choker's 10 s recompute (and its 30 s optimistic rotation). */
  tick(): void {
    if (this.choker.isDue()) this.recompute();
    if (this.prioritising) this.seedPriority.shed(this.active);
    this.useSpareUpload();
  }

  recompute(): void {
    if (this.closed) return;
    const peers = [...this.peers.values()].filter((u) => u.session.connected);
    const decision = this.choker.recompute(
      peers.map((u) => ({
        id: u,
        interested: u.session.wire.peerInterested,
        downloadRate: u.session.down.rate(),
        uploadRate: u.session.up.rate(),
        snubbed: this.o.snubbed(u.session),
        connectedAt: u.session.connectedAt
      })),
      this.seeding
    );
    for (const u of this.extra)
      if (decision.unchoke.has(u) || !u.session.connected || !u.session.wire.peerInterested)
        this.extra.delete(u);
    for (const u of peers) this.setChoked(u, !decision.unchoke.has(u) && !this.extra.has(u));
  }

  close(): void {
    this.closed = true;
    this.tokenTimer?.cancel();
    this.cache.clear();
    this.active.clear();
  }

  // --- internals -------------------------------------------------------------------------------

  private freeSlots(): number {
    let unchoked = 0;
    for (const s of this.peers.keys()) if (!s.wire.amChoking && s.wire.peerInterested) unchoked++;
    return this.choker.regularSlots + this.choker.optimisticSlots - unchoked;
  }

  private setChoked(u: UploadPeer, choke: boolean): void {
    const wire = u.session.wire;
    if (choke === wire.amChoking) return;
    if (!choke) {
      wire.unchoke();
      return;
    }
    wire.choke();
    // BEP 6: choke first, then reject what we will not serve (allowed-fast requests stay).
    const keep: QueuedRequest[] = [];
    for (const r of u.inbound) {
      if (u.allowedFast.has(r.index)) keep.push(r);
      else this.reject(u, r);
    }
    u.inbound = keep;
    if (keep.length === 0) this.active.delete(u);
  }

  private canServe(u: UploadPeer, r: BlockRequest): boolean {
    const { info, stored } = this.o;
    if (r.index >= info.pieceCount || !stored.get(r.index)) return false;
    if (r.begin + r.length > pieceSize(info, r.index)) return false;
    if (!u.session.wire.amChoking) return true;
    // Choked: only the allowed-fast set, and only while the peer is starting (BEP 6).
    return u.allowedFast.has(r.index) && this.o.peerPieceCount(u.session) <= ALLOWED_FAST_COUNT;
  }

  /**
   * Work-conserving unchoking under an upload cap: the choker's 4 + 1 slots assume every
   * unchoked peer can take a full share, but in a swarm a peer often wants only a few of our
   * pieces, and our capped upload then sits idle while other interested peers stay choked.
   * Each tick that used less than UNDERUSED of the cap while no request waited, one more
   * interested, choked peer is unchoked (up to MAX_EXTRA_FACTOR times the slots); it keeps
   * that slot while interested (or until the choker gives it a regular one). Without a cap the
   * capacity is unknown and the choker alone decides.
   */
  private useSpareUpload(): void {
    const now = this.o.clock.now();
    const since = this.lastTickAt;
    const sent = this.uploadedBytes - this.lastTickUploaded;
    this.lastTickAt = now;
    this.lastTickUploaded = this.uploadedBytes;
    if (!this.limiter.limited || since === undefined || now <= since || this.closed) return;
    for (const u of this.extra) {
      if (u.session.connected && u.session.wire.peerInterested) continue;
      this.extra.delete(u);
      if (u.session.connected) this.setChoked(u, true);
    }
    const used = sent / ((this.limiter.effectiveRate * (now - since)) / 1000);
    if (used >= UNDERUSED || this.active.size > 0) return;
    if (this.extra.size >= MAX_EXTRA_FACTOR * (this.choker.regularSlots + this.choker.optimisticSlots))
      return;
    const candidates = [...this.peers.values()].filter(
      (u) => u.session.connected && u.session.wire.peerInterested && u.session.wire.amChoking
    );
    if (candidates.length === 0) return;
    const pick = candidates[this.o.random.int(candidates.length)]!;
    this.extra.add(pick);
    this.setChoked(pick, false);
  }

  /** Seeding in distribute mode with several peers waiting: serve blocks by priority. */
  private get prioritising(): boolean {
    return this.seeding && this.o.distribute && this.active.size > 1;
  }

  private reject(u: UploadPeer, r: BlockRequest): void {
    const s = u.session;
    if (s.wire.fastExtension && s.connected) s.wire.reject(r.index, r.begin, r.length);
  }

  private scheduleService(): void {
    if (this.serviceScheduled || this.closed) return;
    this.serviceScheduled = true;
    this.o.clock.setImmediate(() => {
      this.serviceScheduled = false;
      this.service();
    });
  }

  /** Serve what can be served now, then start reading the pieces the queues will need next. */
  private service(): void {
    if (this.prioritising) this.servicePrioritised();
    else this.serviceRoundRobin();
    if (!this.closed) readAhead(this.cache, this.active);
  }

  /** A few blocks per peer per turn, until tokens, sockets or queues run out. */
  private serviceRoundRobin(): void {
    let progress = true;
    while (progress && !this.closed) {
      progress = false;
      for (const u of [...this.active]) {
        if (!u.session.connected) {
          this.active.delete(u);
          continue;
        }
        const sent = this.serveTurn(u);
        if (sent < 0) return; // out of tokens: a timer resumes
        if (sent > 0) progress = true;
        // Move to the back: the next pass starts with someone else.
        if (this.active.delete(u)) this.active.add(u);
      }
    }
  }

  /** Up to BLOCKS_PER_TURN cached blocks from the head of one peer's queue, as one write. Blocks sent, or -1 when out of tokens. */
  private serveTurn(u: UploadPeer): number {
    const batch: OutgoingBlock[] = [];
    const sources: Uint8Array[] = [];
    let outOfTokens = false;
    while (batch.length < BLOCKS_PER_TURN && !this.blocked.has(u)) {
      const r = u.inbound[0];
      if (!r) {
        this.active.delete(u);
        break;
      }
      const data = this.cache.get(r.index);
      if (!data) {
        this.fetch(r.index);
        break;
      }
      if (!this.limiter.take(this.o.clock.now(), r.length)) {
        outOfTokens = true;
        break;
      }
      u.inbound.shift();
      batch.push({ index: r.index, begin: r.begin, block: data.subarray(r.begin, r.begin + r.length) });
      sources.push(data);
    }
    if (batch.length > 0) this.send(u, batch, sources);
    if (outOfTokens) this.waitForTokens(TOKEN_QUANTUM);
    return outOfTokens ? -1 : batch.length;
  }

  /**
   * distribute mode: one block at a time, the lowest priority first (ties: round-robin). The
   * blocks chosen for a peer in one pass go out together, as one write per peer when the pass
   * ends or the peer's batch reaches BLOCKS_PER_TURN: the order decides who gets which block,
   * not when each socket is written.
   */
  private servicePrioritised(): void {
    const batches = new Map<UploadPeer, { blocks: OutgoingBlock[]; sources: Uint8Array[] }>();
    while (!this.closed) {
      const next = this.seedPriority.pick(this.active, this.blocked);
      if (!next) break;
      const { u, i } = next;
      const r = u.inbound[i]!;
      const data = this.cache.get(r.index);
      if (!data) {
        this.fetch(r.index);
        break;
      }
      if (!this.limiter.take(this.o.clock.now(), r.length)) {
        this.waitForTokens(TOKEN_QUANTUM);
        break;
      }
      u.inbound.splice(i, 1);
      // Now, not when the batch is written: the next pick's priorities depend on it.
      this.seedPriority.assign(u, r.index);
      let batch = batches.get(u);
      if (!batch) batches.set(u, (batch = { blocks: [], sources: [] }));
      batch.blocks.push({
        index: r.index,
        begin: r.begin,
        block: data.subarray(r.begin, r.begin + r.length)
      });
      batch.sources.push(data);
      if (batch.blocks.length >= BLOCKS_PER_TURN) {
        batches.delete(u);
        this.send(u, batch.blocks, batch.sources);
      }
      // Move to the back: among equals, the next block goes to someone else.
      this.active.delete(u);
      if (u.inbound.length > 0) this.active.add(u);
    }
    for (const [u, batch] of batches) if (u.session.connected) this.send(u, batch.blocks, batch.sources);
  }

  /** `sources`: the cached pieces the blocks are views of, lent to the write until it reports. */
  private send(u: UploadPeer, blocks: OutgoingBlock[], sources: Uint8Array[]): void {
    const assign = this.seeding && this.o.distribute;
    let bytes = 0;
    for (const b of blocks) {
      if (assign) this.seedPriority.assign(u, b.index);
      bytes += b.block.length;
    }
    for (const d of sources) this.cache.lend(d);
    const cache = this.cache;
    const ok = u.session.wire.pieces(blocks, () => {
      for (const d of sources) cache.giveBack(d);
    });
    u.session.up.add(bytes);
    this.uploadedBytes += bytes;
    if (!ok) this.blocked.add(u);
  }

  /** A demand read: its end (or failure) comes back once through `onRead`, however often asked. */
  private fetch(index: number): void {
    void this.cache.load(index);
  }

  private onRead(index: number, error?: Error): void {
    if (error) {
      this.o.warn(error);
      for (const u of this.active)
        u.inbound = u.inbound.filter((r) => (r.index === index ? (this.reject(u, r), false) : true));
    }
    this.scheduleService();
  }

  private waitForTokens(bytes: number): void {
    if (this.tokenTimer) return;
    this.tokenTimer = this.o.clock.setTimeout(
      () => {
        this.tokenTimer = undefined;
        this.scheduleService();
      },
      Math.max(1, this.limiter.waitMs(this.o.clock.now(), bytes))
    );
  }
}
