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
import { BanList } from './ban-list.js';

/** How long a peer stays TCP-first after its uTP went unanswered, ms. */
export const TCP_ONLY_TTL_MS = 60 * 60_000;
/** Peers remembered at most (one entry is ~100 bytes). */
export const MAX_TCP_ONLY_PEERS = 1_000;

export class TcpOnlyPeers {
  /** The same bounded, expiring set of keys as the engine's bans, keyed by formatAddress. */
  private readonly entries: BanList;

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = TCP_ONLY_TTL_MS,
    max = MAX_TCP_ONLY_PEERS
  ) {
    this.entries = new BanList(max);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The peer's uTP went unanswered while TCP connected. */
  remember(address: Address): void {
    this.entries.add(formatAddress(address), this.clock.now() + this.ttlMs);
  }

  /** The peer connected over uTP after all. */
  forget(address: Address): void {
    this.entries.delete(formatAddress(address));
  }

  /** Whether to dial this peer TCP first. */
  has(address: Address): boolean {
    return this.entries.has(formatAddress(address), this.clock.now());
  }
}
