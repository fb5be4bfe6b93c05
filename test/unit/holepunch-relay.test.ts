/** BEP 55 relay role over piped wires: connects sent to both sides, each error code when it applies. */
import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { formatAddress } from '../../lib/net/address.js';
import type { Address } from '../../lib/net/address.js';
import { relayRendezvous } from '../../lib/wire/holepunch-relay.js';
import type { RelayPeer } from '../../lib/wire/holepunch-relay.js';
import { pipePair } from '../../lib/wire/memory-stream.js';
import { PeerWire } from '../../lib/wire/peer-wire.js';
import { HolepunchError, UtHolepunch } from '../../lib/wire/ut-holepunch.js';
import { FakeClock } from '../support/fake-clock.js';

const infoHash = new Uint8Array(createHash('sha1').update('relay').digest());
const RELAY: Address = { host: '192.0.2.1', port: 6881 };

async function flush(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

interface Remote {
  /** The peer's own plugin (absent when it does not speak ut_holepunch). */
  own: UtHolepunch | undefined;
  /** The relay's view of it. */
  atRelay: RelayPeer;
  events: string[];
}

/** A relay with peers connected over piped wires; each rendezvous is relayed through `relayRendezvous`. */
function relayWith(peers: { address: Address; holepunch: boolean }[]): {
  remotes: Remote[];
  outcomes: string[];
  close: () => void;
} {
  const clock = new FakeClock();
  const byAddress = new Map<string, RelayPeer>();
  const outcomes: string[] = [];
  const wires: PeerWire[] = [];
  const remotes = peers.map(({ address, holepunch }, i): Remote => {
    const [s1, s2] = pipePair();
    const relayWire = new PeerWire(s1, {
      role: 'responder',
      peerId: new Uint8Array(20).fill(99),
      infoHash,
      clock
    });
    const peerWire = new PeerWire(s2, {
      role: 'initiator',
      peerId: new Uint8Array(20).fill(i + 1),
      infoHash,
      clock
    });
    wires.push(relayWire, peerWire);
    const atRelay: RelayPeer = { address, holepunch: new UtHolepunch() };
    relayWire.use(atRelay.holepunch);
    byAddress.set(formatAddress(address), atRelay);
    atRelay.holepunch.on('rendezvous', (target) => {
      outcomes.push(
        relayRendezvous(atRelay, target, {
          find: (a) => byAddress.get(formatAddress(a)),
          isSelf: (a) => formatAddress(a) === formatAddress(RELAY)
        })
      );
    });
    const events: string[] = [];
    const own = holepunch ? new UtHolepunch() : undefined;
    if (own) {
      peerWire.use(own);
      own.on('connect', (p) => events.push(`connect ${formatAddress(p)}`));
      own.on('error', (t, code) => events.push(`error ${formatAddress(t)} ${code}`));
    }
    return { own, atRelay, events };
  });
  return { remotes, outcomes, close: () => wires.forEach((w) => w.close()) };
}

describe('relayRendezvous (BEP 55 relay)', () => {
  const A = { host: '198.51.100.7', port: 40000 };
  const B = { host: '203.0.113.20', port: 51413 };
  const C = { host: '203.0.113.30', port: 6881 };

  it('sends connect to both peers, each with the other endpoint', async () => {
    const { remotes, outcomes, close } = relayWith([
      { address: A, holepunch: true },
      { address: B, holepunch: true }
    ]);
    await flush();
    remotes[0]!.own!.rendezvous(B);
    await flush();
    expect(outcomes).toEqual(['relayed']);
    expect(remotes[0]!.events).toEqual([`connect ${formatAddress(B)}`]);
    expect(remotes[1]!.events).toEqual([`connect ${formatAddress(A)}`]);
    close();
  });

  it('answers each failure with its BEP 55 code and the target echoed', async () => {
    const { remotes, outcomes, close } = relayWith([
      { address: A, holepunch: true },
      { address: B, holepunch: true },
      { address: C, holepunch: false }
    ]);
    await flush();
    const a = remotes[0]!;
    const unknown = { host: '203.0.113.99', port: 7000 };
    a.own!.rendezvous(unknown);
    a.own!.rendezvous(C);
    a.own!.rendezvous(RELAY);
    a.own!.rendezvous({ host: '0.0.0.0', port: 7000 });
    a.own!.rendezvous({ host: '239.1.2.3', port: 7000 });
    a.own!.rendezvous(A);
    await flush();
    expect(outcomes).toEqual(['failed', 'failed', 'failed', 'failed', 'failed', 'failed']);
    expect(a.events).toEqual([
      `error ${formatAddress(unknown)} ${HolepunchError.NotConnected}`,
      `error ${formatAddress(C)} ${HolepunchError.NoSupport}`,
      `error ${formatAddress(RELAY)} ${HolepunchError.NoSelf}`,
      `error 0.0.0.0:7000 ${HolepunchError.NoSuchPeer}`,
      `error 239.1.2.3:7000 ${HolepunchError.NoSuchPeer}`,
      `error ${formatAddress(A)} ${HolepunchError.NoSuchPeer}`
    ]);
    // Nobody else heard anything.
    expect(remotes[1]!.events).toEqual([]);
    close();
  });

  it('ignores rendezvous from a peer that did not announce ut_holepunch', async () => {
    const { remotes, outcomes, close } = relayWith([
      { address: C, holepunch: false },
      { address: B, holepunch: true }
    ]);
    await flush();
    // C's wire has no plugin, so it cannot even send one; its relay-side plugin sees no support.
    expect(remotes[0]!.atRelay.holepunch.supported).toBe(false);
    expect(remotes[0]!.atRelay.holepunch.connect(B)).toBe(false);
    expect(outcomes).toEqual([]);
    close();
  });
});
