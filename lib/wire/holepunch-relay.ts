/**
 * BEP 55 relay role: a peer asks us to introduce it to another peer we are connected to; we
 * send `connect` to both, each carrying the other's endpoint, and they dial each other over uTP
 * at once. Otherwise we answer `error` with the code BEP 55 names, echoing the target.
 *
 * The endpoint we hand out is the connection's remote address, as libtorrent does: for a peer
 * connected over uTP that is its UDP socket as the NAT maps it, the very port the other side's
 * SYN must reach. The caller (whoever owns the connections) supplies the lookup; the relay keeps
 * no state of its own, and each rendezvous costs at most two messages, bounded by UtHolepunch's
 * per-peer rate limit.
 */
import type { Address } from '../net/address.js';
import { HolepunchError } from './ut-holepunch.js';
import type { UtHolepunch } from './ut-holepunch.js';

/** A connected peer as the relay sees it. */
export interface RelayPeer {
  /** The connection's remote endpoint (IP literal and port). */
  readonly address: Address;
  /** Its ut_holepunch plugin. */
  readonly holepunch: UtHolepunch;
}

export interface RelayContext {
  /** The connected peer whose remote endpoint is `address`, if any. */
  find(address: Address): RelayPeer | undefined;
  /** True when `address` is one of our own endpoints. */
  isSelf(address: Address): boolean;
}

export type RendezvousOutcome = 'relayed' | 'failed';

/**
 * Act on `from`'s rendezvous for `target`: send both `connect`s, or `error` to `from`.
 * Returns what happened; the BEP 55 error code went to `from` when 'failed'.
 */
export function relayRendezvous(from: RelayPeer, target: Address, ctx: RelayContext): RendezvousOutcome {
  const code = refusal(from, target, ctx);
  if (code !== undefined) {
    from.holepunch.error(target, code);
    return 'failed';
  }
  const peer = ctx.find(target)!;
  from.holepunch.connect(peer.address);
  peer.holepunch.connect(from.address);
  return 'relayed';
}

function refusal(from: RelayPeer, target: Address, ctx: RelayContext): HolepunchError | undefined {
  if (!dialable(target.host)) return HolepunchError.NoSuchPeer;
  if (ctx.isSelf(target)) return HolepunchError.NoSelf;
  const peer = ctx.find(target);
  // A peer asking to be introduced to itself named no other peer: the endpoint is invalid.
  if (peer === from) return HolepunchError.NoSuchPeer;
  if (!peer) return HolepunchError.NotConnected;
  if (!peer.holepunch.supported) return HolepunchError.NoSupport;
  return undefined;
}

/** Unicast addresses only: no unspecified, broadcast or multicast endpoints. */
function dialable(host: string): boolean {
  if (host === '0.0.0.0' || host === '::' || host === '255.255.255.255') return false;
  if (host.includes(':')) return !/^ff/i.test(host);
  const first = Number(host.split('.')[0]);
  return first < 224;
}
