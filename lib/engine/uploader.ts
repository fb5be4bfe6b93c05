/**
 * The upload half of the built-in engine: who we unchoke (Choker: 4 fastest + 1 optimistic,
 * recomputed every 10 s; by upload rate when seeding; under a cap, more peers while the cap is
 * not used up), and serving their requests from storage through a whole-piece read cache,
 * round-robin between peers (a seed in `distribute` mode: by swarm rarity), under an optional
 * upload cap (token bucket), with socket backpressure (stop on write() === false, resume on
 * 'drain'). BEP 6: requests we will not serve are rejected, choked peers' queues are rejected,
 * and starting peers get an allowed-fast set they may download while choked.
 */
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { TorrentInfo } from '../torrent/metainfo.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { RandomSource } from '../util/random.js';
import type { RequestMessage } from '../wire/peer-wire-types.js';
import type { BlockRequest } from '../wire/messages.js';
import type { Bitfield } from './bitfield.js';
import { Choker, type ChokerOptions } from './choker.js';
import { PieceCache } from './piece-cache.js';
import { MAX_INBOUND_QUEUE, type PeerSession } from './peer-session.js';
import type { Storage } from './storage.js';
import { TokenBucket } from './token-bucket.js';

/** BEP 6 allowed-fast set size (the BEP's reference value is 10). */
export const ALLOWED_FAST_COUNT = 10;
/** distribute mode: a piece asked for again this long after we rejected it is served first, ms. */
const REDIRECT_WINDOW_MS = 3_000;
/** distribute mode: a piece being sent to a peer counts as "coming" there for this long, ms. */
const ASSIGNMENT_MS = 10_000;
/** distribute mode: a request for a piece others hold waits this long behind rarer work before it is rejected, ms. */
const HOLD_MS = 1_500;
/** distribute mode: queued requests of each peer looked at when choosing the next block. */
const SCAN_DEPTH = 64;
/** Capped upload used below this share over a tick: unchoke one more interested peer. */
const UNDERUSED = 0.85;
/** Extra unchokes (beyond the choker's slots) are at most this many times the choker's slots. */
const MAX_EXTRA_FACTOR = 2;
/** Blocks served to one peer before moving to the next (fairness vs. per-pass overhead). */
const BLOCKS_PER_TURN = 4;

export type ChokerSettings = Partial<Pick<ChokerOptions, 'regularSlots' | 'optimisticSlots' | 'recalcMs' | 'optimisticRotateMs'>>;

export interface UploaderOptions {
  info: TorrentInfo;
  storage: Storage;
  /** Pieces we can serve (verified and written). */
  stored: Bitfield;
  clock: Clock;
  random: RandomSource;
  /** Upload cap, bytes/s (0 = unlimited). */
  uploadLimit: number;
  /** Read cache size, bytes. */
  cacheBytes: number;
  choker?: ChokerSettings;
  /** Seeding: serve by swarm rarity, shed requests for pieces others hold (see `priority`). */
  distribute: boolean;
  /** Connected peers that announced `piece`. */
  availability(piece: number): number;
  /** Pieces the peer announced (BEP 6: allowed-fast only serves starting peers). */
  peerPieceCount(s: PeerSession): number;
  /** A read of stored data failed (reported, the request is dropped). */
  warn(error: Error): void;
}

export class Uploader {
  readonly cache: PieceCache;
  uploadedBytes = 0;
  private readonly o: UploaderOptions;
  private readonly choker: Choker<PeerSession>;
  private readonly bucket: TokenBucket;
  private readonly sessions = new Set<PeerSession>();
  /** Sessions with queued requests, in service order. */
  private readonly active = new Set<PeerSession>();
  /** Sessions whose socket buffer is full: wait for 'drain'. */
  private readonly blocked = new Set<PeerSession>();
  /** distribute mode: piece -> the peer we last sent a block of it to, and when. */
  private readonly assigned = new Map<number, { peer: PeerSession; at: number }>();
  /** Peers unchoked beyond the choker's slots because the capped upload was not used up. */
  private readonly extra = new Set<PeerSession>();
  private lastTickAt: number | undefined;
  private lastTickUploaded = 0;
  private serviceScheduled = false;
  private tokenTimer: TimerHandle | undefined;
  private seeding = false;
  private closed = false;

  constructor(options: UploaderOptions) {
    this.o = options;
    this.cache = new PieceCache(options.storage, options.cacheBytes);
    this.bucket = new TokenBucket({ rate: options.uploadLimit, clock: options.clock });
    this.choker = new Choker<PeerSession>({ ...options.choker, clock: options.clock, random: options.random });
  }

  setUploadLimit(rate: number): void {
    this.bucket.setRate(rate);
  }

  /** Seeding changes the choker's criterion (upload rate to them instead of from them). */
  setSeeding(seeding: boolean): void {
    if (this.seeding === seeding) return;
    this.seeding = seeding;
    this.recompute();
  }

  addPeer(s: PeerSession): void {
    this.sessions.add(s);
  }

  removePeer(s: PeerSession): void {
    if (!this.sessions.delete(s)) return;
    this.extra.delete(s);
    this.active.delete(s);
    this.blocked.delete(s);
    s.inbound = [];
    if (!s.wire.amChoking) this.recompute();
  }

  /** Interest changes may free or claim a slot: recompute at once when a slot is free. */
  onInterestChanged(s: PeerSession): void {
    if (!s.wire.peerInterested && !s.wire.amChoking) return this.recompute();
    if (s.wire.peerInterested && s.wire.amChoking && this.freeSlots() > 0) this.recompute();
  }

  onRequest(s: PeerSession, r: RequestMessage): void {
    if (!this.canServe(s, r) || s.inbound.length >= MAX_INBOUND_QUEUE) return this.reject(s, r);
    s.inbound.push({ index: r.index, begin: r.begin, length: r.length, at: this.o.clock.now() });
    this.active.add(s);
    this.scheduleService();
  }

  /** BEP 6: a cancelled request is answered with a reject (or the piece, if already sent). */
  onCancel(s: PeerSession, r: RequestMessage): void {
    const i = s.inbound.findIndex((q) => q.index === r.index && q.begin === r.begin && q.length === r.length);
    if (i < 0) return;
    s.inbound.splice(i, 1);
    this.reject(s, r);
  }

  onDrain(s: PeerSession): void {
    if (this.blocked.delete(s)) this.scheduleService();
  }

  /** BEP 6: send a starting peer its allowed-fast set (pieces it may fetch while choked). */
  grantAllowedFast(s: PeerSession): void {
    if (!s.wire.fastExtension || !isIPv4(s.address.host) || this.o.stored.count === 0) return;
    for (const index of allowedFastSet(s.address.host, this.o.info.infoHash, this.o.info.pieceCount, ALLOWED_FAST_COUNT)) {
      if (s.allowedFast.has(index)) continue;
      s.allowedFast.add(index);
      s.wire.allowedFast(index);
    }
  }

  /** Periodic: the choker's 10 s recompute (and its 30 s optimistic rotation). */
  tick(): void {
    if (this.choker.isDue()) this.recompute();
    this.shed();
    this.useSpareUpload();
  }

  recompute(): void {
    if (this.closed) return;
    const peers = [...this.sessions].filter((s) => s.connected);
    const decision = this.choker.recompute(
      peers.map((s) => ({
        id: s,
        interested: s.wire.peerInterested,
        downloadRate: s.down.rate(),
        uploadRate: s.up.rate(),
        snubbed: s.snubbed,
        connectedAt: s.connectedAt
      })),
      this.seeding
    );
    for (const s of this.extra) if (decision.unchoke.has(s) || !s.connected || !s.wire.peerInterested) this.extra.delete(s);
    for (const s of peers) this.setChoked(s, !decision.unchoke.has(s) && !this.extra.has(s));
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
    for (const s of this.sessions) if (!s.wire.amChoking && s.wire.peerInterested) unchoked++;
    return this.choker.regularSlots + this.choker.optimisticSlots - unchoked;
  }

  private setChoked(s: PeerSession, choke: boolean): void {
    if (choke === s.wire.amChoking) return;
    if (!choke) {
      s.wire.unchoke();
      return;
    }
    s.wire.choke();
    // BEP 6: choke first, then reject what we will not serve (allowed-fast requests stay).
    const keep: BlockRequest[] = [];
    for (const r of s.inbound) {
      if (s.allowedFast.has(r.index)) keep.push(r);
      else this.reject(s, r);
    }
    s.inbound = keep;
    if (keep.length === 0) this.active.delete(s);
  }

  private canServe(s: PeerSession, r: BlockRequest): boolean {
    const { info, stored } = this.o;
    if (r.index >= info.pieceCount || !stored.get(r.index)) return false;
    const size = r.index === info.pieceCount - 1 ? info.length - r.index * info.pieceLength : info.pieceLength;
    if (r.begin + r.length > size) return false;
    if (!s.wire.amChoking) return true;
    // Choked: only the allowed-fast set, and only while the peer is starting (BEP 6).
    return s.allowedFast.has(r.index) && this.o.peerPieceCount(s) <= ALLOWED_FAST_COUNT;
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
    if (this.bucket.unlimited || since === undefined || now <= since || this.closed) return;
    for (const s of this.extra) {
      if (s.connected && s.wire.peerInterested) continue;
      this.extra.delete(s);
      if (s.connected) this.setChoked(s, true);
    }
    const used = sent / ((this.bucket.rate * (now - since)) / 1000);
    if (used >= UNDERUSED || this.active.size > 0) return;
    if (this.extra.size >= MAX_EXTRA_FACTOR * (this.choker.regularSlots + this.choker.optimisticSlots)) return;
    const candidates = [...this.sessions].filter((s) => s.connected && s.wire.peerInterested && s.wire.amChoking);
    if (candidates.length === 0) return;
    const pick = candidates[this.o.random.int(candidates.length)]!;
    this.extra.add(pick);
    this.setChoked(pick, false);
  }

  /** Seeding in distribute mode with several peers waiting: serve blocks by priority. */
  private get prioritising(): boolean {
    return this.seeding && this.o.distribute && this.active.size > 1;
  }

  /**
   * Seed upload is the scarce resource of a swarm, so a seed in `distribute` mode serves the
   * queued requests of all its peers in priority order rather than round-robin (lower first):
   *   0  a piece we are already sending to this peer (finish it: only whole pieces can be
   *      shared on), or a piece it asks for again after we rejected it (nobody else gave it);
   *   1  a piece no other connected peer holds or is being sent by us: new to the swarm;
   *   2+ pieces others hold (1 + holders, + 1 if we are sending it to someone else).
   * Work-conserving: a request for a common piece is served whenever nothing rarer is
   * queued, so the seed's upload is never idle while it has a request it could serve.
   */
  private priority(s: PeerSession, piece: number, now: number): number {
    const a = this.assigned.get(piece);
    const sending = a !== undefined && a.peer.connected && now - a.at < ASSIGNMENT_MS;
    if (sending && a.peer === s) return 0;
    const since = s.redirected.get(piece);
    if (since !== undefined && now - since >= REDIRECT_WINDOW_MS) return 0;
    return 1 + this.o.availability(piece) + (sending ? 1 : 0);
  }

  /**
   * distribute mode, from the periodic tick: while requests for pieces new to the swarm wait,
   * requests for pieces others hold that waited HOLD_MS are rejected (BEP 6), so the requester
   * takes them from a holder (our Downloader avoids a piece a peer rejected for a few seconds)
   * instead of keeping those blocks reserved behind the seed's queue.
   */
  private shed(): void {
    if (!this.prioritising) return;
    const now = this.o.clock.now();
    let rarest = Infinity;
    for (const s of this.active) {
      const n = Math.min(s.inbound.length, SCAN_DEPTH);
      for (let i = 0; i < n && rarest > 1; i++) rarest = Math.min(rarest, this.priority(s, s.inbound[i]!.index, now));
    }
    if (rarest > 1) return;
    for (const s of this.active) {
      if (!s.wire.fastExtension || !s.connected) continue;
      s.inbound = s.inbound.filter((r) => {
        if (now - (r.at ?? now) < HOLD_MS || this.priority(s, r.index, now) < 2) return true;
        s.redirected.set(r.index, now);
        this.reject(s, r);
        return false;
      });
    }
  }

  /** Remember who gets a piece from us (distribute mode, refreshed with every block sent). */
  private assign(s: PeerSession, piece: number): void {
    if (!this.seeding || !this.o.distribute) return;
    this.assigned.set(piece, { peer: s, at: this.o.clock.now() });
    s.redirected.delete(piece);
  }

  private reject(s: PeerSession, r: BlockRequest): void {
    if (s.wire.fastExtension && s.connected) s.wire.reject(r.index, r.begin, r.length);
  }

  private scheduleService(): void {
    if (this.serviceScheduled || this.closed) return;
    this.serviceScheduled = true;
    setImmediate(() => {
      this.serviceScheduled = false;
      this.service();
    });
  }

  /** Serve queued requests: a few blocks per peer per turn, until tokens, sockets or queues run out. */
  private service(): void {
    if (this.prioritising) return this.servicePrioritised();
    let progress = true;
    while (progress && !this.closed) {
      progress = false;
      for (const s of [...this.active]) {
        if (!s.connected) {
          this.active.delete(s);
          continue;
        }
        for (let n = 0; n < BLOCKS_PER_TURN; n++) {
          if (this.blocked.has(s)) break;
          const r = s.inbound[0];
          if (!r) {
            this.active.delete(s);
            break;
          }
          const data = this.cache.get(r.index);
          if (!data) {
            this.load(r.index);
            break;
          }
          if (!this.bucket.tryTake(r.length)) return this.waitForTokens(r.length);
          s.inbound.shift();
          this.send(s, r, data);
          progress = true;
        }
        // Move to the back: the next pass starts with someone else.
        if (this.active.delete(s)) this.active.add(s);
      }
    }
  }

  /** distribute mode: one block at a time, the lowest `priority` first (ties: round-robin). */
  private servicePrioritised(): void {
    while (!this.closed) {
      const now = this.o.clock.now();
      let best: PeerSession | undefined;
      let bestIndex = -1;
      let bestPriority = Infinity;
      for (const s of this.active) {
        if (!s.connected || s.inbound.length === 0) {
          this.active.delete(s);
          continue;
        }
        if (this.blocked.has(s)) continue;
        const n = Math.min(s.inbound.length, SCAN_DEPTH);
        for (let i = 0; i < n && bestPriority > 0; i++) {
          const p = this.priority(s, s.inbound[i]!.index, now);
          if (p < bestPriority) [best, bestIndex, bestPriority] = [s, i, p];
        }
        if (bestPriority === 0) break;
      }
      if (!best) return;
      const r = best.inbound[bestIndex]!;
      const data = this.cache.get(r.index);
      if (!data) return this.load(r.index);
      if (!this.bucket.tryTake(r.length)) return this.waitForTokens(r.length);
      best.inbound.splice(bestIndex, 1);
      this.send(best, r, data);
      // Move to the back: among equals, the next block goes to someone else.
      this.active.delete(best);
      if (best.inbound.length > 0) this.active.add(best);
    }
  }

  private send(s: PeerSession, r: BlockRequest, data: Uint8Array): void {
    this.assign(s, r.index);
    const ok = s.wire.piece(r.index, r.begin, data.subarray(r.begin, r.begin + r.length));
    s.sent(r.length);
    this.uploadedBytes += r.length;
    if (!ok) this.blocked.add(s);
  }

  private load(index: number): void {
    this.cache.load(index).then(
      () => this.scheduleService(),
      (err: unknown) => {
        this.o.warn(err instanceof Error ? err : new Error(String(err)));
        for (const s of this.active) s.inbound = s.inbound.filter((r) => (r.index === index ? (this.reject(s, r), false) : true));
        this.scheduleService();
      }
    );
  }

  private waitForTokens(bytes: number): void {
    if (this.tokenTimer) return;
    this.tokenTimer = this.o.clock.setTimeout(() => {
      this.tokenTimer = undefined;
      this.scheduleService();
    }, Math.max(1, this.bucket.delayFor(bytes)));
  }
}

/**
 * BEP 6 canonical allowed-fast set for a peer at IPv4 `ip`: SHA-1 chain over (ip & /24 mask,
 * infohash), 4-byte words mod the piece count.
 */
export function allowedFastSet(ip: string, infoHash: Uint8Array, pieceCount: number, k: number): number[] {
  const want = Math.min(k, pieceCount);
  const out: number[] = [];
  const octets = ip.split('.').map(Number);
  let x: Buffer = Buffer.alloc(24);
  x.set([octets[0] ?? 0, octets[1] ?? 0, octets[2] ?? 0, 0], 0);
  x.set(infoHash, 4);
  while (out.length < want) {
    x = createHash('sha1').update(x).digest();
    for (let i = 0; i < 5 && out.length < want; i++) {
      const index = x.readUInt32BE(i * 4) % pieceCount;
      if (!out.includes(index)) out.push(index);
    }
  }
  return out;
}
