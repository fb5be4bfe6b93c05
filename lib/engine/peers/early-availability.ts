/**
 * What a peer announced before the torrent's piece count was known (a magnet start: no
 * metadata yet): its bitfield or have_all, its HAVEs and its BEP 6 allowed_fast indices. They
 * cannot be checked against the piece count yet, so they are kept here (bounded) and handed to
 * the downloader once it exists. The one place where pre-metadata availability lives.
 */
import { Bitfield } from '../bitfield.js';
import { MAX_PEER_ALLOWED_FAST, type Downloader } from '../download/downloader.js';
import type { PeerSession } from './peer-session.js';

/** HAVEs remembered before the metadata is known (the largest torrent we accept). */
const MAX_EARLY_HAVES = 1 << 20;

export class EarlyAvailability {
  private bitfield: Uint8Array | undefined;
  private haveAll = false;
  private haves = new Set<number>();
  /** allowed_fast indices, not range-checked yet (the downloader does it when it takes them). */
  readonly allowedFast = new Set<number>();

  recordBitfield(bytes: Uint8Array): void {
    this.bitfield = new Uint8Array(bytes);
  }

  recordHaveAll(): void {
    this.haveAll = true;
  }

  recordHave(index: number): void {
    if (this.haves.size < MAX_EARLY_HAVES) this.haves.add(index);
  }

  recordAllowedFast(index: number): void {
    if (this.allowedFast.size < MAX_PEER_ALLOWED_FAST) this.allowedFast.add(index);
  }

  /**
   * Apply the recorded availability to the downloader `s` was just added to, and forget it.
   * Throws like the downloader's handlers on input that does not fit the torrent (a bitfield
   * of the wrong length, a piece index out of range).
   */
  replay(d: Downloader, s: PeerSession): void {
    const { bitfield, haveAll, haves } = this;
    this.bitfield = undefined;
    this.haveAll = false;
    this.haves = new Set();
    if (haveAll) d.onHaveAll(s);
    else if (bitfield) d.onBitfield(s, Bitfield.fromBytes(bitfield, d.picker.pieceCount));
    for (const i of haves) d.onHave(s, i);
  }
}
