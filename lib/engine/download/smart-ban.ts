/**
 * Who sent the bad data? A pure bookkeeping policy for pieces that fail their SHA-1.
 *
 * - One sender: it is guilty, ban it at once.
 * - Several senders (blocks of one piece came from different peers, e.g. in endgame or after a
 *   choke): remember a hash of each block with its sender. When the piece later verifies, every
 *   sender whose block differs from the good block is banned (libtorrent's "smart ban"). As a
 *   fallback, a peer involved in `maxStrikes` failures that were never resolved is banned too.
 *
 * `P` identifies a peer (the engine uses its PeerSession objects).
 */
import { createHash } from 'node:crypto';

interface BlockRecord<P> {
  sender: P;
  offset: number;
  length: number;
  hash: Buffer;
}

export interface SmartBanOptions {
  blockSize: number;
  /** Unresolved multi-sender failures before a peer is banned anyway (default 3). */
  maxStrikes?: number;
  /** Failed pieces remembered at once (oldest forgotten first). Default 256. */
  maxRecords?: number;
}

export class SmartBan<P> {
  private readonly records = new Map<number, BlockRecord<P>[]>();
  private readonly strikes = new Map<P, number>();
  private readonly blockSize: number;
  private readonly maxStrikes: number;
  private readonly maxRecords: number;

  constructor(options: SmartBanOptions) {
    this.blockSize = options.blockSize;
    this.maxStrikes = options.maxStrikes ?? 3;
    this.maxRecords = options.maxRecords ?? 256;
  }

  /**
   * Piece `index` failed. `senders[b]` sent block b of `data`. Returns the peers to ban now.
   */
  pieceFailed(index: number, data: Uint8Array, senders: readonly (P | undefined)[]): P[] {
    const unique = [...new Set(senders.filter((p): p is P => p !== undefined))];
    if (unique.length <= 1) return unique;
    const blocks: BlockRecord<P>[] = [];
    senders.forEach((sender, b) => {
      if (sender === undefined) return;
      const offset = b * this.blockSize;
      const length = Math.min(this.blockSize, data.length - offset);
      blocks.push({ sender, offset, length, hash: sha1(data.subarray(offset, offset + length)) });
    });
    // Keep the first failure's record if there is one: it is compared when the piece succeeds.
    if (!this.records.has(index)) {
      this.records.set(index, blocks);
      if (this.records.size > this.maxRecords)
        this.records.delete(this.records.keys().next().value as number);
    }
    const ban: P[] = [];
    for (const p of unique) {
      const n = (this.strikes.get(p) ?? 0) + 1;
      this.strikes.set(p, n);
      if (n >= this.maxStrikes) ban.push(p);
    }
    return ban;
  }

  /** Piece `index` verified with `data`: returns the peers whose earlier blocks were wrong. */
  pieceVerified(index: number, data: Uint8Array): P[] {
    const blocks = this.records.get(index);
    if (!blocks) return [];
    this.records.delete(index);
    const guilty = new Set<P>();
    const innocent = new Set<P>();
    for (const b of blocks) {
      const good = sha1(data.subarray(b.offset, b.offset + b.length));
      if (good.equals(b.hash)) innocent.add(b.sender);
      else guilty.add(b.sender);
    }
    // A peer cleared of this failure loses the strike it earned with it.
    for (const p of innocent) {
      if (guilty.has(p)) continue;
      const n = (this.strikes.get(p) ?? 0) - 1;
      if (n <= 0) this.strikes.delete(p);
      else this.strikes.set(p, n);
    }
    return [...guilty];
  }

  /** A peer left: forget its strikes (records keep it only to be compared). */
  forget(peer: P): void {
    this.strikes.delete(peer);
  }
}

function sha1(data: Uint8Array): Buffer {
  return createHash('sha1').update(data).digest();
}
