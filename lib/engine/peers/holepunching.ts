/**
 * BEP 55 holepunching for one torrent's peers, over uTP:
 *
 * - Relay: a peer asks us (`rendezvous`) to introduce it to another peer we are connected to;
 *   both get `connect` with the other's endpoint (wire/holepunch-relay.ts), or the asker gets
 *   `error`.
 * - Target and initiator: on a relay's `connect` we dial that endpoint over uTP at once (unless
 *   we are connected or dialing it already: BEP 55 says to ignore it then), which opens our NAT
 *   for the other side's packets while its dial opens its own.
 * - When a dial fails to a peer that a connected peer introduced through PEX with the holepunch
 *   flag, we ask that peer for a rendezvous (as libtorrent does in connect_failed).
 *
 * Bounded: introducers remembered for at most MAX_INTRODUCED addresses (oldest dropped); each
 * peer's messages are rate limited by its UtHolepunch (20 a minute).
 */
import { formatAddress, type Address } from '../../net/address.js';
import { relayRendezvous, type RelayPeer } from '../../wire/holepunch-relay.js';
import type { PeerSession } from './peer-session.js';

/** PEX-introduced addresses whose introducer is remembered. */
const MAX_INTRODUCED = 1000;

export interface HolepunchingHost {
  /** The sessions open now. */
  sessions(): Iterable<PeerSession>;
  /** Dial over uTP at once; false if it is already live or there is no room. */
  dialNow(address: Address): boolean;
}

export interface HolepunchStats {
  /** Rendezvous we relayed / refused with an error. */
  relayed: number;
  refused: number;
  /** Rendezvous we asked for after a failed dial. */
  asked: number;
  /** `connect`s acted on (dialed) / ignored (already connected or no room). */
  dialed: number;
  ignored: number;
}

export class Holepunching {
  readonly stats: HolepunchStats = { relayed: 0, refused: 0, asked: 0, dialed: 0, ignored: 0 };
  /** Address key -> the peer that told us about it with the holepunch flag. */
  private readonly introducers = new Map<string, PeerSession>();
  /** One RelayPeer per session: the relay tells a peer naming itself by identity. */
  private readonly relayPeers = new WeakMap<PeerSession, RelayPeer>();

  constructor(private readonly host: HolepunchingHost) {}

  /** Listen to a new session's ut_holepunch messages. */
  attach(s: PeerSession): void {
    const hp = s.holepunch;
    if (!hp) return;
    hp.on('rendezvous', (target) => {
      if (!s.connected) return;
      const from = this.relayPeer(s);
      const outcome = relayRendezvous(from, target, {
        find: (a) => this.find(a),
        isSelf: () => false // a target that is one of our sessions' own ends is found as a peer
      });
      if (outcome === 'relayed') this.stats.relayed++;
      else this.stats.refused++;
    });
    hp.on('connect', (peer) => {
      if (this.host.dialNow(peer)) this.stats.dialed++;
      else this.stats.ignored++;
    });
  }

  /** `via` told us about `address` through PEX with the holepunch flag. */
  introduced(address: Address, via: PeerSession): void {
    const key = formatAddress(address);
    this.introducers.delete(key);
    this.introducers.set(key, via);
    if (this.introducers.size > MAX_INTRODUCED)
      this.introducers.delete(this.introducers.keys().next().value!);
  }

  /** A dial to `address` failed: ask its introducer for a rendezvous, once. */
  dialFailed(address: Address): void {
    const key = formatAddress(address);
    const via = this.introducers.get(key);
    if (!via) return;
    this.introducers.delete(key);
    if (via.connected && via.holepunch?.supported && via.holepunch.rendezvous(address)) this.stats.asked++;
  }

  /** A session closed: it introduces no one any more. */
  forget(s: PeerSession): void {
    for (const [key, via] of this.introducers) if (via === s) this.introducers.delete(key);
  }

  /** The connected session a rendezvous names: by its punch endpoint or its listen address. */
  private find(target: Address): RelayPeer | undefined {
    const key = formatAddress(target);
    for (const s of this.host.sessions()) {
      if (!s.connected || !s.holepunch) continue;
      const listen = s.listenAddress;
      if (formatAddress(s.punchAddress) === key || (listen && formatAddress(listen) === key))
        return this.relayPeer(s);
    }
    return undefined;
  }

  private relayPeer(s: PeerSession): RelayPeer {
    let p = this.relayPeers.get(s);
    if (!p) this.relayPeers.set(s, (p = { address: s.punchAddress, holepunch: s.holepunch! }));
    return p;
  }
}
