/**
 * The uploader's read-ahead: which pieces of queued requests to start reading before they are
 * due, so serving a peer's turn rarely waits on storage. The PieceCache enforces the budget
 * (`maxAhead`); this module sizes it and shares it fairly between the peers with queued requests.
 */
import type { UploadPeer } from './upload-peer.js';
import type { PieceCache } from './piece-cache.js';

/** Read-ahead budget: bytes of pieces being read or read but not yet served (and at most 1/4 of the cache). */
const READ_AHEAD_BYTES = 2 * 1024 * 1024;
/** ... and at most this many pieces. */
const MAX_READ_AHEAD_PIECES = 16;

/** Read-ahead budget in pieces; none when the cache cannot hold the piece being served and one more. */
export function readAheadPieces(cacheBytes: number, pieceLength: number): number {
  if (cacheBytes < 2 * pieceLength) return 0;
  return Math.min(
    MAX_READ_AHEAD_PIECES,
    Math.max(1, Math.floor(Math.min(READ_AHEAD_BYTES, cacheBytes / 4) / pieceLength))
  );
}

/**
 * Start reading the pieces of queued requests, in service order, a fair share of the cache's
 * read-ahead budget per peer; the cache skips pieces cached or being read.
 */
export function readAhead(cache: PieceCache, active: ReadonlySet<UploadPeer>): void {
  if (active.size === 0) return;
  const perPeer = Math.max(1, Math.ceil(cache.maxAhead / active.size));
  for (const u of active) {
    let started = 0;
    let last = -1;
    for (const r of u.inbound) {
      if (r.index === last) continue; // a piece's blocks are usually queued together
      last = r.index;
      if (cache.has(r.index)) continue;
      if (!cache.prefetch(r.index)) return;
      if (++started >= perPeer) break;
    }
  }
}
