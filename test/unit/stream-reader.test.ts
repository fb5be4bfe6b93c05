/**
 * File streams over the built-in engine in virtual time (engines on in-memory pipes, one
 * rate-capped seeder): a reader at 90% gets its bytes long before the download completes, a
 * seek moves the window, several readers at once, the web stream, backpressure, priorities.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Readable } from 'node:stream';
import type { BitTorrentEngine } from '../../lib/engine/bittorrent-engine.js';
import { createTorrentFromBuffer } from '../../lib/torrent/create.js';
import { seededRandom } from '../../lib/util/random.js';
import { fileSource, torrentFiles, type TorrentFile } from '../../lib/stream/torrent-file.js';
import { multiFileTorrent, PipeNet } from '../support/pipe-net.js';

const KiB = 1024;
const RATE = 512 * KiB;

let net: PipeNet;
afterEach(async () => {
  await net.destroyAll();
});

/** A rate-capped seeder and a leecher connected to it, the leecher's files once known. */
async function swarm(data: Uint8Array, pieceLength = 64 * KiB, extra = {}) {
  net = new PipeNet();
  const info = createTorrentFromBuffer('video.bin', data, pieceLength);
  const seed = await net.seeder(info, data, { uploadLimit: RATE });
  const down = await net.leecher(info.infoHash, extra);
  down.engine.addPeer(seed.address, 'manual');
  await net.time.settle(down.engine.metadata());
  return { info, engine: down.engine, files: filesOf(down.engine) };
}

function filesOf(engine: BitTorrentEngine): TorrentFile[] {
  return torrentFiles(fileSource(engine)!, engine.info!);
}

/** Collect a Readable's chunks with the virtual time each arrived. */
function record(stream: Readable, now: () => number) {
  const chunks: Buffer[] = [];
  const r = {
    first: -1,
    ended: false,
    error: undefined as Error | undefined,
    bytes: () => Buffer.concat(chunks)
  };
  stream.on('data', (c: Buffer) => {
    if (r.first < 0) r.first = now();
    chunks.push(c);
  });
  stream.on('end', () => (r.ended = true));
  stream.on('error', (e) => (r.error = e));
  return r;
}

describe('file streams while downloading', () => {
  it('a reader at 90% gets its bytes long before the download completes', async () => {
    const data = seededRandom(11).bytes(2048 * KiB);
    const { engine, files } = await swarm(data);
    const file = files[0]!;
    const start = Math.floor(file.length * 0.9);
    const t0 = net.time.now();
    const r = record(file.createReadStream({ start }), () => net.time.now());
    let doneAt = -1;
    engine.on('done', () => (doneAt = net.time.now()));
    await net.time.until('the read to end', () => r.ended, { maxMs: 60_000 });
    await net.time.until('the download to complete', () => doneAt >= 0, { maxMs: 60_000 });
    expect(r.bytes().equals(Buffer.from(data.subarray(start)))).toBe(true);
    const ttfb = r.first - t0;
    const full = doneAt - t0;
    // ~4 s at 512 KiB/s for the whole file; the first byte needs one 64 KiB piece (~0.13 s).
    expect(ttfb).toBeLessThan(full / 8);
    expect(ttfb).toBeLessThan(600);
  }, 60_000);

  it('a seek during a read moves the window: the new position arrives quickly', async () => {
    const data = seededRandom(12).bytes(2048 * KiB);
    const { files } = await swarm(data);
    const file = files[0]!;
    const reader = file.reader({ start: 200 * KiB });
    const first = await net.time.settle(reader.next());
    expect(Buffer.from(first!).equals(Buffer.from(data.subarray(200 * KiB, 200 * KiB + first!.length)))).toBe(
      true
    );
    await net.time.run(300); // the pipeline to the seeder fills with other pieces meanwhile
    const target = 1500 * KiB + 100;
    reader.seek(target);
    const t0 = net.time.now();
    const chunk = await net.time.settle(reader.next());
    const waited = net.time.now() - t0;
    expect(Buffer.from(chunk!).equals(Buffer.from(data.subarray(target, target + chunk!.length)))).toBe(true);
    // Behind a full pipeline (about a second of data at this rate) it would wait ~1 s: the
    // queued requests are cancelled so the new piece (~0.13 s of data) comes first.
    expect(waited).toBeLessThan(500);
    reader.close();
  }, 60_000);

  it('several readers at once, a web ReadableStream, and the whole file byte-identical', async () => {
    const data = seededRandom(13).bytes(1024 * KiB + 333);
    const { files } = await swarm(data);
    const file = files[0]!;
    const a = record(file.createReadStream({ start: 100, end: 300 * KiB }), () => net.time.now());
    const b = record(file.createReadStream({ start: 700 * KiB }), () => net.time.now());
    const web = file.stream();
    const chunks: Uint8Array[] = [];
    const reading = (async () => {
      for await (const c of web as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
    })();
    await net.time.until('both readers to end', () => a.ended && b.ended, { maxMs: 60_000 });
    await net.time.settle(reading, { maxMs: 60_000 });
    expect(a.bytes().equals(Buffer.from(data.subarray(100, 300 * KiB + 1)))).toBe(true);
    expect(b.bytes().equals(Buffer.from(data.subarray(700 * KiB)))).toBe(true);
    expect(Buffer.concat(chunks).equals(Buffer.from(data))).toBe(true);
  }, 60_000);

  it('backpressure: a paused reader holds no more than its buffer', async () => {
    const data = seededRandom(14).bytes(1024 * KiB);
    const { engine, files } = await swarm(data);
    const stream = files[0]!.createReadStream({ chunkBytes: 16 * KiB });
    stream.pause();
    stream.read(0); // start the flow into the buffer
    await net.time.settle(engine.done(), { maxMs: 60_000 });
    await net.time.run(50);
    expect(stream.readableLength).toBeLessThanOrEqual(32 * KiB);
    let read = 0;
    stream.on('data', (c: Buffer) => (read += c.length));
    stream.resume();
    await net.time.until('the stream to end', () => stream.readableEnded, { maxMs: 10_000 });
    expect(read).toBe(data.length);
  }, 60_000);

  it('rejects ranges outside the file', async () => {
    const data = seededRandom(15).bytes(100 * KiB);
    const { files } = await swarm(data);
    const file = files[0]!;
    expect(() => file.createReadStream({ start: -1 })).toThrow(/outside/);
    expect(() => file.createReadStream({ start: 0, end: file.length })).toThrow(/outside/);
    expect(() => file.stream({ start: 10, end: 5 })).toThrow(/outside/);
    expect(() => file.createReadStream({ start: 1.5 })).toThrow(/outside/);
  });
});

describe('per-file priorities while running', () => {
  it('skip, high and changes while running; reading a skipped file wants it again', async () => {
    net = new PipeNet();
    const { info, data } = multiFileTorrent(
      [
        { name: 'a.bin', length: 200 * KiB },
        { name: 'b.bin', length: 300 * KiB },
        { name: 'c.bin', length: 100 * KiB }
      ],
      32 * KiB,
      21
    );
    const seed = await net.seeder(info, data, { uploadLimit: RATE });
    const down = await net.leecher(info.infoHash, { selectFiles: [0] });
    down.engine.addPeer(seed.address, 'manual');
    await net.time.settle(down.engine.metadata());
    const files = filesOf(down.engine);
    expect(files.map((f) => f.priority)).toEqual(['normal', 'skip', 'skip']);
    files[2]!.setPriority('high');
    let dones = 0;
    down.engine.on('done', () => dones++);
    await net.time.settle(down.engine.done(), { maxMs: 60_000 });
    expect(dones).toBe(1);
    const p = down.engine.progress();
    // a (200 KiB: pieces 0-6) and c (100 KiB from 500 KiB: pieces 15-18), nothing of b's middle.
    expect(p.totalPieces).toBe(7 + 4);
    expect(down.engine.hasPiece(10)).toBe(false);
    // Reading b makes it wanted: the engine downloads again and completes again.
    const r = record(files[1]!.createReadStream(), () => net.time.now());
    expect(files[1]!.priority).toBe('normal');
    expect(down.engine.complete).toBe(false);
    // Done, it closed its connection to the seed (two seeds have nothing to trade); wanting more,
    // it wants peers again, and discovery (a Swarm's DHT source) brings them back.
    expect(down.engine.wantsPeers()).toBe(true);
    down.engine.addPeer(seed.address, 'manual');
    await net.time.until('b to be read', () => r.ended, { maxMs: 60_000 });
    expect(r.bytes().equals(Buffer.from(data.subarray(200 * KiB, 500 * KiB)))).toBe(true);
    await net.time.until('done again', () => dones === 2, { maxMs: 10_000 });
    expect(down.engine.progress().totalPieces).toBe(info.pieceCount);
  }, 60_000);
});
