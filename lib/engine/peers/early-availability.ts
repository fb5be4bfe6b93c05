/**
 * What a peer announced before the torrent's piece count was known (a magnet start: no
 * metadata yet): its bitfield or have_all, its HAVEs and its BEP 6 allowed_fast indices. They
 * cannot be checked against the piece count yet, so they are kept here (bounded) and handed to
 * the downloader once it exists. The one place where pre-metadata availability lives.
 */
import { ProtocolError } from '../../wire/errors.js';
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
   * Throws a ProtocolError for input that does not fit the torrent: 'bad-bitfield' (wrong
   * length, spare bits set), 'bad-piece-index' (a HAVE past the last piece).
   */
  replay(d: Downloader, s: PeerSession): void {
    const { bitfield, haveAll, haves } = this;
    this.bitfield = undefined;
    this.haveAll = false;
    this.haves = new Set();
    if (haveAll) d.onHaveAll(s);
    else if (bitfield) {
      let parsed: Bitfield;
      try {
        parsed = Bitfield.fromBytes(bitfield, d.picker.pieceCount);
      } catch (err) {
        throw new ProtocolError('bad-bitfield', (err as Error).message);
      }
      d.onBitfield(s, parsed);
    }
    for (const i of haves) {
      if (i >= d.picker.pieceCount)
        throw new ProtocolError('bad-piece-index', `HAVE ${i} of ${d.picker.pieceCount} pieces`);
      d.onHave(s, i);
    }
  }
}
