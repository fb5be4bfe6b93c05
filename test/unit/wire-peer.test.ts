import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../support/fake-clock.js';
import { PeerWire, type PeerWireOptions } from '../../lib/wire/peer-wire.js';
import { pipePair } from '../../lib/wire/memory-stream.js';
import type { WireStream } from '../../lib/net/stream.js';
import { WireFramer, type FrameItem } from '../../lib/wire/framer.js';
import { ProtocolError } from '../../lib/wire/errors.js';
import { encodeHandshake, encodeMessage, encodePieceHeader } from '../../lib/wire/messages.js';
import { MAX_DEFERRED_BYTES } from '../../lib/wire/wire-writer.js';

const infoHash = new Uint8Array(20).fill(0x11);
const otherHash = new Uint8Array(20).fill(0x22);
const idA = new Uint8Array(20).fill(0xa1);
const idB = new Uint8Array(20).fill(0xb2);

/** Let the in-memory streams deliver (they use setImmediate, like socket I/O). */
async function flush(rounds = 8): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

interface Pair {
  a: PeerWire;
  b: PeerWire;
  clock: FakeClock;
  errors: { a: unknown[]; b: unknown[] };
}

function connect(
  optsA: Partial<PeerWireOptions> = {},
  optsB: Partial<PeerWireOptions> = {},
  highWaterMark?: number
): Pair {
  const clock = new FakeClock(1_000_000);
  const [sa, sb] = pipePair(highWaterMark === undefined ? {} : { highWaterMark });
  const a = new PeerWire(sa, { role: 'initiator', peerId: idA, infoHash, clock, ...optsA });
  const b = new PeerWire(sb, { role: 'responder', peerId: idB, infoHash, clock, ...optsB });
  const errors = { a: [] as unknown[], b: [] as unknown[] };
  a.on('error', (e) => errors.a.push(e));
  b.on('error', (e) => errors.b.push(e));
  return { a, b, clock, errors };
}

/** A raw remote end: we read what the wire sends with a framer and write bytes by hand. */
function rawRemote(stream: WireStream): { items: FrameItem[]; write(b: Uint8Array): void } {
  const framer = new WireFramer({ handshake: true });
  const items: FrameItem[] = [];
  stream.onData((c) => items.push(...framer.feed(c)));
  return { items, write: (b) => stream.write(b) };
}

const types = (items: FrameItem[]): string[] => items.map((i) => i.type);

describe('PeerWire', () => {
  it('handshakes as initiator and responder; the responder learns the infohash', async () => {
    const seen: Uint8Array[] = [];
    const { a, b, errors } = connect(
      {},
      { infoHash: undefined, acceptInfoHash: (h) => (seen.push(h), true), dhtPort: 6881 }
    );
    const hsA: unknown[] = [];
    const hsB: unknown[] = [];
    a.on('handshake', (h) => hsA.push(h));
    b.on('handshake', (h) => hsB.push(h));
    const ports: number[] = [];
    a.on('port', (p) => ports.push(p));
    await flush();
    expect(errors).toEqual({ a: [], b: [] });
    expect(seen).toEqual([infoHash]);
    expect(b.infoHash).toEqual(infoHash);
    expect(hsA).toEqual([
      expect.objectContaining({ infoHash, peerId: idB, fast: true, extended: true, dht: true })
    ]);
    expect(hsB).toEqual([
      expect.objectContaining({ infoHash, peerId: idA, fast: true, extended: true, dht: false })
    ]);
    expect(a.handshakeComplete && b.handshakeComplete).toBe(true);
    expect(a.fastExtension && a.extensionProtocol && b.fastExtension).toBe(true);
    expect(a.remoteHandshake?.peerId).toEqual(idB);
    // b advertised DHT, a did not: only b sends PORT (BEP 5 asks the peer that sees the bit).
    expect(ports).toEqual([]);
    expect(a.remoteExtendedHandshake?.v).toBe('trackerless 0.1');
    expect(a.remoteExtendedHandshake?.reqq).toBe(250);
    a.close();
    await flush();
    expect(b.closed).toBe(true);
  });

  it('sends PORT to a peer that sets the DHT bit', async () => {
    const { a, b } = connect({ dhtPort: 7000 }, { dhtPort: 7001 });
    const ports: number[] = [];
    a.on('port', (p) => ports.push(p));
    b.on('port', (p) => ports.push(p));
    await flush();
    expect(ports.sort()).toEqual([7000, 7001]);
    a.close();
  });

  it('rejects an infohash the responder does not serve, and the initiator sees a close', async () => {
    const { a, b, errors } = connect({ infoHash: otherHash });
    const closes: unknown[] = [];
    a.on('close', (r) => closes.push(r));
    await flush();
    expect(errors.b).toHaveLength(1);
    expect(errors.b[0]).toBeInstanceOf(ProtocolError);
    expect((errors.b[0] as ProtocolError).reason).toBe('infohash-mismatch');
    expect(b.closed && a.closed).toBe(true);
    expect(closes).toEqual([undefined]);
  });

  it('lets acceptInfoHash refuse', async () => {
    const { b, errors } = connect({}, { acceptInfoHash: () => false });
    await flush();
    expect((errors.b[0] as ProtocolError).reason).toBe('infohash-mismatch');
    expect(b.closed).toBe(true);
  });

  it('closes when the responder answers with another infohash, or is ourselves', async () => {
    const [sa, sb] = pipePair();
    const a = new PeerWire(sa, { role: 'initiator', peerId: idA, infoHash, clock: new FakeClock() });
    const errs: ProtocolError[] = [];
    a.on('error', (e) => errs.push(e as ProtocolError));
    sb.write(encodeHandshake({ infoHash: otherHash, peerId: idB }));
    await flush();
    expect(errs.map((e) => e.reason)).toEqual(['infohash-mismatch']);

    const [sc, sd] = pipePair();
    const c = new PeerWire(sc, { role: 'initiator', peerId: idA, infoHash, clock: new FakeClock() });
    c.on('error', (e) => errs.push(e as ProtocolError));
    sd.write(encodeHandshake({ infoHash, peerId: idA }));
    await flush();
    expect(errs.map((e) => e.reason)).toEqual(['infohash-mismatch', 'self-connection']);

    const [se, sf] = pipePair();
    const e = new PeerWire(se, {
      role: 'initiator',
      peerId: idA,
      infoHash,
      expectedPeerId: idB,
      clock: new FakeClock()
    });
    e.on('error', (x) => errs.push(x as ProtocolError));
    sf.write(encodeHandshake({ infoHash, peerId: new Uint8Array(20).fill(9) }));
    await flush();
    expect(errs.map((x) => x.reason)).toEqual(['infohash-mismatch', 'self-connection', 'peer-id-mismatch']);
  });

  it('exchanges interested / unchoke / request / piece and tracks state and counters', async () => {
    const { a, b, errors } = connect();
    const block = Uint8Array.from({ length: 16_384 }, (_, i) => i & 0xff);
    b.on('handshake', () => b.haveAll());
    b.on('interested', () => b.unchoke());
    b.on('request', (r) => b.piece(r.index, r.begin, block.subarray(r.begin, r.begin + r.length)));
    const got: Uint8Array[] = [];
    a.on('have_all', () => a.interested());
    a.on('unchoke', () => {
      a.request(0, 0, 8192);
      a.request(0, 8192, 8192);
    });
    a.on('piece', (p) => got.push(p.block.slice()));
    await flush();
    expect(errors).toEqual({ a: [], b: [] });
    expect(a.amInterested && b.peerInterested).toBe(true);
    expect(a.peerChoking || b.amChoking).toBe(false);
    expect(a.amChoking && b.peerChoking).toBe(true);
    expect(Buffer.concat(got).equals(block)).toBe(true);
    expect(a.outstandingRequests).toBe(0);
    expect(a.stats.payloadBytesReceived).toBe(16_384);
    expect(b.stats.payloadBytesSent).toBe(16_384);
    expect(a.stats.bytesReceived).toBe(b.stats.bytesSent);
    expect(b.stats.bytesReceived).toBe(a.stats.bytesSent);
    expect(a.stats.bytesReceived).toBeGreaterThan(16_384 + 68);
    // Duplicate state changes are not re-sent.
    const sent = a.stats.bytesSent;
    a.interested();
    expect(a.stats.bytesSent).toBe(sent);
    a.close();
  });

  it('holds a HAVE for the next write when asked: same write, in order, bounded', async () => {
    const clock = new FakeClock(0);
    const [sa, sb] = pipePair();
    // The stream's calls: 1 per write, the chunk count per gathered write.
    const writes: number[] = [];
    const write = sa.write.bind(sa);
    let inWritev = false;
    sa.write = (d) => (inWritev || writes.push(1), write(d));
    sa.writev = (chunks) => {
      writes.push(chunks.length);
      inWritev = true;
      for (const c of chunks) write(c);
      inWritev = false;
      return true;
    };
    const a = new PeerWire(sa, { role: 'initiator', peerId: idA, infoHash, clock });
    const remote = rawRemote(sb);
    remote.write(encodeHandshake({ infoHash, peerId: idB, fast: true }));
    await flush();
    remote.items.length = 0;
    writes.length = 0;
    const sent = a.stats.bytesSent;
    // Held: nothing written, nothing counted.
    a.have(3, { withNextWrite: true });
    a.have(4, { withNextWrite: true });
    await flush();
    expect(remote.items).toEqual([]);
    expect(writes).toEqual([]);
    expect(a.stats.bytesSent).toBe(sent);
    // The next message carries them, ahead of it, in one gathered write.
    a.interested();
    await flush();
    expect(writes).toEqual([2]);
    expect(remote.items).toEqual([
      { type: 'have', index: 3 },
      { type: 'have', index: 4 },
      { type: 'interested' }
    ]);
    expect(a.stats.bytesSent).toBe(sent + 9 + 9 + 5);
    // Piece batches and two-part messages carry them too.
    a.have(5, { withNextWrite: true });
    a.pieces([{ index: 1, begin: 0, block: new Uint8Array(4).fill(7) }]);
    a.have(6, { withNextWrite: true });
    a.bitfield(new Uint8Array([0xff]));
    await flush();
    expect(types(remote.items).slice(3)).toEqual(['have', 'piece', 'have', 'bitfield']);
    // A peer saying it is not interested gets held HAVEs at once (they may change its mind).
    remote.items.length = 0;
    a.have(7, { withNextWrite: true });
    remote.write(encodeMessage({ type: 'not_interested' }));
    await flush();
    expect(remote.items).toEqual([{ type: 'have', index: 7 }]);
    // So does a keep-alive, and enough held HAVEs go on their own.
    remote.items.length = 0;
    a.have(8, { withNextWrite: true });
    clock.advance(60_000);
    await flush();
    expect(types(remote.items)).toEqual(['have', 'keep_alive']);
    remote.items.length = 0;
    const bound = Math.floor(MAX_DEFERRED_BYTES / 9) + 1;
    for (let i = 0; i < bound; i++) a.have(i, { withNextWrite: true });
    await flush();
    expect(remote.items).toHaveLength(bound);
    expect(remote.items.every((i) => i.type === 'have')).toBe(true);
    // Without the option a HAVE is its own write, at once; on close held ones are dropped.
    writes.length = 0;
    a.have(50);
    expect(writes).toEqual([1]);
    a.have(51, { withNextWrite: true });
    a.close();
    await flush();
    expect(remote.items).toHaveLength(bound + 1);
    expect(remote.items.some((i) => i.type === 'have' && i.index === 51)).toBe(false);
  });

  it('applies BEP 6: reject answers a request; unrequested pieces and rejects close', async () => {
    const { a, b, errors } = connect();
    b.on('request', (r) => b.reject(r.index, r.begin, r.length));
    const rejects: unknown[] = [];
    a.on('reject', (r) => rejects.push(r));
    a.on('handshake', () => a.request(1, 0, 16_384));
    await flush();
    expect(rejects).toEqual([{ type: 'reject', index: 1, begin: 0, length: 16_384 }]);
    expect(a.outstandingRequests).toBe(0);
    b.piece(1, 0, new Uint8Array(10)); // never requested
    await flush();
    expect((errors.a[0] as ProtocolError).reason).toBe('unrequested-block');
    expect(a.closed).toBe(true);
  });

  it('without BEP 6: a choke drops requests, late pieces are accepted, fast messages close', async () => {
    const { a, b, errors } = connect({ fast: false });
    await flush();
    expect(a.fastExtension || b.fastExtension).toBe(false);
    expect(() => a.haveAll()).toThrow();
    a.request(0, 0, 100);
    b.unchoke();
    b.choke();
    await flush();
    expect(a.outstandingRequests).toBe(0);
    const pieces: unknown[] = [];
    a.on('piece', (p) => pieces.push(p.index));
    b.piece(0, 0, new Uint8Array(100));
    await flush();
    expect(pieces).toEqual([0]);
    expect(errors.a).toEqual([]);
    a.close();

    // A remote that sets the fast bit still may not send have_all to us: we did not set it.
    const [sc, sd] = pipePair();
    const c = new PeerWire(sc, {
      role: 'initiator',
      peerId: idA,
      infoHash,
      fast: false,
      clock: new FakeClock()
    });
    const errs: ProtocolError[] = [];
    c.on('error', (e) => errs.push(e as ProtocolError));
    sd.write(encodeHandshake({ infoHash, peerId: idB, fast: true }));
    sd.write(encodeMessage({ type: 'have_all' }));
    await flush();
    expect(errs.map((e) => e.reason)).toEqual(['fast-not-negotiated']);
  });

  it('accepts a later bitfield / have_all (aria2 sends them instead of HAVEs), in order', async () => {
    const one = connect();
    const seen: string[] = [];
    one.a.on('have_none', () => seen.push('have_none'));
    one.a.on('bitfield', (b) => seen.push(`bitfield ${b[0]}`));
    one.a.on('have_all', () => seen.push('have_all'));
    one.b.on('handshake', () => {
      one.b.haveNone();
      one.b.bitfield(new Uint8Array([0x80]));
      one.b.bitfield(new Uint8Array([0xc0]));
      one.b.haveAll();
    });
    await flush();
    expect(one.errors.a).toEqual([]);
    expect(seen).toEqual(['have_none', 'bitfield 128', 'bitfield 192', 'have_all']);
    expect(one.a.closed).toBe(false);
  });

  it('closes on a wrong block size or an oversized message', async () => {
    const two = connect();
    two.b.on('request', (r) => two.b.piece(r.index, r.begin, new Uint8Array(r.length - 1)));
    two.a.on('handshake', () => two.a.request(0, 0, 64));
    await flush();
    expect((two.errors.a[0] as ProtocolError).reason).toBe('bad-block');

    const [sa, sb] = pipePair();
    const a = new PeerWire(sa, { role: 'initiator', peerId: idA, infoHash, clock: new FakeClock() });
    const errs: ProtocolError[] = [];
    a.on('error', (e) => errs.push(e as ProtocolError));
    sb.write(encodeHandshake({ infoHash, peerId: idB, fast: true }));
    sb.write(encodePieceHeader(0, 0, 2 ** 20));
    await flush();
    expect(errs.map((e) => e.reason)).toEqual(['message-too-long']);
    expect(a.closed).toBe(true);
  });

  it('refuses to send before the handshake', () => {
    const [sa] = pipePair();
    const a = new PeerWire(sa, { role: 'initiator', peerId: idA, infoHash, clock: new FakeClock() });
    expect(() => a.interested()).toThrow(/handshake/);
    a.close();
    expect(a.interested()).toBe(false);
  });

  it('sends keep-alives every 60 s and times out after 120 s of silence', async () => {
    const clock = new FakeClock(0);
    const [sa, sb] = pipePair();
    const a = new PeerWire(sa, { role: 'initiator', peerId: idA, infoHash, clock });
    const remote = rawRemote(sb);
    remote.write(encodeHandshake({ infoHash, peerId: idB, fast: true }));
    await flush();
    const errs: unknown[] = [];
    a.on('error', (e) => errs.push(e));
    expect(a.handshakeComplete).toBe(true);
    remote.items.length = 0;
    clock.advance(59_999);
    await flush();
    expect(types(remote.items)).toEqual([]);
    clock.advance(1);
    await flush();
    expect(types(remote.items)).toEqual(['keep_alive']);
    // The remote talks at t=90 s: the idle deadline moves to 210 s.
    clock.advance(30_000);
    remote.write(encodeMessage({ type: 'keep_alive' }));
    await flush();
    clock.advance(90_000); // t = 180 s
    await flush();
    expect(errs).toEqual([]);
    expect(types(remote.items)).toEqual(['keep_alive', 'keep_alive', 'keep_alive']);
    clock.advance(30_000); // t = 210 s: 120 s of silence
    expect(errs).toHaveLength(1);
    expect((errs[0] as { code: string }).code).toBe('ERR_TIMEOUT');
    expect(a.closed).toBe(true);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('keeps two live wires open across many minutes, and times out a silent handshake', async () => {
    const { a, b, clock, errors } = connect();
    await flush();
    for (let i = 0; i < 10; i++) {
      clock.advance(60_000);
      await flush();
    }
    expect(errors).toEqual({ a: [], b: [] });
    expect(a.closed || b.closed).toBe(false);
    a.close();
    await flush();
    expect(clock.pendingTimers()).toBe(0);

    const c2 = new FakeClock();
    const [sc] = pipePair();
    const c = new PeerWire(sc, { role: 'initiator', peerId: idA, infoHash, clock: c2 });
    const errs: unknown[] = [];
    c.on('error', (e) => errs.push(e));
    c2.advance(30_000);
    expect((errs[0] as { code: string }).code).toBe('ERR_TIMEOUT');
  });

  it('reports backpressure and drain', async () => {
    const { a, b } = connect({}, {}, 32 * 1024);
    await flush();
    const block = new Uint8Array(16_384);
    let drains = 0;
    b.on('drain', () => drains++);
    const results = [b.piece(0, 0, block), b.piece(0, 16_384, block), b.piece(0, 32_768, block)];
    expect(results).toEqual([true, false, false]);
    await flush();
    expect(drains).toBe(1);
    a.close();
  });
});
