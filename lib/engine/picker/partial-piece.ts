/**
 * The block bookkeeping of one piece in progress, for the piece picker: each block is
 * unrequested, requested (from one peer, or several in endgame) or received (from whom, so a
 * failed hash can be traced to its senders). The picker owns the torrent-wide counters and the
 * per-peer request sets and keeps them in step with what these methods report.
 */

const NONE = 0;
const REQUESTED = 1;
const RECEIVED = 2;

export class PartialPiece<P> {
  /** NONE / REQUESTED / RECEIVED per block. */
  private readonly state: Uint8Array;
  private readonly requesters: (P[] | undefined)[];
  private readonly senders: (P | undefined)[];
  /** Blocks in state NONE. */
  unrequested: number;
  private received = 0;

  constructor(
    readonly index: number,
    readonly blockCount: number
  ) {
    this.state = new Uint8Array(blockCount);
    this.requesters = new Array<P[] | undefined>(blockCount).fill(undefined);
    this.senders = new Array<P | undefined>(blockCount).fill(undefined);
    this.unrequested = blockCount;
  }

  /** Every block is in: the piece can be hashed. */
  get complete(): boolean {
    return this.received === this.blockCount;
  }

  /** Mark the unrequested blocks requested from `peer`, in order, while `more()` says so. */
  requestFrom(peer: P, more: () => boolean, requested: (block: number) => void): void {
    for (let b = 0; b < this.blockCount && more(); b++) {
      if (this.state[b] !== NONE) continue;
      this.state[b] = REQUESTED;
      this.requesters[b] = [peer];
      this.unrequested--;
      requested(b);
    }
  }

  /**
   * `peer` no longer has `block` requested (reject, timeout, cancel). True when nobody else
   * does either: the block went back to unrequested.
   */
  release(block: number, peer: P): boolean {
    const remaining = this.requesters[block]?.filter((p) => p !== peer) ?? [];
    this.requesters[block] = remaining.length > 0 ? remaining : undefined;
    if (remaining.length > 0 || this.state[block] !== REQUESTED) return false;
    this.state[block] = NONE;
    this.unrequested++;
    return true;
  }

  isReceived(block: number): boolean {
    return this.state[block] === RECEIVED;
  }

  /**
   * `block` arrived from `peer` (the caller checked it was not already received). Returns who
   * had it requested and whether it was still unrequested.
   */
  receive(block: number, peer: P): { requesters: P[]; wasUnrequested: boolean } {
    const requesters = this.requesters[block] ?? [];
    const wasUnrequested = this.state[block] === NONE;
    if (wasUnrequested) this.unrequested--;
    this.state[block] = RECEIVED;
    this.requesters[block] = undefined;
    this.senders[block] = peer;
    this.received++;
    return { requesters, wasUnrequested };
  }

  /**
   * Visit the blocks requested and not yet received, with their (live) requester lists, until
   * `visit` returns true: endgame, for every pick, so no object per block.
   */
  outstanding(visit: (block: number, requesters: P[]) => boolean): void {
    for (let b = 0; b < this.blockCount; b++) {
      const requesters = this.requesters[b];
      if (this.state[b] === REQUESTED && requesters && visit(b, requesters)) return;
    }
  }

  /** Every (block, peer) request still open on this piece. */
  *openRequests(): Generator<{ block: number; peer: P }> {
    for (let b = 0; b < this.blockCount; b++)
      for (const peer of this.requesters[b] ?? []) yield { block: b, peer };
  }

  /** The distinct peers that delivered blocks of this piece. */
  blockSenders(): P[] {
    return [...new Set(this.senders.filter((p): p is P => p !== undefined))];
  }
}
