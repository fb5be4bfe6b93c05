import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import bencode from 'bencode';
import { FakeClock } from '../support/fake-clock.js';
import { PeerWire } from '../../lib/wire/peer-wire.js';
import { pipePair } from '../../lib/wire/memory-stream.js';
import { ProtocolError } from '../../lib/wire/errors.js';
import { encodeExtended, encodeHandshake } from '../../lib/wire/messages.js';
import {
  decodeExtendedHandshake,
  type ExtensionContext,
  type WireExtension
} from '../../lib/wire/extensions.js';
import { UtMetadata, decodeMetadataMessage, encodeMetadataMessage } from '../../lib/wire/ut-metadata.js';
import { MetadataAssembler } from '../../lib/wire/metadata-assembler.js';
import { UtPex, decodePex, encodePex, PexFlag, type PexPeer } from '../../lib/wire/ut-pex.js';
import { seededRandom } from '../../lib/util/random.js';

const enc = new TextEncoder();
const idA = new Uint8Array(20).fill(0xa1);
const idB = new Uint8Array(20).fill(0xb2);

/** A ~50 KiB info dictionary (4 metadata pieces) and its infohash. */
const info = bencode.encode({
  length: 2500 * 262_144,
  name: 'fifty-kib-of-metadata.bin',
  'piece length': 262_144,
  pieces: seededRandom(1).bytes(2500 * 20)
});
const infoHash = new Uint8Array(createHash('sha1').update(info).digest());

async function flush(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

function connect(clock = new FakeClock()): { a: PeerWire; b: PeerWire; errors: ProtocolError[] } {
  const [sa, sb] = pipePair();
  const a = new PeerWire(sa, { role: 'initiator', peerId: idA, infoHash, clock });
  const b = new PeerWire(sb, { role: 'responder', peerId: idB, infoHash, clock });
  const errors: ProtocolError[] = [];
  a.on('error', (e) => errors.push(e as ProtocolError));
  b.on('error', (e) => errors.push(e as ProtocolError));
  return { a, b, errors };
}

/** A stand-in remote ut_metadata that misbehaves in a chosen way. */
function fakeMetadataServer(size: number, answer: (piece: number) => Uint8Array | null): WireExtension {
  let ctx: ExtensionContext | undefined;
  return {
    name: 'ut_metadata',
    attach: (c) => (ctx = c),
    handshakeFields: () => ({ metadata_size: size }),
    onHandshake: () => {},
    onMessage: (payload) => {
      const m = decodeMetadataMessage(payload);
      const reply = m?.msgType === 'request' ? answer(m.piece) : null;
      if (reply) ctx?.send(reply);
    }
  };
}

/** Drive a leecher's UtMetadata with an assembler, two requests in flight, until done. */
function fetchMetadata(meta: UtMetadata, peer: object): Promise<Uint8Array | 'corrupt'> {
  return new Promise((resolve) => {
    let asm: MetadataAssembler<object> | undefined;
    const pump = (): void => {
      let p: number | undefined;
      while (asm && (p = asm.nextRequest(peer, 2)) !== undefined) expect(meta.request(p)).toBe(true);
    };
    meta.on('ready', (size) => {
      asm = new MetadataAssembler({ infoHash, size });
      pump();
    });
    meta.on('data', (piece, data) => {
      const r = asm!.add(piece, data, peer);
      if (r.status === 'complete') resolve(r.info);
      else if (r.status === 'corrupt') resolve('corrupt');
      else pump();
    });
  });
}

describe('BEP 10 extension handshake', () => {
  it('exchanges m dictionaries, metadata_size and client fields; routes by local id', async () => {
    const { a, b, errors } = connect();
    a.use(new UtMetadata());
    a.use(new UtPex());
    b.use(new UtPex());
    b.use(new UtMetadata({ metadata: info }));
    const hs = await new Promise<ReturnType<typeof decodeExtendedHandshake>>((r) =>
      a.on('extended_handshake', r)
    );
    if (hs instanceof ProtocolError) throw hs;
    expect(Object.fromEntries(hs.m)).toEqual({ ut_pex: 1, ut_metadata: 2 });
    expect(hs.metadataSize).toBe(info.length);
    expect(hs.v).toBe('trackerless 0.1');
    await flush();
    expect(b.remoteExtendedHandshake?.m.get('ut_metadata')).toBe(1);
    expect(b.remoteExtendedHandshake?.metadataSize).toBeUndefined();
    // An id nobody registered is reported, not an error.
    const unclaimed: number[] = [];
    b.on('extended', (id) => unclaimed.push(id));
    a.sendExtendedHandshake({ ut_foo: 1 }); // re-sending is allowed (BEP 10)
    await flush();
    expect(errors).toEqual([]);
    a.close();
  });

  it('validates the handshake dictionary and caps its size', () => {
    const ok = decodeExtendedHandshake(
      bencode.encode({
        m: { ut_pex: 3, bad: 300, neg: -1, off: 0 },
        p: 70_000,
        reqq: 500,
        yourip: new Uint8Array([1, 2, 3, 4]),
        v: 'x'
      })
    );
    if (ok instanceof ProtocolError) throw ok;
    expect([...ok.m]).toEqual([
      ['off', 0],
      ['ut_pex', 3]
    ]);
    expect(ok.p).toBeUndefined();
    expect(ok.reqq).toBe(500);
    expect(ok.yourip).toEqual(new Uint8Array([1, 2, 3, 4]));
    const bad = (x: Uint8Array): string | undefined => {
      const r = decodeExtendedHandshake(x);
      return r instanceof ProtocolError ? r.reason : undefined;
    };
    expect(bad(bencode.encode({ pad: new Uint8Array(70_000) }))).toBe('bad-extended-handshake');
    expect(bad(enc.encode('li1ee'))).toBe('bad-extended-handshake');
    expect(bad(enc.encode('d1:a-3:xe'))).toBe('bad-extended-handshake'); // would hang bencode@4
    expect(bad(enc.encode('d1:mi1ee'))).toBe('bad-extended-handshake');
    const proto = decodeExtendedHandshake(enc.encode('d9:__proto__d1:md6:ut_pexi1eeee'));
    if (proto instanceof ProtocolError) throw proto;
    expect(proto.m.size).toBe(0);
  });

  it('closes the wire on a malformed extension handshake, and honours m being additive', async () => {
    const [sa, sb] = pipePair();
    const a = new PeerWire(sa, { role: 'initiator', peerId: idA, infoHash, clock: new FakeClock() });
    const pex = new UtPex();
    a.use(pex);
    const errs: ProtocolError[] = [];
    a.on('error', (e) => errs.push(e as ProtocolError));
    sb.write(encodeHandshake({ infoHash, peerId: idB, extended: true }));
    sb.write(encodeExtended(0, bencode.encode({ m: { ut_pex: 7 } })));
    await flush();
    expect(pex.supported).toBe(true);
    sb.write(encodeExtended(0, bencode.encode({ m: { ut_pex: 0 } })));
    await flush();
    expect(pex.supported).toBe(false);
    sb.write(encodeExtended(0, enc.encode('d1:a-3:xe')));
    await flush();
    expect(errs.map((e) => e.reason)).toEqual(['bad-extended-handshake']);
    expect(a.closed).toBe(true);
  });
});

describe('ut_metadata (BEP 9)', () => {
  it('fetches a ~50 KiB info dictionary over piped wires and verifies it', async () => {
    const { a, b, errors } = connect();
    const leech = new UtMetadata();
    a.use(leech);
    b.use(new UtMetadata({ metadata: info }));
    const result = await fetchMetadata(leech, a);
    expect(result).not.toBe('corrupt');
    expect(Buffer.from(result as Uint8Array).equals(info)).toBe(true);
    expect(leech.pieceCount).toBe(4);
    expect(leech.pending.size).toBe(0);
    expect(errors).toEqual([]);
    a.close();
  });

  it('serves only verified metadata: a wrong info dictionary is rejected, not sent', async () => {
    const { a, b } = connect();
    const leech = new UtMetadata();
    a.use(leech);
    const corrupt = info.slice();
    corrupt[100]! ^= 0xff;
    b.use(new UtMetadata({ metadata: corrupt }));
    const rejects: number[] = [];
    leech.on('reject', (p) => rejects.push(p));
    leech.on('ready', () => leech.request(0));
    await flush();
    expect(rejects).toEqual([0]);
    a.close();
  });

  it('detects corrupted pieces in the assembler and blames the contributors', () => {
    const asm = new MetadataAssembler<string>({ infoHash, size: info.length });
    expect(asm.pieceCount).toBe(4);
    expect(asm.nextRequest('p1', 2)).toBe(0);
    expect(asm.nextRequest('p1', 2)).toBe(1);
    expect(asm.nextRequest('p1', 2)).toBeUndefined(); // per-peer cap
    expect(asm.nextRequest('p2', 2)).toBe(2);
    expect(asm.nextRequest('p2', 2)).toBe(3);
    expect(asm.nextRequest('p3', 2)).toBe(0); // endgame: duplicate a piece p3 lacks
    asm.release('p3');
    const piece = (i: number): Uint8Array =>
      info.subarray(i * 16_384, Math.min(info.length, (i + 1) * 16_384));
    const bad = piece(2).slice();
    bad[0]! ^= 1;
    expect(asm.add(0, piece(0), 'p1')).toEqual({ status: 'partial' });
    expect(asm.add(0, piece(0), 'p1')).toEqual({ status: 'ignored', reason: 'duplicate' });
    expect(asm.add(1, piece(0).subarray(1), 'p1')).toEqual({ status: 'ignored', reason: 'bad-length' });
    expect(asm.add(9, piece(0), 'p1')).toEqual({ status: 'ignored', reason: 'bad-index' });
    asm.add(1, piece(1), 'p1');
    asm.add(3, piece(3), 'p2');
    expect(asm.missing()).toEqual([2]);
    const r = asm.add(2, bad, 'p2');
    expect(r.status).toBe('corrupt');
    if (r.status === 'corrupt') expect(r.contributors.sort()).toEqual(['p1', 'p2']);
    expect(asm.missing()).toEqual([0, 1, 2, 3]);
    for (const i of [0, 1, 2]) asm.add(i, piece(i), 'p1');
    const done = asm.add(3, piece(3), 'p1');
    expect(done.status).toBe('complete');
    expect(asm.complete).toBe(true);
    expect(asm.nextRequest('p1')).toBeUndefined();
  });

  it('verifies the hash whatever order the pieces arrive in (incremental SHA-1 over the prefix)', () => {
    const piece = (i: number): Uint8Array =>
      info.subarray(i * 16_384, Math.min(info.length, (i + 1) * 16_384));
    for (const order of [
      [3, 2, 1, 0],
      [1, 3, 0, 2],
      [0, 2, 1, 3]
    ]) {
      const asm = new MetadataAssembler<string>({ infoHash, size: info.length });
      const results = order.map((i) => asm.add(i, piece(i), 'p').status);
      expect(results).toEqual(['partial', 'partial', 'partial', 'complete']);
      expect(Buffer.from(asm.info!)).toEqual(Buffer.from(info));
    }
  });

  it('rejects an oversized or missing metadata_size', async () => {
    expect(() => new MetadataAssembler({ infoHash, size: 17 * 1024 * 1024 })).toThrow();
    expect(() => new MetadataAssembler({ infoHash, size: 0 })).toThrow();
    expect(() => new MetadataAssembler({ infoHash, size: 100, maxSize: 99 })).toThrow();

    const { a, b } = connect();
    const leech = new UtMetadata();
    a.use(leech);
    b.use(fakeMetadataServer(64 * 1024 * 1024, () => null));
    const why: string[] = [];
    leech.on('unavailable', (r) => why.push(r));
    await flush();
    expect(why).toEqual(['bad-size']);
    expect(leech.request(0)).toBe(false);
    a.close();

    const two = connect();
    const small = new UtMetadata({ maxMetadataSize: 1000 });
    two.a.use(small);
    two.b.use(new UtMetadata({ metadata: info }));
    small.on('unavailable', (r) => why.push(r));
    const three = connect();
    const none = new UtMetadata();
    three.a.use(none);
    three.b.use(new UtMetadata());
    none.on('unavailable', (r) => why.push(r));
    await flush();
    expect(why).toEqual(['bad-size', 'bad-size', 'no-size']);
    two.a.close();
    three.a.close();
  });

  it('closes on a data message with the wrong total_size or piece length', async () => {
    for (const [totalSize, cut] of [
      [info.length + 1, 0],
      [info.length, 1]
    ] as const) {
      const { a, b, errors } = connect();
      const leech = new UtMetadata();
      a.use(leech);
      b.use(
        fakeMetadataServer(info.length, (piece) =>
          encodeMetadataMessage({ msgType: 'data', piece, totalSize, data: info.subarray(0, 16_384 - cut) })
        )
      );
      leech.on('ready', () => leech.request(0));
      await flush();
      expect(errors.map((e) => e.reason)).toEqual(['bad-extension-message']);
      expect(a.closed).toBe(true);
    }
  });

  it('ignores unsolicited data and unknown msg_types', async () => {
    const { a, b, errors } = connect();
    const leech = new UtMetadata();
    a.use(leech);
    let ctx: ExtensionContext | undefined;
    b.use({
      name: 'ut_metadata',
      attach: (c) => (ctx = c),
      handshakeFields: () => ({ metadata_size: info.length }),
      onHandshake: () => {},
      onMessage: () => {}
    });
    await flush();
    ctx!.send(
      encodeMetadataMessage({
        msgType: 'data',
        piece: 1,
        totalSize: info.length,
        data: info.subarray(16_384, 32_768)
      })
    );
    ctx!.send(bencode.encode({ msg_type: 9, piece: 0 }));
    await flush();
    expect(leech.ignoredMessages).toBe(1);
    expect(errors).toEqual([]);
    a.close();
  });
});

describe('ut_pex (BEP 11)', () => {
  const v4 = (i: number, flags = 0): PexPeer => ({ host: `10.0.${i >> 8}.${i & 0xff}`, port: 6881, flags });

  it('round-trips IPv4 and IPv6 contacts with flags', () => {
    const msg = {
      added: [
        v4(1, PexFlag.Seed | PexFlag.Reachable),
        { host: '2001:db8::1', port: 51413, flags: PexFlag.Utp }
      ],
      dropped: [
        { host: '192.168.1.9', port: 1 },
        { host: 'fe80::2', port: 65535 }
      ]
    };
    expect(decodePex(encodePex(msg))).toEqual(msg);
  });

  it('caps, deduplicates and keeps an added contact out of dropped', () => {
    const many = Array.from({ length: 60 }, (_, i) => v4(i));
    const out = decodePex(
      encodePex({
        added: [...many, v4(0)],
        dropped: [
          { host: v4(1).host, port: 6881 },
          { host: '1.2.3.4', port: 5 }
        ]
      })
    );
    expect(out?.added).toHaveLength(50);
    expect(out?.dropped).toEqual([{ host: '1.2.3.4', port: 5 }]);
    const received = decodePex(encodePex({ added: many, dropped: [] }, { maxAdded: 60 }), { maxAdded: 10 });
    expect(received?.added).toEqual(many.slice(0, 10));
  });

  it('validates compact lengths and flag lengths', () => {
    expect(decodePex(bencode.encode({ added: new Uint8Array(7) }))).toBeNull();
    expect(decodePex(bencode.encode({ dropped6: new Uint8Array(17) }))).toBeNull();
    expect(decodePex(enc.encode('le'))).toBeNull();
    expect(decodePex(enc.encode('d5:added-3:xe'))).toBeNull();
    const peers = new Uint8Array([1, 2, 3, 4, 0x1a, 0xe1, 5, 6, 7, 8, 0, 0]); // second has port 0
    expect(decodePex(bencode.encode({ added: peers, 'added.f': new Uint8Array([2]) }))?.added).toEqual([
      { host: '1.2.3.4', port: 6881, flags: 0 } // flags length mismatch: flags unknown
    ]);
    expect(decodePex(bencode.encode({ added: peers, 'added.f': new Uint8Array([2, 2]) }))?.added).toEqual([
      { host: '1.2.3.4', port: 6881, flags: 2 }
    ]);
  });

  it('exchanges PEX over piped wires at most once per minute', async () => {
    const clock = new FakeClock();
    const { a, b, errors } = connect(clock);
    const pa = new UtPex();
    const pb = new UtPex();
    a.use(pa);
    b.use(pb);
    const got: unknown[] = [];
    pb.on('peers', (m) => got.push(m));
    expect(pa.send({ added: [v4(1)], dropped: [] })).toBe('unsupported'); // no extension handshake yet
    await flush();
    expect(pa.supported).toBe(true);
    expect(pa.send({ added: [], dropped: [] })).toBe('empty');
    expect(pa.send({ added: [v4(2)], dropped: [] })).toBe('sent');
    expect(pa.send({ added: [v4(3)], dropped: [] })).toBe('rate-limited');
    clock.advance(59_999);
    expect(pa.send({ added: [v4(3)], dropped: [] })).toBe('rate-limited');
    clock.advance(1);
    expect(pa.send({ added: [v4(3)], dropped: [v4(2)] })).toBe('sent');
    await flush();
    expect(got).toEqual([
      { added: [v4(2)], dropped: [] },
      { added: [v4(3)], dropped: [{ host: v4(2).host, port: 6881 }] }
    ]);
    expect(errors).toEqual([]);
    a.close();
    expect(pa.send({ added: [v4(4)], dropped: [] })).toBe('closed');
  });

  it('ignores messages that arrive too often', () => {
    const clock = new FakeClock();
    const pex = new UtPex();
    pex.attach({
      send: () => true,
      remoteSupports: true,
      fail: () => {},
      updateHandshake: () => {},
      infoHash: undefined,
      clock
    });
    const got: unknown[] = [];
    pex.on('peers', (m) => got.push(m));
    const payload = encodePex({ added: [v4(1)], dropped: [] });
    pex.onMessage(payload); // t = 0
    clock.advance(10_000);
    pex.onMessage(payload); // t = 10 s: within the burst of 2 per minute
    clock.advance(10_000);
    pex.onMessage(payload); // t = 20 s: a third in one minute is a flood
    clock.advance(41_000);
    pex.onMessage(payload); // t = 61 s: only the 10 s one is in the window
    pex.onMessage(new Uint8Array([1, 2])); // malformed
    expect(got).toHaveLength(3);
    expect(pex.ignoredMessages).toBe(2);
  });
});
