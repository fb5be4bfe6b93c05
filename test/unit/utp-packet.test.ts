/**
 * uTP codec (BEP 29 header, extension chain, selective ack) and 16-bit sequence arithmetic.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ST_DATA, ST_FIN, ST_RESET, ST_STATE, ST_SYN, type PacketType } from '../../lib/utp/constants.js';
import {
  decodePacket,
  decodePacketInto,
  emptyPacket,
  encodeControl,
  encodePacket,
  looksLikeUtp,
  restampHeader,
  type PacketHeader
} from '../../lib/utp/packet.js';
import { SeqRing } from '../../lib/utp/seq-ring.js';
import { seqAdd, seqDiff, seqLess, u32Diff, u32Less } from '../../lib/utp/seq.js';

const header = (over: Partial<PacketHeader> = {}): PacketHeader => ({
  type: ST_DATA,
  connectionId: 0x1234,
  timestampUs: 0xdeadbeef,
  timestampDiffUs: 0x01020304,
  wndSize: 0x00100000,
  seqNr: 0xfffe,
  ackNr: 0x0001,
  ...over
});

describe('uTP packet codec', () => {
  it('writes the BEP 29 header layout byte for byte', () => {
    const buf = encodePacket(header({ type: ST_STATE }), Buffer.from('xy'));
    expect(Buffer.from(buf).toString('hex')).toBe(
      '21' + // type 2 (STATE) << 4 | version 1
        '00' + // no extension
        '1234' + // connection_id
        'deadbeef' +
        '01020304' +
        '00100000' +
        'fffe' +
        '0001' +
        '7879' // payload "xy"
    );
  });

  it('round-trips any header, payload and selective ack', () => {
    fc.assert(
      fc.property(
        fc.record({
          type: fc.constantFrom<PacketType>(ST_DATA, ST_FIN, ST_STATE, ST_RESET, ST_SYN),
          connectionId: fc.integer({ min: 0, max: 0xffff }),
          timestampUs: fc.integer({ min: 0, max: 0xffffffff }),
          timestampDiffUs: fc.integer({ min: 0, max: 0xffffffff }),
          wndSize: fc.integer({ min: 0, max: 0xffffffff }),
          seqNr: fc.integer({ min: 0, max: 0xffff }),
          ackNr: fc.integer({ min: 0, max: 0xffff })
        }),
        fc.uint8Array({ maxLength: 1400 }),
        fc.option(fc.uint8Array({ minLength: 1, maxLength: 64 }), { nil: null }),
        (h, payload, sack) => {
          const decoded = decodePacket(encodePacket(h, payload, sack));
          expect(decoded.ok).toBe(true);
          if (!decoded.ok) return;
          const { sack: gotSack, payload: gotPayload, ...fields } = decoded.packet;
          expect(fields).toEqual(h);
          expect(Buffer.from(gotPayload).equals(Buffer.from(payload))).toBe(true);
          expect(gotSack === null ? null : Buffer.from(gotSack).toString('hex')).toBe(
            sack === null ? null : Buffer.from(sack).toString('hex')
          );
        }
      )
    );
  });

  it('skips unknown extensions by their length (libtorrent close reason, id 3)', () => {
    const base = encodeControl(header({ type: ST_STATE }));
    const buf = Buffer.concat([base, Buffer.from([1, 4, 0, 0, 0, 9, 0, 1, 0xff]), Buffer.from('p')]);
    buf[1] = 3; // first extension: close reason, then sack of 1 byte
    const d = decodePacket(buf);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(Buffer.from(d.packet.sack!).toString('hex')).toBe('ff');
    expect(Buffer.from(d.packet.payload).toString()).toBe('p');
  });

  it('rejects malformed datagrams with a reason, never throwing', () => {
    const ok = encodeControl(header());
    const cases: [Uint8Array, string][] = [
      [ok.subarray(0, 19), 'short'],
      [Buffer.concat([Buffer.from([0x02]), ok.subarray(1)]), 'version'],
      [Buffer.concat([Buffer.from([0x51]), ok.subarray(1)]), 'type'],
      [Buffer.concat([Buffer.from([0x01, 0x01]), ok.subarray(2)]), 'extension'], // sack, no bytes
      [Buffer.concat([Buffer.from([0x01, 0x01]), ok.subarray(2), Buffer.from([0, 8, 1])]), 'extension'],
      [Buffer.concat([Buffer.from([0x01, 0x01]), ok.subarray(2), Buffer.from([0, 0])]), 'extension'], // empty sack
      [new Uint8Array(1501).fill(0x01), 'oversize']
    ];
    for (const [buf, reason] of cases) {
      const d = decodePacket(buf);
      expect(d).toEqual({ ok: false, reason });
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(() => decodePacket(bytes)).not.toThrow();
      })
    );
  });

  it('decodes into one reused Packet, every field rewritten (a sack and a payload do not linger)', () => {
    const out = emptyPacket();
    const sack = new Uint8Array([0xff, 0, 0, 1]);
    const first = encodePacket(header({ timestampUs: 0xfedcba98, ackNr: 7 }), Buffer.from('abc'), sack);
    expect(decodePacketInto(first, out)).toBeNull();
    expect(Array.from(out.sack!)).toEqual(Array.from(sack));
    expect(Buffer.from(out.payload).toString()).toBe('abc');
    const second = encodeControl(header({ type: ST_STATE, connectionId: 9, timestampUs: 5, seqNr: 1 }));
    expect(decodePacketInto(second, out)).toBeNull();
    const fresh = decodePacket(second);
    expect(fresh.ok && { ...fresh.packet, payload: Array.from(fresh.packet.payload) }).toEqual({
      ...out,
      payload: []
    });
    expect(out.sack).toBeNull();
    expect(out.payload.length).toBe(0);
    expect(decodePacketInto(second.subarray(0, 19), out)).toBe('short');
  });

  it('tells uTP from KRPC by the first byte', () => {
    expect(looksLikeUtp(encodeControl(header({ type: ST_SYN })))).toBe(true);
    expect(looksLikeUtp(Buffer.from('d1:ad2:id20:xxxxxxxxxxxxxxxxxxxxe1:q4:ping1:t2:aa1:y1:qe'))).toBe(false);
    expect(looksLikeUtp(new Uint8Array(10).fill(0x41))).toBe(false); // too short
  });

  it('restamps only the per-transmission fields', () => {
    const buf = encodePacket(header(), Buffer.from('data'));
    restampHeader(buf, 7, 8, 9, 10);
    const d = decodePacket(buf);
    expect(d.ok && d.packet).toMatchObject({
      timestampUs: 7,
      timestampDiffUs: 8,
      wndSize: 9,
      ackNr: 10,
      seqNr: 0xfffe,
      connectionId: 0x1234
    });
  });
});

describe('16-bit sequence numbers', () => {
  it('orders across the wrap', () => {
    expect(seqLess(65535, 0)).toBe(true);
    expect(seqLess(0, 65535)).toBe(false);
    expect(seqLess(65000, 100)).toBe(true);
    expect(seqLess(100, 65000)).toBe(false);
    expect(seqLess(5, 5)).toBe(false);
    expect(seqAdd(65535, 1)).toBe(0);
    expect(seqAdd(0, -1)).toBe(65535);
    expect(seqDiff(2, 65534)).toBe(4);
  });

  it('is a strict order within half the circle', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 0x7fff }), (a, d) => {
        const b = seqAdd(a, d);
        expect(seqLess(a, b)).toBe(true);
        expect(seqLess(b, a)).toBe(false);
        expect(seqDiff(b, a)).toBe(d);
      })
    );
  });

  it('compares 32-bit microsecond timestamps across their wrap', () => {
    expect(u32Less(0xffffff00, 0x10)).toBe(true);
    expect(u32Diff(0x10, 0xffffff00)).toBe(0x110);
  });
});

describe('SeqRing', () => {
  it('stores a sliding window of sequence numbers across the wrap, growing on collisions', () => {
    const r = new SeqRing<number>(4);
    for (let i = 0; i < 100; i++) r.set(seqAdd(65500, i), i);
    expect(r.size).toBe(100);
    for (let i = 0; i < 100; i++) expect(r.get(seqAdd(65500, i))).toBe(i);
    expect(r.get(65499)).toBeUndefined();
    expect(r.delete(seqAdd(65500, 50))).toBe(50);
    expect(r.has(seqAdd(65500, 50))).toBe(false);
    expect(r.size).toBe(99);
    r.clear();
    expect(r.size).toBe(0);
  });
});
