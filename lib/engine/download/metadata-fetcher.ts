/**
 * Fetch the info dictionary with ut_metadata (BEP 9) from every peer that offers it, in
 * parallel, keeping a few requests in flight per peer. A libtorrent seeder answers a request
 * at once while that connection's send buffer holds < 160 KiB, else queues it and drains the
 * queue only on its 1 s tick (webtorrent, asking for every piece at once, waits ~32 s for a
 * 5 MiB dictionary). With N requests in flight at most N - 1 answers sit in its buffer when
 * the next request arrives, so 8 stay well under that limit and hide the round trip; two
 * (libtorrent's own fetcher) make a 5 MiB dictionary cost 160 round trips. MetadataAssembler checks sizes and SHA-1 == infohash;
 * this class owns the per-peer scheduling: timeouts, rejects (back off from that peer), peers
 * leaving, and a restart when the assembled dictionary is corrupt (its senders are blamed).
 */
import type { Clock } from '../../util/clock.js';
import { MetadataAssembler } from '../../wire/metadata-assembler.js';
import type { PeerSession } from '../peers/peer-session.js';

/** Requests in flight per peer: 7 x 16 KiB queued answers stay under libtorrent's 160 KiB answer-at-once limit. */
export const METADATA_REQUESTS_PER_PEER = 8;

export interface MetadataFetcherOptions {
  infoHash: Uint8Array;
  /** Largest metadata_size accepted, bytes. */
  maxSize: number;
  clock: Clock;
  /** Requests in flight per peer (default 8). */
  perPeer?: number;
  /** A piece not answered in this long is asked from someone else, ms (default 10 s). */
  requestTimeoutMs?: number;
  /** The verified info dictionary (SHA-1 matches the infohash). */
  onComplete(infoBytes: Uint8Array): void;
  /** The assembled dictionary did not match the infohash: these peers sent its pieces. */
  onCorrupt(peers: PeerSession[]): void;
}

export class MetadataFetcher {
  private assembler: MetadataAssembler<PeerSession> | undefined;
  /** Peers that offer metadata, with the size each announced. */
  private readonly offers = new Map<PeerSession, number>();
  /** peer -> piece -> when we asked. */
  private readonly sentAt = new Map<PeerSession, Map<number, number>>();
  /** peer -> do not ask it again before this time (it rejected us, or timed out). */
  private readonly backoffUntil = new Map<PeerSession, number>();
  private readonly perPeer: number;
  private readonly timeoutMs: number;
  private finished = false;

  constructor(private readonly o: MetadataFetcherOptions) {
    this.perPeer = o.perPeer ?? METADATA_REQUESTS_PER_PEER;
    this.timeoutMs = o.requestTimeoutMs ?? 10_000;
  }

  get done(): boolean {
    return this.finished;
  }

  /** Peers currently offering the metadata. */
  get sources(): number {
    return this.offers.size;
  }

  /** The peer's ut_metadata is ready with `size` (already range-checked by the plugin). */
  onReady(s: PeerSession, size: number): void {
    if (this.finished) return;
    this.offers.set(s, size);
    this.ensureAssembler();
    this.request(s);
  }

  onData(s: PeerSession, piece: number, data: Uint8Array): void {
    this.sentAt.get(s)?.delete(piece);
    const a = this.assembler;
    if (this.finished || !a || this.offers.get(s) !== a.size) return;
    const r = a.add(piece, data, s);
    if (r.status === 'complete') {
      this.finish();
      this.o.onComplete(r.info);
      return;
    }
    if (r.status === 'corrupt') {
      // Start over; the size itself may have been the lie, so let the next offer set it.
      for (const p of r.contributors) this.offers.delete(p);
      this.assembler = undefined;
      this.sentAt.clear();
      this.o.onCorrupt(r.contributors);
      this.ensureAssembler();
      this.requestAll();
      return;
    }
    this.request(s);
  }

  onReject(s: PeerSession, piece: number): void {
    this.sentAt.get(s)?.delete(piece);
    this.assembler?.release(s, piece);
    this.backoffUntil.set(s, this.o.clock.now() + this.timeoutMs);
    this.requestAll();
  }

  removePeer(s: PeerSession): void {
    this.offers.delete(s);
    this.sentAt.delete(s);
    this.backoffUntil.delete(s);
    this.assembler?.release(s);
    if (!this.finished) this.requestAll();
  }

  /** Periodic: time out unanswered requests and hand them to other peers. */
  tick(now: number): void {
    if (this.finished) return;
    for (const [s, pieces] of this.sentAt) {
      for (const [piece, at] of pieces) {
        if (now - at < this.timeoutMs) continue;
        pieces.delete(piece);
        s.utMetadata.forget(piece);
        this.assembler?.release(s, piece);
        this.backoffUntil.set(s, now + this.timeoutMs);
      }
    }
    this.requestAll();
  }

  /** Stop (metadata known by other means, or the engine stops). */
  finish(): void {
    this.finished = true;
    this.assembler = undefined;
    this.offers.clear();
    this.sentAt.clear();
    this.backoffUntil.clear();
  }

  private ensureAssembler(): void {
    if (this.assembler || this.finished) return;
    const first = this.offers.values().next();
    if (first.done) return;
    try {
      this.assembler = new MetadataAssembler<PeerSession>({
        infoHash: this.o.infoHash,
        size: first.value,
        maxSize: this.o.maxSize
      });
    } catch {
      // Unacceptable size (the plugin checks too): ignore the offers with it.
      for (const [s, size] of this.offers) if (size === first.value) this.offers.delete(s);
      this.ensureAssembler();
    }
  }

  private requestAll(): void {
    for (const s of this.offers.keys()) this.request(s);
  }

  private request(s: PeerSession): void {
    const a = this.assembler;
    const now = this.o.clock.now();
    if (
      !a ||
      this.finished ||
      !s.connected ||
      this.offers.get(s) !== a.size ||
      (this.backoffUntil.get(s) ?? 0) > now
    )
      return;
    let sent = this.sentAt.get(s);
    for (;;) {
      const piece = a.nextRequest(s, this.perPeer);
      if (piece === undefined) return;
      if (!s.utMetadata.request(piece)) {
        a.release(s, piece);
        return;
      }
      if (!sent) this.sentAt.set(s, (sent = new Map()));
      sent.set(piece, now);
    }
  }
}
