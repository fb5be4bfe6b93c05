/**
 * Peers that did not answer uTP but did answer TCP: a uTP SYN to a peer without a uTP socket
 * gets no reply at all (no ICMP reaches an unconnected UDP socket), so under 'utp-first' every
 * dial to it waits out the head start before TCP is tried. Remembered, the next dial puts TCP
 * first (uTP stays the fallback). libtorrent keeps the same per-peer bit, for the peer entry's
 * life; here an entry expires, so a peer that gained uTP (a restart, a settings change) is
 * tried over it again, and the table is bounded, the oldest entry going first.
 */
import { formatAddress, type Address } from '../../net/address.js';
import type { Clock } from '../../util/clock.js';

/** How long a peer stays TCP-first after its uTP went unanswered, ms. */
export const TCP_ONLY_TTL_MS = 60 * 60_000;
/** Peers remembered at most (one entry is ~100 bytes). */
export const MAX_TCP_ONLY_PEERS = 1_000;

export class TcpOnlyPeers {
  /** formatAddress -> when the entry expires; insertion order is age order. */
  private readonly until = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = TCP_ONLY_TTL_MS,
    private readonly max = MAX_TCP_ONLY_PEERS
  ) {}

  get size(): number {
    return this.until.size;
  }

  /** The peer's uTP went unanswered while TCP connected. */
  remember(address: Address): void {
    const key = formatAddress(address);
    this.until.delete(key);
    this.until.set(key, this.clock.now() + this.ttlMs);
    if (this.until.size > this.max) this.until.delete(this.until.keys().next().value!);
  }

  /** The peer connected over uTP after all. */
  forget(address: Address): void {
    this.until.delete(formatAddress(address));
  }

  /** Whether to dial this peer TCP first. */
  has(address: Address): boolean {
    const key = formatAddress(address);
    const until = this.until.get(key);
    if (until === undefined) return false;
    if (this.clock.now() < until) return true;
    this.until.delete(key);
    return false;
  }
}
