/**
 * PEX (BEP 11) gossip for one torrent: tell each peer about the peers we are connected to
 * (their listen addresses), as the changes since the last message to it. UtPex enforces one
 * message per minute per peer; this module remembers what each peer was told.
 */
import { formatAddress, isIpLiteral, type Address } from '../../net/address.js';
import { PexFlag, type PexPeer } from '../../wire/ut-pex.js';
import type { PeerSession } from './peer-session.js';

/** Most peers added or dropped in one message. */
const MAX_PER_MESSAGE = 50;

export class PexGossip {
  /** peer -> the addresses we told it about (key: formatAddress). */
  private readonly told = new Map<PeerSession, Map<string, Address>>();

  /** Send a message to every connected peer whose PEX is due. */
  send(sessions: Iterable<PeerSession>, now: number, isSeed: (s: PeerSession) => boolean): void {
    const all = [...sessions];
    const due = all.filter((s) => s.connected && s.utPex?.supported && s.utPex.nextSendAt() <= now);
    if (due.length === 0) return;
    const live = new Map<string, PexPeer>();
    for (const s of all) {
      const a = s.listenAddress;
      if (!s.connected || !a || !isIpLiteral(a.host)) continue;
      live.set(formatAddress(a), {
        host: a.host,
        port: a.port,
        // uTP: it speaks uTP, as our connection to it shows; holepunch: it announced
        // ut_holepunch, so we can relay a rendezvous to it (BEP 11, BEP 55).
        flags:
          (s.outgoing ? PexFlag.Reachable : 0) |
          (isSeed(s) ? PexFlag.Seed : 0) |
          (s.transport === 'utp' ? PexFlag.Utp : 0) |
          (s.holepunch?.supported ? PexFlag.Holepunch : 0)
      });
    }
    for (const s of due) {
      let told = this.told.get(s);
      if (!told) this.told.set(s, (told = new Map()));
      const self = s.listenAddress ? formatAddress(s.listenAddress) : undefined;
      const added = [...live].filter(([k]) => k !== self && !told.has(k)).slice(0, MAX_PER_MESSAGE);
      const dropped = [...told].filter(([k]) => !live.has(k)).slice(0, MAX_PER_MESSAGE);
      const message = { added: added.map(([, p]) => p), dropped: dropped.map(([, a]) => a) };
      if (s.utPex!.send(message) !== 'sent') continue;
      for (const [k, p] of added) told.set(k, { host: p.host, port: p.port });
      for (const [k] of dropped) told.delete(k);
    }
  }

  /** The peer disconnected. */
  forget(s: PeerSession): void {
    this.told.delete(s);
  }
}
