/**
 * What the uploader keeps per peer: the queue of its requests to us, the BEP 6 allowed-fast
 * set we granted it, and (seeding in distribute mode) the pieces we redirected it away from.
 * Only the upload/ modules write it.
 */
import type { BlockRequest } from '../../wire/messages.js';
import type { PeerSession } from '../peers/peer-session.js';

/** A request queued from a peer, with its arrival time (clock ms). */
export interface QueuedRequest extends BlockRequest {
  at: number;
}

export class UploadPeer {
  /** Their requests to us, in arrival order. */
  inbound: QueuedRequest[] = [];
  /** Pieces we put in this peer's BEP 6 allowed-fast set. */
  readonly allowedFast = new Set<number>();
  /** Seeding, distribute mode: piece -> when we rejected it to send this peer elsewhere. */
  readonly redirected = new Map<number, number>();

  constructor(readonly session: PeerSession) {}
}
