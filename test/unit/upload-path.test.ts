/**
 * The upload path: PieceCache read-ahead (dedup, bounds, eviction protection, expiry, errors),
 * PeerWire.pieces (several blocks in one gathered write, framing and backpressure), FsStorage
 * reads without zero-fill (pad files still read as zeros), and a seed engine sending several
 * blocks per write and reading each piece once, capped and uncapped.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BitTorrentEngine } from '../../lib/engine/bittorrent-engine.js';
import { type BitTorrentEngineOptions } from '../../lib/engine/engine-options.js';
import { FsStorage, type FsStorageLayout } from '../../lib/engine/storage/fs-storage.js';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import { PieceCache } from '../../lib/engine/upload/piece-cache.js';
import type { Storage } from '../../lib/engine/storage/storage.js';
import { createTorrentFromBuffer } from '../../lib/torrent/create.js';
import type { TorrentInfo } from '../../lib/torrent/metainfo.js';
import { seededRandom } from '../../lib/util/random.js';
import { WireFramer, type FrameItem } from '../../lib/wire/framer.js';
import { pipePair } from '../../lib/wire/memory-stream.js';
import { encodeHandshake } from '../../lib/wire/messages.js';
import { PeerWire } from '../../lib/wire/peer-wire.js';
import type { WireStream } from '../../lib/net/stream.js';
import { FakeClock } from '../support/fake-clock.js';
import { VirtualTime } from '../support/virtual-time.js';

const KiB = 1024;

async function flush(rounds = 8): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A storage whose piece reads wait until the test releases them (and are counted). */
function gatedStorage(info: TorrentInfo, data: Uint8Array) {
  const inner = MemoryStorage.fromData(info, data);
  const reads: number[] = [];
  const pending: { piece: number; release: (fail?: boolean) => void }[] = [];
  const storage = {
    ...inner,
    readPiece: (piece: number) => {
      reads.push(piece);
      return new Promise<Uint8Array>((resolve, reject) => {
        pending.push({
          piece,
          release: (fail) =>
            fail ? reject(new Error(`read ${piece} failed`)) : resolve(inner.readPiece(piece))
        });
      });
    }
  } as unknown as Storage;
  const release = async (piece: number, fail = false): Promise<void> => {
    const i = pending.findIndex((p) => p.piece === piece);
    pending.splice(i, 1)[0]!.release(fail);
    await flush(2);
  };
  return { storage, reads, pending, release };
}

describe('PieceCache read-ahead', () => {
  const data = seededRandom(7).bytes(128 * KiB);
  const info = createTorrentFromBuffer('c.bin', data, 16 * KiB); // 8 pieces of 16 KiB

  it('never reads a piece twice and reports each read once, however often asked', async () => {
    const g = gatedStorage(info, data);
    const done: number[] = [];
    const cache = new PieceCache(g.storage, 128 * KiB, { maxAhead: 4, onRead: (p) => done.push(p) });
    expect(cache.prefetch(0)).toBe(true);
    expect(cache.prefetch(0)).toBe(true);
    const loaded = cache.load(0); // joins the prefetch
    void cache.load(0);
    expect(g.reads).toEqual([0]);
    await g.release(0);
    expect(await loaded).toBe(cache.get(0));
    expect(done).toEqual([0]);
    expect(cache.prefetch(0)).toBe(true); // cached: nothing to do
    expect(g.reads).toEqual([0]);
  });

  it('bounds the pieces read ahead and not yet served; serving one frees a slot', async () => {
    const g = gatedStorage(info, data);
    const cache = new PieceCache(g.storage, 128 * KiB, { maxAhead: 2 });
    expect([cache.prefetch(1), cache.prefetch(2), cache.prefetch(3)]).toEqual([true, true, false]);
    expect(g.reads).toEqual([1, 2]);
    await g.release(1);
    await g.release(2);
    expect(cache.aheadCount).toBe(2); // read, but not served yet: still counted
    expect(cache.prefetch(3)).toBe(false);
    expect(cache.get(1)).toBeDefined(); // served
    expect(cache.prefetch(3)).toBe(true);
    expect(g.reads).toEqual([1, 2, 3]);
    // A demand load is not read-ahead: it never counts against the budget.
    void cache.load(5);
    expect(cache.aheadCount).toBe(2);
  });

  it('does not evict pieces read ahead before they are served, until they expire', async () => {
    const g = gatedStorage(info, data);
    const clock = new FakeClock(0);
    const cache = new PieceCache(g.storage, 3 * 16 * KiB, { maxAhead: 2, aheadTtlMs: 1000, clock });
    cache.prefetch(0);
    cache.prefetch(1);
    await g.release(0);
    await g.release(1);
    // Demand loads of other pieces push the cache over its size: 0 and 1 stay.
    for (const p of [2, 3, 4]) {
      const l = cache.load(p);
      await g.release(p);
      await l;
    }
    expect(cache.get(0)).toBeDefined();
    expect(cache.get(1)).toBeDefined();
    expect(cache.size).toBe(3 * 16 * KiB);
    // Read ahead for a peer that never asks: protected only for aheadTtlMs.
    cache.prefetch(5);
    await g.release(5);
    const demand = async (p: number): Promise<void> => {
      const l = cache.load(p);
      await g.release(p);
      await l;
    };
    await demand(2); // evicts 0 (served, least recent)
    await demand(3); // evicts 1
    await demand(4); // 5 is now the least recent but protected: evicts 2
    expect([cache.has(5), cache.has(2)]).toEqual([true, false]);
    clock.advance(1500);
    expect(cache.aheadCount).toBe(0);
    await demand(6); // 5 expired: plain LRU again
    expect(cache.has(5)).toBe(false);
  });

  it('reports a failed read once (to onRead and to load callers) and frees its slot', async () => {
    const g = gatedStorage(info, data);
    const errors: string[] = [];
    const cache = new PieceCache(g.storage, 128 * KiB, {
      maxAhead: 1,
      onRead: (p, e) => e && errors.push(`${p}: ${e.message}`)
    });
    expect(cache.prefetch(3)).toBe(true);
    const waiting = cache.load(3);
    await g.release(3, true);
    await expect(waiting).rejects.toThrow('read 3 failed');
    expect(errors).toEqual(['3: read 3 failed']);
    expect(cache.aheadCount).toBe(0);
    expect(cache.has(3)).toBe(false);
  });

  it('does no read-ahead with maxAhead 0', () => {
    const g = gatedStorage(info, data);
    const cache = new PieceCache(g.storage, 128 * KiB, { maxAhead: 0 });
    expect(cache.prefetch(0)).toBe(false);
    expect(g.reads).toEqual([]);
  });
});

describe('PieceCache grown on need', () => {
  const data = seededRandom(9).bytes(16 * 16 * KiB);
  const info = createTorrentFromBuffer('g.bin', data, 16 * KiB); // 16 pieces of 16 KiB
  const make = (maxBytes: number, initialBytes: number) => {
    const inner = MemoryStorage.fromData(info, data);
    const reads: number[] = [];
    const storage = Object.create(inner) as MemoryStorage;
    storage.readPiece = (i: number) => (reads.push(i), inner.readPiece(i));
    return { cache: new PieceCache(storage, maxBytes, { initialBytes, maxAhead: 0 }), reads };
  };

  it('holds only its starting budget while nothing evicted is read again', async () => {
    const { cache, reads } = make(8 * 16 * KiB, 2 * 16 * KiB);
    for (let i = 0; i < 16; i++) await cache.load(i); // each piece once: no re-read
    expect(cache.capacity).toBe(2 * 16 * KiB);
    expect(cache.size).toBe(2 * 16 * KiB);
    expect(reads).toHaveLength(16);
  });

  it('grows by a piece for each evicted piece read again, up to its maximum', async () => {
    const { cache, reads } = make(4 * 16 * KiB, 2 * 16 * KiB);
    // A working set of 3 pieces cycled through a cache of 2: every read misses until it grows.
    for (let round = 0; round < 4; round++) for (const i of [0, 1, 2]) await cache.load(i);
    expect(cache.capacity).toBe(3 * 16 * KiB);
    expect(reads).toEqual([0, 1, 2, 0]); // 0 evicted by 2, read again: grown to 3; then all hit
    // A working set of 4: grows to the maximum of 4; then one of 6: never beyond.
    for (let round = 0; round < 3; round++) for (const i of [8, 9, 10, 11]) await cache.load(i);
    expect(cache.capacity).toBe(4 * 16 * KiB);
    for (let round = 0; round < 3; round++) for (const i of [0, 1, 2, 3, 4, 5]) await cache.load(i);
    expect(cache.capacity).toBe(4 * 16 * KiB);
    expect(cache.size).toBe(4 * 16 * KiB);
  });

  it('forgets evicted pieces a cache of its maximum would not hold either', async () => {
    const { cache } = make(3 * 16 * KiB, 2 * 16 * KiB);
    for (let i = 0; i < 6; i++) await cache.load(i); // evicts 0..3; remembers 1 piece's worth: 3
    await cache.load(0); // evicted long ago: no growth
    expect(cache.capacity).toBe(2 * 16 * KiB);
    await cache.load(4); // evicted just now (by 0): grows
    expect(cache.capacity).toBe(3 * 16 * KiB);
  });
});

describe('PieceCache reused buffers', () => {
  const data = seededRandom(8).bytes(100 * KiB);
  const info = createTorrentFromBuffer('r.bin', data, 16 * KiB); // 6 full pieces + one of 4 KiB
  const piece = (i: number): Uint8Array =>
    data.subarray(i * 16 * KiB, Math.min(data.length, (i + 1) * 16 * KiB));
  /** A storage that can read into a caller's buffer, like FsStorage. */
  const storage = (readInto = true): Storage => {
    const inner = MemoryStorage.fromData(info, data);
    return {
      ...inner,
      readPiece: async (i: number) => new Uint8Array(await inner.readPiece(i)),
      ...(readInto
        ? {
            readInto: async (i: number, offset: number, target: Uint8Array) =>
              target.set(piece(i).subarray(offset, offset + target.length))
          }
        : {}),
      readBlock: inner.readBlock.bind(inner),
      writeBlock: inner.writeBlock.bind(inner),
      flush: inner.flush.bind(inner),
      close: inner.close.bind(inner)
    } as Storage;
  };
  const equal = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

  it('reads a piece into the buffer of an evicted one', async () => {
    const cache = new PieceCache(storage(), 2 * 16 * KiB, { layout: info });
    const d0 = await cache.load(0);
    await cache.load(1);
    await cache.load(2); // evicts 0
    expect(cache.freeBuffers).toBe(1);
    const d3 = await cache.load(3);
    expect(d3).toBe(d0); // the same memory, now holding piece 3
    expect(equal(d3, piece(3))).toBe(true);
    expect(cache.freeBuffers).toBe(1); // inserting 3 evicted 1
  });

  it('does not reuse a buffer lent to a write until the write gives it back', async () => {
    const cache = new PieceCache(storage(), 2 * 16 * KiB, { layout: info });
    const d0 = await cache.load(0);
    cache.lend(d0); // two writes hold views of piece 0
    cache.lend(d0);
    await cache.load(1);
    await cache.load(2); // evicts 0 while lent
    expect(cache.freeBuffers).toBe(0);
    const d3 = await cache.load(3); // a new buffer (0's is lent); inserting 3 evicts 1
    expect(d3).not.toBe(d0);
    expect(equal(d0, piece(0))).toBe(true); // what the writes hold is intact
    expect(cache.freeBuffers).toBe(1);
    cache.giveBack(d0);
    expect(cache.freeBuffers).toBe(1);
    cache.giveBack(d0); // the last write let go
    expect(cache.freeBuffers).toBe(2);
    const d4 = await cache.load(4);
    expect(d4).toBe(d0);
    expect(equal(d4, piece(4))).toBe(true);
  });

  it('never reuses the short last piece, foreign buffers, or without readInto or layout', async () => {
    const cases: [Storage, boolean][] = [
      [storage(false), true],
      [storage(), false]
    ];
    for (const [s, withLayout] of cases) {
      const cache = new PieceCache(s, 16 * KiB, withLayout ? { layout: info } : {});
      await cache.load(0);
      await cache.load(1);
      expect(cache.freeBuffers).toBe(0);
    }
    const cache = new PieceCache(storage(), 16 * KiB, { layout: info });
    await cache.load(6); // the last piece, 4 KiB: a fresh buffer of its own size
    cache.insert(5, new Uint8Array(piece(5))); // evicts 6; a buffer the cache did not allocate
    await cache.load(0); // evicts 5
    expect(cache.freeBuffers).toBe(0);
  });
});

describe('PeerWire.pieces', () => {
  const infoHash = new Uint8Array(20).fill(0x11);

  async function handshaken(highWaterMark?: number) {
    const clock = new FakeClock(1_000);
    const [sa, sb] = pipePair(highWaterMark === undefined ? {} : { highWaterMark });
    const writevs: number[] = [];
    const counted: WireStream = {
      write: (d) => sb.write(d),
      writev: (chunks) => (writevs.push(chunks.length), sb.writev!(chunks)),
      onData: (cb) => sb.onData(cb),
      onDrain: (cb) => sb.onDrain(cb),
      onClose: (cb) => sb.onClose(cb),
      close: () => sb.close()
    };
    const a = new PeerWire(sa, { role: 'initiator', peerId: new Uint8Array(20).fill(1), infoHash, clock });
    const b = new PeerWire(counted, {
      role: 'responder',
      peerId: new Uint8Array(20).fill(2),
      infoHash,
      clock
    });
    await flush();
    return { a, b, writevs };
  }

  it('sends several blocks as one gathered write that the peer frames as separate pieces', async () => {
    const { a, b, writevs } = await handshaken();
    const piece = seededRandom(3).bytes(48 * KiB);
    for (let i = 0; i < 3; i++) a.request(2, i * 16 * KiB, 16 * KiB);
    const got: { index: number; begin: number; block: Uint8Array }[] = [];
    a.on('piece', (m) => got.push(m));
    await flush();
    const before = { ...b.stats };
    expect(
      b.pieces(
        [0, 1, 2].map((i) => ({
          index: 2,
          begin: i * 16 * KiB,
          block: piece.subarray(i * 16 * KiB, (i + 1) * 16 * KiB)
        }))
      )
    ).toBe(true);
    expect(writevs.at(-1)).toBe(6); // header, block, header, block, header, block
    await flush();
    expect(got.map((m) => [m.index, m.begin])).toEqual([
      [2, 0],
      [2, 16 * KiB],
      [2, 32 * KiB]
    ]);
    expect(Buffer.concat(got.map((m) => m.block)).equals(Buffer.from(piece))).toBe(true);
    expect(b.stats.payloadBytesSent - before.payloadBytesSent).toBe(48 * KiB);
    expect(b.stats.bytesSent - before.bytesSent).toBe(48 * KiB + 3 * 13);
    expect(a.outstandingRequests).toBe(0);
    a.close();
  });

  it('reports backpressure once the batch passes the stream high-water mark, then drains', async () => {
    const { a, b } = await handshaken(32 * KiB);
    const block = new Uint8Array(16 * KiB);
    let drains = 0;
    b.on('drain', () => drains++);
    expect(b.pieces([{ index: 0, begin: 0, block }])).toBe(true);
    expect(
      b.pieces([
        { index: 0, begin: 16 * KiB, block },
        { index: 0, begin: 32 * KiB, block }
      ])
    ).toBe(false);
    await flush();
    expect(drains).toBe(1);
    a.close();
  });

  it('frames correctly over a stream without writev', async () => {
    const [raw, sb] = pipePair();
    const plain: WireStream = {
      write: (d) => sb.write(d),
      onData: (cb) => sb.onData(cb),
      onDrain: (cb) => sb.onDrain(cb),
      onClose: (cb) => sb.onClose(cb),
      close: () => sb.close()
    };
    const framer = new WireFramer({ handshake: true });
    const items: FrameItem[] = [];
    raw.onData((c) => items.push(...framer.feed(c)));
    const b = new PeerWire(plain, {
      role: 'responder',
      peerId: new Uint8Array(20).fill(2),
      infoHash,
      clock: new FakeClock()
    });
    raw.write(
      encodeHandshake({
        infoHash,
        peerId: new Uint8Array(20).fill(1),
        extended: false,
        fast: false,
        dht: false
      })
    );
    await flush();
    expect(b.handshakeComplete).toBe(true);
    b.pieces([
      { index: 1, begin: 0, block: new Uint8Array([1, 2, 3]) },
      { index: 1, begin: 3, block: new Uint8Array([4]) }
    ]);
    await flush();
    const pieces = items.filter((i) => i.type === 'piece') as Extract<FrameItem, { type: 'piece' }>[];
    expect(pieces.map((p) => [p.index, p.begin, [...p.block]])).toEqual([
      [1, 0, [1, 2, 3]],
      [1, 3, [4]]
    ]);
    b.close();
  });
});

describe('FsStorage reads', () => {
  let dir: string;
  afterEach(async () => {
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('fills every byte of a read: data from files, zeros for pad files, even in reused memory', async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-upload-'));
    const a = seededRandom(11).bytes(10_000);
    const b = seededRandom(12).bytes(20_000);
    const layout: FsStorageLayout = {
      files: [
        { path: ['a'], length: a.length, offset: 0 },
        { path: ['.pad', '6384'], length: 16 * KiB - a.length, offset: a.length, padding: true as const },
        { path: ['b'], length: b.length, offset: 16 * KiB }
      ],
      length: 16 * KiB + b.length,
      pieceLength: 16 * KiB,
      pieceCount: 3,
      pieceHashes: new Uint8Array(60)
    };
    await fsp.writeFile(join(dir, 'a'), a);
    await fsp.writeFile(join(dir, 'b'), b);
    const storage = new FsStorage(layout, dir);
    try {
      for (let round = 0; round < 20; round++) {
        // Freed, dirty buffers of the same size are what an unzeroed allocation may return.
        for (let i = 0; i < 4; i++) Buffer.allocUnsafeSlow(16 * KiB).fill(0xee);
        const p0 = await storage.readPiece(0);
        expect(Buffer.from(p0.subarray(0, a.length)).equals(Buffer.from(a))).toBe(true);
        expect(p0.subarray(a.length).every((x) => x === 0)).toBe(true);
        const p2 = await storage.readPiece(2);
        expect(Buffer.from(p2).equals(Buffer.from(b.subarray(16 * KiB)))).toBe(true);
        expect(Buffer.isBuffer(p0)).toBe(false); // a plain Uint8Array (slice() copies, as callers expect)
      }
    } finally {
      await storage.close();
    }
  });
});

describe('seed engine upload path', () => {
  const running: BitTorrentEngine[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((e) => e.destroy()));
  });

  /**
   * Seed -> `leechers` leechers over pipes (leechers only talk to the seed); counts the seed's
   * gathered writes (blocks per write) and piece reads.
   */
  async function transfer(options: Partial<BitTorrentEngineOptions>, leechers = 1) {
    const data = seededRandom(21).bytes(1024 * KiB + 5_000);
    const info = createTorrentFromBuffer('t.bin', data, 64 * KiB);
    const inner = MemoryStorage.fromData(info, data);
    const reads: number[] = [];
    // Same storage, reads counted (prototype methods stay reachable through Object.create).
    const storage = Object.create(inner) as MemoryStorage;
    storage.readPiece = (i: number) => (reads.push(i), inner.readPiece(i));
    const blocksPerWritev: number[] = [];
    const time = new VirtualTime();
    const seed = new BitTorrentEngine({
      clock: time.clock,
      infoHash: info.infoHash,
      info,
      storage,
      existing: 'complete',
      seed: true,
      tickMs: 200,
      connect: async () => {
        throw new Error('no dialing');
      },
      ...options
    });
    running.push(seed);
    await seed.start();
    const downs: BitTorrentEngine[] = [];
    for (let n = 0; n < leechers; n++) {
      const down = new BitTorrentEngine({
        clock: time.clock,
        infoHash: info.infoHash,
        info,
        storage: new MemoryStorage(info),
        seed: false,
        tickMs: 200,
        connect: async () => {
          const [mine, theirs] = pipePair();
          const counting: WireStream = {
            write: (d) => theirs.write(d),
            writev: (chunks) => {
              if (chunks.length >= 2) blocksPerWritev.push(Math.floor(chunks.length / 2));
              return theirs.writev!(chunks);
            },
            onData: (cb) => theirs.onData(cb),
            onDrain: (cb) => theirs.onDrain(cb),
            onClose: (cb) => theirs.onClose(cb),
            close: () => theirs.close()
          };
          seed.acceptConnection(counting, { host: `127.0.0.${10 + n}`, port: 50_001 });
          return mine;
        }
      });
      running.push(down);
      downs.push(down);
    }
    for (const down of downs) {
      await down.start();
      down.addPeer({ host: '127.0.0.8', port: 6881 }, 'manual');
    }
    await time.settle(Promise.all(downs.map((d) => d.done())));
    return { info, reads, blocksPerWritev, seed };
  }

  it('reads every piece once and sends several blocks per write', async () => {
    const { info, reads, blocksPerWritev, seed } = await transfer({});
    expect([...reads].sort((x, y) => x - y)).toEqual([...Array(info.pieceCount).keys()]);
    expect(blocksPerWritev.length).toBeGreaterThan(0);
    expect(seed.progress().uploaded).toBeGreaterThanOrEqual(info.length);
  });

  it('under an upload cap, waits for a large batch of tokens and sends it in one write', async () => {
    const { info, blocksPerWritev } = await transfer({ uploadLimit: 4096 * KiB });
    const blocks = Math.ceil(info.length / (16 * KiB));
    // A wake-up waits for 16 blocks of tokens (the burst here is 25 blocks): most blocks go in
    // writes of at least 8 (the first burst and queue ends may go in smaller ones).
    const inLarge = blocksPerWritev.filter((n) => n >= 8).reduce((s, n) => s + n, 0);
    expect(inLarge).toBeGreaterThan(blocks / 2);
  });

  it('a seed serving several peers by priority still writes each peer its blocks together', async () => {
    const { info, blocksPerWritev } = await transfer({ uploadLimit: 2048 * KiB }, 3);
    const blocks = 3 * Math.ceil(info.length / (16 * KiB));
    const sent = blocksPerWritev.reduce((s, n) => s + n, 0);
    expect(sent).toBeGreaterThanOrEqual(blocks);
    // Block by block, one write each, before batching per peer.
    expect(blocksPerWritev.length).toBeLessThan(sent / 3);
  });
});
