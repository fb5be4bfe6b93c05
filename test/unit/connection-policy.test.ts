/**
 * The connection policy without sockets: the dial order per policy and PEX hint, the BEP 11 uTP
 * flag in PEX (sent for peers connected over uTP, honoured as a dial hint), the transport in
 * peer status, and the uTP listener's admission through InboundGate (per-IP limits shared with
 * TCP) and routing by handshake.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { dialOrder } from '../../lib/engine/peers/connect-peer.js';
import { InboundGate } from '../../lib/engine/peers/inbound-gate.js';
import { IncomingRoutes } from '../../lib/engine/peers/incoming-routes.js';
import { UtpPeerListener, type IncomingUtp } from '../../lib/engine/peers/utp-peer-listener.js';
import type { Address } from '../../lib/net/address.js';
import type { WireStream } from '../../lib/net/stream.js';
import { createTorrentFromBuffer } from '../../lib/torrent/create.js';
import { seededRandom } from '../../lib/util/random.js';
import { pipePair } from '../../lib/wire/memory-stream.js';
import { encodeHandshake } from '../../lib/wire/messages.js';
import { FakeClock } from '../support/fake-clock.js';
import { PipeNet } from '../support/pipe-net.js';

describe('dialOrder', () => {
  it('follows the policy; a PEX peer without the uTP flag goes TCP first under utp-first', () => {
    expect(dialOrder('utp-first', true, undefined)).toEqual(['utp', 'tcp']);
    expect(dialOrder('utp-first', true, true)).toEqual(['utp', 'tcp']);
    expect(dialOrder('utp-first', true, false)).toEqual(['tcp', 'utp']);
    expect(dialOrder('tcp-first', true, true)).toEqual(['tcp', 'utp']);
    expect(dialOrder('utp', true, false)).toEqual(['utp']);
    expect(dialOrder('tcp', true, true)).toEqual(['tcp']);
    expect(dialOrder('both', true, undefined)).toEqual(['utp', 'tcp']);
    // No uTP socket: TCP whatever the policy.
    expect(dialOrder('utp', false, true)).toEqual(['tcp']);
  });
});

describe('BEP 11 uTP flag in PEX', () => {
  let net: PipeNet;
  afterEach(async () => {
    await net.destroyAll();
  });

  async function pexHintFor(transport: 'utp' | 'tcp'): Promise<boolean | undefined> {
    net = new PipeNet();
    net.transport = transport;
    const data = seededRandom(9).bytes(512 * 1024);
    const info = createTorrentFromBuffer('pex.bin', data, 32 * 1024);
    const seed = await net.seeder(info, data);
    // `middle` downloads slowly, so it is still connected to `seed` when `late` arrives.
    const middle = await net.leecher(info.infoHash, { downloadLimit: 128 * 1024 });
    middle.engine.addPeer(seed.address, 'manual');
    await net.time.settle(middle.engine.metadata());
    expect(middle.engine.peerStatus().map((p) => p.transport)).toEqual([transport]);
    const late = await net.leecher(info.infoHash);
    late.engine.addPeer(middle.address, 'manual');
    const dial = await net.time.until('late to dial the seed it heard of', () =>
      net.dials.find((d) => d.from === late.address.host && d.to === seed.address.host)
    );
    return dial.utpHint;
  }

  it('a peer we reach over uTP is announced with the flag, and dialed with the uTP hint', async () => {
    expect(await pexHintFor('utp')).toBe(true);
  });

  it('a peer we reach over TCP is announced without it: the hint says no uTP', async () => {
    expect(await pexHintFor('tcp')).toBe(false);
  });
});

/** One turn of the real event loop: in-memory pipes deliver on setImmediate. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('UtpPeerListener', () => {
  const infoHash = new Uint8Array(20).fill(3);
  const handshake = encodeHandshake({
    infoHash,
    peerId: new Uint8Array(20).fill(1),
    fast: true,
    extended: true
  });

  /** A fake uTP socket: `arrive` hands the listener a connection from `from`. */
  function acceptor() {
    let handler: ((c: IncomingUtp) => void) | undefined;
    return {
      onConnection: (h: (c: IncomingUtp) => void) => (handler = h),
      arrive(from: Address): { remote: WireStream; closed: () => boolean } {
        const [local, remote] = pipePair();
        let closed = false;
        local.onClose(() => (closed = true));
        handler!(Object.assign(local, { remoteAddress: from, transport: 'utp' as const }));
        return { remote, closed: () => closed };
      }
    };
  }

  it('routes by the handshake with the bytes still readable, through the per-IP limits it shares with TCP', async () => {
    const clock = new FakeClock();
    const gate = new InboundGate({ maxPendingPerIp: 2, maxPerIp: 2 });
    const routes = new IncomingRoutes();
    const socket = acceptor();
    const listener = new UtpPeerListener(socket, 6881, { clock, gate, routes });
    const routed: { stream: WireStream; remote: Address; bytes: Uint8Array[] }[] = [];
    // Registered on the shared routes (as the TCP listener would): the uTP side serves it too.
    routes.register(infoHash, (stream, remote) => {
      const entry = { stream, remote, bytes: [] as Uint8Array[] };
      stream.onData((c) => entry.bytes.push(c));
      routed.push(entry);
    });
    const ip = '10.0.0.1';
    // A TCP connection from the same IP already holds one of its two pending slots.
    const tcpTicket = gate.admit(ip, () => {})!;
    const a = socket.arrive({ host: ip, port: 1000 });
    const b = socket.arrive({ host: ip, port: 1001 });
    await turn();
    expect(b.closed()).toBe(true); // refused: the IP's pending slots are taken
    expect(listener.stats.refused).toBe(1);
    expect(gate.stats.refusedPerIp).toBe(1);
    // Handshake in two pieces, and a message after it: all of it reaches the handler, in order.
    a.remote.write(handshake.subarray(0, 30));
    a.remote.write(Buffer.concat([handshake.subarray(30), Buffer.from('after')]));
    await turn();
    clock.advance(0);
    expect(routed).toHaveLength(1);
    expect(routed[0]!.remote).toEqual({ host: ip, port: 1000 });
    expect(routed[0]!.stream.transport).toBe('utp');
    a.remote.write(Buffer.from('later'));
    await turn();
    clock.advance(0);
    expect(
      Buffer.concat(routed[0]!.bytes).equals(Buffer.concat([handshake, Buffer.from('afterlater')]))
    ).toBe(true);
    expect(listener.stats.accepted).toBe(1);
    expect(gate.established).toBe(1);
    tcpTicket.release();
    // Silent connections lose their slot at the handshake deadline; unknown torrents are refused.
    const silent = socket.arrive({ host: '10.0.0.2', port: 1 });
    const stranger = socket.arrive({ host: '10.0.0.3', port: 1 });
    stranger.remote.write(encodeHandshake({ infoHash: new Uint8Array(20), peerId: new Uint8Array(20) }));
    await turn(); // delivered: refused
    await turn(); // the close reaches the other end
    expect(stranger.closed()).toBe(true);
    clock.advance(5_000);
    await turn();
    await turn();
    expect(silent.closed()).toBe(true);
    expect(gate.pendingCount).toBe(0);
    listener.close();
  });
});

describe('BEP 55 in the engine', () => {
  let net: PipeNet;
  afterEach(async () => {
    await net.destroyAll();
  });

  it('a failed dial to a PEX peer flagged for holepunching becomes a rendezvous; the relay connects both; pieces flow directly', async () => {
    net = new PipeNet();
    net.transport = 'utp';
    const data = seededRandom(11).bytes(384 * 1024);
    const info = createTorrentFromBuffer('punch.bin', data, 32 * 1024);
    // Engines with a uTP socket announce ut_holepunch; the pipes stand in for uTP. The NATed
    // peers tell their listen port in the extension handshake (the relay's PEX needs it).
    const utp = { connect: () => Promise.reject(new Error('pipes only')) };
    const listener = { port: 6881, register: () => () => {} };
    // The relay holds nothing and fetches next to nothing.
    const relay = await net.leecher(info.infoHash, { info, utp, downloadLimit: 1 });
    const seed = await net.seeder(info, data, { utp, listener });
    const leech = await net.leecher(info.infoHash, { info, utp, listener });
    net.natted.add(seed.address.host);
    net.natted.add(leech.address.host);
    // Both dial out to the relay; its PEX tells each about the other (uTP + holepunch flags).
    seed.engine.addPeer(relay.address, 'manual');
    leech.engine.addPeer(relay.address, 'manual');
    await net.time.settle(leech.engine.done(), { maxMs: 120_000 });
    const punched = new Set(net.dials.filter((d) => d.utpOnly).map((d) => `${d.from}->${d.to}`));
    expect(punched).toEqual(
      new Set([`${leech.address.host}->${seed.address.host}`, `${seed.address.host}->${leech.address.host}`])
    );
    const stats = [seed, leech, relay].map((p) => p.engine.holepunchStats);
    expect(stats[0]!.asked + stats[1]!.asked).toBeGreaterThanOrEqual(1);
    expect(stats[2]!.relayed).toBeGreaterThanOrEqual(1);
    expect(stats[2]!.refused).toBe(0);
    // The relay's rate cap lets it fetch a piece at most: the rest reached the leech directly.
    expect(relay.engine.progress().uploaded).toBeLessThanOrEqual(32 * 1024);
    expect(seed.engine.progress().uploaded).toBeGreaterThanOrEqual(data.length - 32 * 1024);
  });
});
