import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { WireFramer, type FrameItem } from '../../lib/wire/framer.js';
import {
  decodeHandshake,
  encodeHandshake,
  encodeMessage,
  encodePieceHeader,
  encodeRequest,
  type WireMessage
} from '../../lib/wire/messages.js';
import { ProtocolError } from '../../lib/wire/errors.js';
import { bencodeValueEnd } from '../../lib/util/bencode-scan.js';

const block = Uint8Array.from({ length: 16_384 }, (_, i) => (i * 7) & 0xff);

const samples: WireMessage[] = [
  { type: 'keep_alive' },
  { type: 'choke' },
  { type: 'unchoke' },
  { type: 'interested' },
  { type: 'not_interested' },
  { type: 'have', index: 0xfffffffe },
  { type: 'bitfield', bitfield: new Uint8Array([0xff, 0x01, 0x80]) },
  { type: 'request', index: 1, begin: 16_384, length: 16_384 },
  { type: 'piece', index: 2, begin: 32_768, block },
  { type: 'cancel', index: 3, begin: 0, length: 1000 },
  { type: 'port', port: 6881 },
  { type: 'suggest', index: 4 },
  { type: 'have_all' },
  { type: 'have_none' },
  { type: 'reject', index: 5, begin: 16_384, length: 16_384 },
  { type: 'allowed_fast', index: 6 },
  { type: 'extended', extId: 0, payload: new TextEncoder().encode('d1:md11:ut_metadatai1eee') },
  { type: 'extended', extId: 3, payload: new Uint8Array([1, 2, 3]) },
  { type: 'unknown', id: 21, payload: new Uint8Array([9, 9]) }
];

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Feed `bytes` cut at the given offsets. */
function feedSplit(framer: WireFramer, bytes: Uint8Array, cuts: number[]): FrameItem[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: FrameItem[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(...framer.feed(bytes.subarray(prev, p)));
    prev = p;
  }
  return out;
}

function errorOf(items: FrameItem[]): ProtocolError | undefined {
  const last = items[items.length - 1];
  return last?.type === 'error' ? last.error : undefined;
}

const allBytes = concat(samples.map(encodeMessage));

/** Fast structural equality for messages holding big byte arrays (jest's toEqual is slow on them). */
function expectMessages(items: FrameItem[], expected: WireMessage[]): void {
  expect(items.map((i) => i.type)).toEqual(expected.map((m) => m.type));
  items.forEach((item, i) => {
    if (item.type === 'error' || item.type === 'handshake_head' || item.type === 'handshake_peer_id')
      throw new Error(item.type);
    expect(Buffer.from(encodeMessage(item)).equals(encodeMessage(expected[i]!))).toBe(true);
  });
}

/**
 * Feed `stream` through one read buffer that is overwritten after each feed's items are
 * handled (what a chunksReused stream does), cut at `points`; piece blocks are copied during
 * the feed's turn, as PeerWire's consumer does.
 */
function feedReused(framer: WireFramer, stream: Uint8Array, points: number[]): FrameItem[] {
  const readBuffer = new Uint8Array(stream.length);
  const items: FrameItem[] = [];
  let prev = 0;
  for (const p of [...points, stream.length]) {
    readBuffer.set(stream.subarray(prev, p));
    for (const item of framer.feed(readBuffer.subarray(0, p - prev)))
      items.push(item.type === 'piece' ? { ...item, block: new Uint8Array(item.block) } : item);
    readBuffer.fill(0xee);
    prev = p;
  }
  return items;
}

describe('wire framer', () => {
  it('round-trips every message type', () => {
    for (const m of samples) {
      expect(new WireFramer().feed(encodeMessage(m))).toEqual([m]);
    }
  });

  it('parses a stream fed whole, in 1-byte feeds and in odd-sized chunks', () => {
    expectMessages(new WireFramer().feed(allBytes), samples);
    const f1 = new WireFramer();
    const byByte: FrameItem[] = [];
    for (let i = 0; i < allBytes.length; i++) byByte.push(...f1.feed(allBytes.subarray(i, i + 1)));
    expectMessages(byByte, samples);
    for (const size of [2, 3, 5, 7, 13, 1000, 16_397]) {
      const f = new WireFramer();
      const out: FrameItem[] = [];
      for (let i = 0; i < allBytes.length; i += size) out.push(...f.feed(allBytes.subarray(i, i + size)));
      expectMessages(out, samples);
      expect(f.bufferedBytes).toBe(0);
    }
  });

  it('with chunksReused, copies what outlives a feed: any split through one overwritten buffer', () => {
    const handshake = encodeHandshake({
      infoHash: new Uint8Array(20).fill(4),
      peerId: new Uint8Array(20).fill(5)
    });
    const stream = concat([handshake, allBytes, allBytes]);
    const expected = [...samples, ...samples];
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 40 }), (cuts) => {
        const framer = new WireFramer({ handshake: true, chunksReused: true });
        const items = feedReused(
          framer,
          stream,
          [...new Set(cuts)].sort((a, b) => a - b)
        );
        expect(items[0]).toMatchObject({
          type: 'handshake_head',
          head: { infoHash: new Uint8Array(20).fill(4) }
        });
        expect(items[1]).toEqual({ type: 'handshake_peer_id', peerId: new Uint8Array(20).fill(5) });
        expectMessages(items.slice(2), expected);
        expect(framer.bufferedBytes).toBe(0);
      }),
      { numRuns: 60 }
    );
  });

  it('with chunksReused, parses a stream cut at every offset, and at every second offset after', () => {
    const piece = (index: number): WireMessage => ({ type: 'piece', index, begin: 0, block });
    const messages: WireMessage[] = [
      { type: 'request', index: 1, begin: 0, length: 16_384 },
      piece(7),
      { type: 'extended', extId: 2, payload: new Uint8Array(300).fill(3) },
      piece(8),
      { type: 'have', index: 9 }
    ];
    const stream = concat(messages.map(encodeMessage));
    // What was parsed, encoded again, must be the stream (one comparison per split, so that
    // all ~33,000 of them run in a few seconds).
    const wrong: string[] = [];
    const check = (points: number[]): void => {
      const framer = new WireFramer({ chunksReused: true });
      const items = feedReused(framer, stream, points);
      const again = items.every((i) => i.type !== 'error' && !i.type.startsWith('handshake'))
        ? concat(items.map((i) => encodeMessage(i as WireMessage)))
        : new Uint8Array(0);
      if (framer.bufferedBytes !== 0 || Buffer.compare(again, stream) !== 0) wrong.push(points.join('+'));
    };
    for (let cut = 0; cut <= stream.length; cut++) check([cut]);
    // Two cuts: a message begun in one read, carried, continued in the next, completed in a third.
    for (let cut = 0; cut <= stream.length; cut += 7)
      for (const gap of [1, 2, 5, 13, 4_000, 16_390, 16_397])
        if (cut + gap <= stream.length) check([cut, cut + gap]);
    expect(wrong).toEqual([]);
  });

  it('with chunksReused, completes blocks split across reads in two reused buffers, not one new buffer each', () => {
    const pieces: WireMessage[] = Array.from({ length: 64 }, (_, i) => ({
      type: 'piece',
      index: i,
      begin: 0,
      block
    }));
    const stream = concat(pieces.map(encodeMessage));
    const framer = new WireFramer({ chunksReused: true });
    const readBuffer = new Uint8Array(65_536);
    const blockBuffers = new Set<ArrayBufferLike>();
    let split = 0;
    const got: FrameItem[] = [];
    for (let at = 0; at < stream.length; at += 65_536) {
      const read = stream.subarray(at, at + 65_536);
      readBuffer.set(read);
      for (const item of framer.feed(readBuffer.subarray(0, read.length))) {
        if (item.type === 'piece' && item.block.buffer !== readBuffer.buffer) {
          split++;
          blockBuffers.add(item.block.buffer);
        }
        got.push(item.type === 'piece' ? { ...item, block: new Uint8Array(item.block) } : item);
      }
      readBuffer.fill(0xee);
    }
    expectMessages(got, pieces);
    expect(split).toBeGreaterThan(10); // 64 KiB reads of 16,397-byte messages split most reads
    expect(blockBuffers.size).toBeLessThanOrEqual(2);
    expect(framer.retainedBytes).toBeLessThanOrEqual(2 * (32 * 1024 + 64));
  });

  it('with chunksReused, a carry grown for a big message is dropped once nothing is buffered', () => {
    const big: WireMessage = { type: 'extended', extId: 1, payload: new Uint8Array(100_000).fill(9) };
    const small: WireMessage = { type: 'have', index: 1 };
    const stream = concat([encodeMessage(big), encodeMessage(small)]);
    const framer = new WireFramer({ chunksReused: true });
    const cuts = Array.from({ length: 20 }, (_, i) => 1 + i * 5_000);
    const items = feedReused(framer, stream.subarray(0, cuts[cuts.length - 1]! + 1), cuts);
    expect(items).toEqual([]);
    expect(framer.retainedBytes).toBeGreaterThanOrEqual(95_000); // the message's beginning, kept
    const rest = feedReused(framer, stream.subarray(cuts[cuts.length - 1]! + 1), []);
    expectMessages(rest, [big, small]);
    expect(framer.bufferedBytes).toBe(0);
    expect(framer.retainedBytes).toBeLessThanOrEqual(32 * 1024 + 64);
  });

  it('with chunksReused, releaseIdle drops carry buffers no feed needed since the previous call', () => {
    const pieces: WireMessage[] = [0, 1, 2].map((i) => ({ type: 'piece', index: i, begin: 0, block }));
    const stream = concat(pieces.map(encodeMessage));
    const framer = new WireFramer({ chunksReused: true });
    // A read ending inside the first block, then the rest: the carry is used.
    expectMessages(feedReused(framer, stream.subarray(0, 20_000), [10_000]), [pieces[0]!]);
    expect(framer.retainedBytes).toBeGreaterThan(0);
    expect(framer.releaseIdle()).toBe(0); // used since the last call (none yet): kept
    expect(framer.retainedBytes).toBeGreaterThan(0);
    // The rest of the second block completes it; nothing is left buffered and no tail is kept.
    expectMessages(feedReused(framer, stream.subarray(20_000, 2 * 16_397), []), [pieces[1]!]);
    expect(framer.bufferedBytes).toBe(0);
    const held = framer.retainedBytes;
    expect(held).toBeGreaterThan(0);
    expect(framer.releaseIdle()).toBe(held); // nothing needed them since the previous call
    expect(framer.retainedBytes).toBe(0);
    expect(framer.releaseIdle()).toBe(0);
    // Later split messages get fresh carries and parse as before.
    expectMessages(feedReused(framer, stream.subarray(2 * 16_397), [5, 9_000]), [pieces[2]!]);
  });

  it('with chunksReused, releaseIdle never drops the beginning of a message', () => {
    const m: WireMessage = { type: 'piece', index: 7, begin: 0, block };
    const bytes = encodeMessage(m);
    const framer = new WireFramer({ chunksReused: true });
    expect(feedReused(framer, bytes.subarray(0, 6_000), [])).toEqual([]);
    expect(framer.bufferedBytes).toBe(6_000 - 4); // the length prefix is read
    for (let i = 0; i < 3; i++) expect(framer.releaseIdle()).toBe(0);
    expectMessages(feedReused(framer, bytes.subarray(6_000), []), [m]);
  });

  it('returns piece blocks as zero-copy views when the message is inside one chunk', () => {
    const chunk = concat([
      encodePieceHeader(1, 0, block.length),
      block,
      encodeRequest({ index: 1, begin: 0, length: 5 })
    ]);
    const [piece] = new WireFramer().feed(chunk);
    expect(piece?.type).toBe('piece');
    if (piece?.type !== 'piece') return;
    expect(piece.block.buffer).toBe(chunk.buffer);
    expect(piece.block.byteOffset).toBe(13);
    expect(piece.block).toEqual(block);
  });

  it('keeps the block a view when the header and the block arrive in separate chunks', () => {
    const f = new WireFramer();
    const head = encodePieceHeader(3, 16_384, block.length);
    expect(f.feed(head.subarray(0, 6))).toEqual([]);
    expect(f.feed(head.subarray(6))).toEqual([]);
    const chunk = block.slice();
    const [piece] = f.feed(chunk);
    if (piece?.type !== 'piece') throw new Error('no piece');
    expect(piece.block.buffer).toBe(chunk.buffer);
    expect([piece.index, piece.begin, piece.block.length]).toEqual([3, 16_384, 16_384]);
  });

  it('parses the handshake in two parts, then messages, with any split', () => {
    const infoHash = new Uint8Array(20).fill(0xaa);
    const peerId = new Uint8Array(20).fill(0xbb);
    const hs = encodeHandshake({ infoHash, peerId, extended: true, fast: true, dht: true });
    const bytes = concat([hs, encodeMessage({ type: 'have_all' })]);
    for (const size of [1, 3, 47, 48, 49, 68, 100]) {
      const f = new WireFramer({ handshake: true });
      const out: FrameItem[] = [];
      for (let i = 0; i < bytes.length; i += size) out.push(...f.feed(bytes.subarray(i, i + size)));
      expect(out.map((x) => x.type)).toEqual(['handshake_head', 'handshake_peer_id', 'have_all']);
      const head = out[0];
      if (head?.type !== 'handshake_head') throw new Error('no head');
      expect(head.head).toMatchObject({ infoHash, extended: true, fast: true, dht: true });
      expect(out[1]).toEqual({ type: 'handshake_peer_id', peerId });
    }
  });

  it('encodes reserved bits as BEP 10 / 6 / 5 define them', () => {
    const hs = encodeHandshake({
      infoHash: new Uint8Array(20),
      peerId: new Uint8Array(20),
      extended: true,
      fast: true,
      dht: true
    });
    expect(hs[0]).toBe(19);
    expect(new TextDecoder().decode(hs.subarray(1, 20))).toBe('BitTorrent protocol');
    expect([...hs.subarray(20, 28)]).toEqual([0, 0, 0, 0, 0, 0x10, 0, 0x05]);
    expect(decodeHandshake(hs)).toMatchObject({ extended: true, fast: true, dht: true });
    const plain = encodeHandshake({ infoHash: new Uint8Array(20), peerId: new Uint8Array(20) });
    expect(decodeHandshake(plain)).toMatchObject({ extended: false, fast: false, dht: false });
    expect(decodeHandshake(plain.subarray(0, 67))).toBeNull();
  });

  it('rejects a non-BitTorrent handshake at the first byte', () => {
    const f = new WireFramer({ handshake: true });
    expect(errorOf(f.feed(new TextEncoder().encode('GET / HTTP/1.1\r\n')))?.reason).toBe('bad-handshake');
    const g = new WireFramer({ handshake: true });
    const bad = encodeHandshake({ infoHash: new Uint8Array(20), peerId: new Uint8Array(20) });
    bad[5] = 0x21;
    expect(errorOf(g.feed(bad))?.reason).toBe('bad-handshake');
  });

  it('rejects an oversized length prefix before buffering the body, then stays failed', () => {
    const f = new WireFramer();
    const prefix = new Uint8Array([0x00, 0x10, 0x00, 0x00]); // 1 MiB
    const items = f.feed(prefix);
    expect(items).toHaveLength(1);
    const err = errorOf(items);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err?.code).toBe('ERR_PROTOCOL');
    expect(err?.reason).toBe('message-too-long');
    expect(f.failed).toBe(true);
    expect(f.feed(encodeMessage({ type: 'choke' }))).toEqual([]);
    expect(f.bufferedBytes).toBe(0);
  });

  it('admits large bitfields only when the piece count asks for them', () => {
    const pieces = 2 ** 21; // 256 KiB bitfield
    const bitfield = new Uint8Array(pieces / 8);
    const msg = encodeMessage({ type: 'bitfield', bitfield });
    expect(errorOf(new WireFramer().feed(msg))?.reason).toBe('message-too-long');
    const f = new WireFramer({ pieceCount: pieces });
    expectMessages(f.feed(msg), [{ type: 'bitfield', bitfield }]);
    // A non-bitfield message of that size is still refused, as soon as its id byte is seen.
    const big = encodeMessage({ type: 'unknown', id: 30, payload: new Uint8Array(bitfield.length) });
    expect(errorOf(new WireFramer({ pieceCount: pieces }).feed(big.subarray(0, 5)))?.reason).toBe(
      'message-too-long'
    );
    // Exact bitfield length once the piece count is known.
    expect(
      errorOf(
        new WireFramer({ pieceCount: 9 }).feed(
          encodeMessage({ type: 'bitfield', bitfield: new Uint8Array(1) })
        )
      )?.reason
    ).toBe('bad-payload-length');
  });

  it('honours a configured max message length', () => {
    const f = new WireFramer({ maxMessageLength: 100 });
    expect(
      errorOf(f.feed(encodeMessage({ type: 'extended', extId: 1, payload: new Uint8Array(99) })))?.reason
    ).toBe('message-too-long');
    expect(
      new WireFramer({ maxMessageLength: 101 }).feed(
        encodeMessage({ type: 'extended', extId: 1, payload: new Uint8Array(99) })
      )
    ).toHaveLength(1);
  });

  it('validates payload lengths per message type', () => {
    const raw = (id: number, payloadLength: number): Uint8Array => {
      const b = new Uint8Array(5 + payloadLength);
      new DataView(b.buffer).setUint32(0, 1 + payloadLength);
      b[4] = id;
      return b;
    };
    const cases: [number, number][] = [
      [0, 1],
      [1, 4],
      [2, 2],
      [3, 1],
      [14, 1],
      [15, 3], // bare messages carry nothing
      [4, 3],
      [4, 5],
      [13, 0],
      [17, 8], // have / suggest / allowed_fast: 4 bytes
      [6, 11],
      [8, 13],
      [16, 0], // request / cancel / reject: 12 bytes
      [7, 7],
      [7, 0], // piece: >= 8
      [9, 1],
      [9, 3], // port: 2
      [20, 0] // extended: >= 1
    ];
    for (const [id, len] of cases) {
      expect([id, len, errorOf(new WireFramer().feed(raw(id, len)))?.reason]).toEqual([
        id,
        len,
        'bad-payload-length'
      ]);
    }
    expect(new WireFramer().feed(raw(7, 8))).toEqual([
      { type: 'piece', index: 0, begin: 0, block: new Uint8Array(0) }
    ]);
  });

  it('checks block lengths and piece indexes', () => {
    expect(errorOf(new WireFramer().feed(encodeRequest({ index: 0, begin: 0, length: 0 })))?.reason).toBe(
      'bad-block-length'
    );
    expect(
      errorOf(new WireFramer().feed(encodeRequest({ index: 0, begin: 0, length: 2 ** 17 + 1 })))?.reason
    ).toBe('bad-block-length');
    expect(
      errorOf(
        new WireFramer({ maxBlockLength: 16_384 }).feed(encodeRequest({ index: 0, begin: 0, length: 16_385 }))
      )?.reason
    ).toBe('bad-block-length');
    const f = new WireFramer();
    expect(f.feed(encodeMessage({ type: 'have', index: 10 }))).toHaveLength(1);
    f.setPieceCount(10);
    expect(errorOf(f.feed(encodeMessage({ type: 'have', index: 10 })))?.reason).toBe('bad-piece-index');
    expect(
      errorOf(
        new WireFramer({ pieceCount: 3 }).feed(encodeMessage({ type: 'piece', index: 3, begin: 0, block }))
      )?.reason
    ).toBe('bad-piece-index');
  });

  it('never throws on random bytes, and an error is always the last item', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (hs, bytes, cuts) => {
          const f = new WireFramer({ handshake: hs, maxMessageLength: 2048 });
          const items = feedSplit(f, bytes, cuts);
          const errors = items.filter((i) => i.type === 'error');
          expect(errors.length).toBeLessThanOrEqual(1);
          if (errors.length === 1) expect(items[items.length - 1]?.type).toBe('error');
        }
      ),
      { numRuns: 500, seed: 42 }
    );
  });

  it('never throws on mutated valid streams', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(allBytes.length - 1), fc.nat(255)), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (flips, cuts) => {
          const bytes = allBytes.slice();
          for (const [at, v] of flips) bytes[at] = v;
          expect(() => feedSplit(new WireFramer({ pieceCount: 24 }), bytes, cuts)).not.toThrow();
        }
      ),
      { numRuns: 300, seed: 7 }
    );
  });

  it('round-trips valid messages under random chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(allBytes.length), { maxLength: 40 }), (cuts) => {
        expectMessages(feedSplit(new WireFramer(), allBytes, cuts), samples);
      }),
      { numRuns: 200, seed: 3 }
    );
  });

  it('finds the end of bencoded values and refuses hostile ones', () => {
    const enc = new TextEncoder();
    expect(bencodeValueEnd(enc.encode('d8:msg_typei1e5:piecei0eexxxx'))).toBe(25);
    expect(bencodeValueEnd(enc.encode('d1:a-3:xe'))).toBe(-1); // hangs bencode@4's decoder
    expect(bencodeValueEnd(enc.encode('5:ab'))).toBe(-1);
    expect(bencodeValueEnd(enc.encode('i1.5e'))).toBe(-1);
    expect(bencodeValueEnd(enc.encode('l'.repeat(100) + 'e'.repeat(100)))).toBe(-1);
    expect(bencodeValueEnd(enc.encode('li1el4:spamee'))).toBe(13);
  });
});
