/**
 * The built-in engine end to end with no sockets: engines connected by in-memory pipes
 * (pipePair), each reachable at a made-up address. Metadata exchange, pieces, bans for corrupt
 * data, PEX, PORT, and peers that send malformed or oversized messages.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { BitTorrentEngine } from '../../lib/engine/bittorrent-engine.js';
import { type BitTorrentEngineOptions } from '../../lib/engine/engine-options.js';
import type { PeerBan } from '../../lib/engine/engine.js';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import type { Address } from '../../lib/net/address.js';
import { createTorrentFromBuffer } from '../../lib/torrent/create.js';
import type { TorrentInfo } from '../../lib/torrent/metainfo.js';
import { seededRandom } from '../../lib/util/random.js';
import { RateLimiter } from '../../lib/util/rate-limiter.js';
import { pipePair } from '../../lib/wire/memory-stream.js';
import { encodeHandshake, encodeMessage } from '../../lib/wire/messages.js';
import { WireFramer } from '../../lib/wire/framer.js';
import type { WireStream } from '../../lib/net/stream.js';
import { PipeNet, storedBytes } from '../support/pipe-net.js';

const KiB = 1024;

const running: BitTorrentEngine[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.destroy()));
});

function track<T extends BitTorrentEngine>(e: T): T {
  running.push(e);
  return e;
}

function content(size: number, seed: number): { data: Uint8Array; info: TorrentInfo } {
  const data = seededRandom(seed).bytes(size);
  return { data, info: createTorrentFromBuffer(`file-${seed}.bin`, data, 32 * KiB) };
}

/** A seed engine over `data` (which may differ from what `info` describes: a liar). */
async function seeder(
  net: PipeNet,
  info: TorrentInfo,
  data: Uint8Array,
  extra: Partial<BitTorrentEngineOptions> = {}
) {
  const address = net.address();
  const engine = track(
    await net.engine(address, {
      infoHash: info.infoHash,
      info,
      storage: MemoryStorage.fromData(info, data),
      existing: 'complete',
      seed: true,
      ...extra
    })
  );
  return { engine, address };
}

/** A downloader that knows only the infohash; its storage is created once the metadata arrives. */
async function leecher(net: PipeNet, infoHash: Uint8Array, extra: Partial<BitTorrentEngineOptions> = {}) {
  const address = net.address();
  const holder: { storage?: MemoryStorage } = {};
  const engine = track(
    await net.engine(address, {
      infoHash,
      storage: (info) => (holder.storage = new MemoryStorage(info)),
      seed: true,
      ...extra
    })
  );
  return { engine, address, holder };
}

describe('BitTorrentEngine over in-memory pipes', () => {
  it('fetches the metadata from a magnet-only start, downloads every piece, and learns the DHT port', async () => {
    const net = new PipeNet();
    const { data, info } = content(1024 * KiB + 1234, 1);
    const seed = await seeder(net, info, data, { dhtPort: 6999 });
    const down = await leecher(net, info.infoHash, { dhtPort: 7001 }); // BEP 5: PORT goes to peers with the DHT bit
    const events: string[] = [];
    const dhtNodes: Address[] = [];
    down.engine.on('metadata', () => events.push('metadata'));
    down.engine.on('done', () => events.push('done'));
    down.engine.on('dht-node', (n) => dhtNodes.push(n));
    expect(down.engine.wantsPeers()).toBe(true);
    down.engine.addPeer(seed.address, 'manual');

    const got = await net.time.settle(down.engine.metadata());
    expect(Buffer.from(got.infoBytes).equals(Buffer.from(info.infoBytes))).toBe(true);
    await net.time.settle(down.engine.done());
    expect(events).toEqual(['metadata', 'done']);
    expect((await storedBytes(down.holder.storage!, info)).equals(Buffer.from(data))).toBe(true);
    const p = down.engine.progress();
    expect(p).toMatchObject({
      verifiedPieces: info.pieceCount,
      totalPieces: info.pieceCount,
      verifiedBytes: data.length,
      totalBytes: data.length
    });
    expect(p.downloaded).toBeGreaterThanOrEqual(data.length);
    expect(seed.engine.progress().uploaded).toBeGreaterThanOrEqual(data.length);
    expect(down.engine.wantsPeers()).toBe(false);
    expect(dhtNodes).toEqual([{ host: seed.address.host, port: 6999 }]);
  });

  it('a downloader with seed: false stops itself after done; metadata()/done() resolve at once afterwards', async () => {
    const net = new PipeNet();
    const { data, info } = content(200 * KiB, 2);
    const seed = await seeder(net, info, data);
    const down = await leecher(net, info.infoHash, { seed: false });
    down.engine.addPeer(seed.address, 'manual');
    await net.time.settle(down.engine.done());
    await net.time.until('the downloader to disconnect', () => seed.engine.peerCount === 0);
    await expect(net.time.settle(down.engine.metadata())).resolves.toBe(down.engine.info);
    await expect(net.time.settle(down.engine.done())).resolves.toBeUndefined();
  });

  it('bans a peer that sends corrupt pieces, re-fetches them, and completes with correct data', async () => {
    const net = new PipeNet();
    const { data, info } = content(2048 * KiB, 3);
    const bad = Uint8Array.from(data, (b) => b ^ 0x5a);
    const good = await seeder(net, info, data);
    const liar = await seeder(net, info, bad);
    const down = await leecher(net, info.infoHash);
    const bans: PeerBan[] = [];
    down.engine.on('peer-banned', (b) => bans.push(b));
    down.engine.addPeer(liar.address, 'manual');
    down.engine.addPeer(good.address, 'manual');
    await net.time.settle(down.engine.done());
    expect((await storedBytes(down.holder.storage!, info)).equals(Buffer.from(data))).toBe(true);
    expect(bans.map((b) => b.address)).toEqual([liar.address]);
    expect(bans[0]!.reason).toBe('corrupt-piece');
    // Banned means not reconnected. The liar learns of the close through the pipe first
    // (hashing runs off the event loop, so how many turns that takes depends on the machine).
    await net.time.until('the liar to see the ban close its connection', () => liar.engine.peerCount === 0);
    down.engine.addPeer(liar.address, 'dht');
    await net.time.run(100);
    expect(liar.engine.peerCount).toBe(0);
  });

  it('two engines under one shared download cap stay within it together; raising it at run time lets them finish', async () => {
    const net = new PipeNet();
    const { data, info } = content(1024 * KiB, 6);
    const seed = await seeder(net, info, data);
    const shared = new RateLimiter({ rate: 64 * KiB, minBurst: 32 * KiB, clock: net.time.clock });
    const downs = [
      await leecher(net, info.infoHash, { info, sharedLimits: { download: shared } }),
      await leecher(net, info.infoHash, { info, sharedLimits: { download: shared } })
    ];
    for (const d of downs) d.engine.addPeer(seed.address, 'manual');
    const received = (): number => downs.reduce((n, d) => n + d.engine.progress().downloaded, 0);
    await net.time.until('both downloading', () => downs.every((d) => d.engine.progress().downloaded > 0));
    const start = received();
    await net.time.run(4000);
    // 4 s at 64 KiB/s, plus one burst and the blocks already requested (at most 2 x 32 KiB).
    const capped = received() - start;
    expect(capped).toBeGreaterThan(128 * KiB);
    expect(capped).toBeLessThanOrEqual(4 * 64 * KiB + 32 * KiB + 64 * KiB);
    shared.setRate(0);
    const lifted = net.time.now();
    await net.time.settle(Promise.all(downs.map((d) => d.engine.done())));
    expect(net.time.now() - lifted).toBeLessThan(3000);
    for (const d of downs)
      expect((await storedBytes(d.holder.storage!, info)).equals(Buffer.from(data))).toBe(true);
  });

  it('learns a third peer through PEX and connects to it', async () => {
    const net = new PipeNet();
    const { data, info } = content(512 * KiB, 4);
    const seed = await seeder(net, info, data);
    // `middle` downloads slowly, so it is still connected to `seed` when `late` arrives.
    const middle = await leecher(net, info.infoHash, { downloadLimit: 128 * KiB });
    middle.engine.addPeer(seed.address, 'manual');
    await net.time.settle(middle.engine.metadata());
    const late = await leecher(net, info.infoHash);
    late.engine.addPeer(middle.address, 'manual');
    // `middle` dialed `seed`, so it tells `late` about seed's address; late dials it.
    await net.time.until(
      'late to be connected to the seed',
      () => seed.engine.peerCount >= 1 && late.engine.peerCount >= 1
    );
    await net.time.settle(late.engine.done());
    expect((await storedBytes(late.holder.storage!, info)).equals(Buffer.from(data))).toBe(true);
  });

  it('closes peers that send garbage, oversized or out-of-range messages, and still completes', async () => {
    const net = new PipeNet();
    const { data, info } = content(256 * KiB, 5);
    const down = await leecher(net, info.infoHash, { info });
    const warnings: Error[] = [];
    down.engine.on('warning', (w) => warnings.push(w));

    const rawPeer = (first: Uint8Array[]): Promise<void> => {
      const [mine, theirs]: [WireStream, WireStream] = pipePair();
      const closed = new Promise<void>((resolve) => mine.onClose(resolve));
      mine.onData(() => {});
      down.engine.acceptConnection(theirs, { host: '10.9.9.9', port: 1 });
      for (const b of first) mine.write(b);
      return closed;
    };
    const handshake = encodeHandshake({
      infoHash: info.infoHash,
      peerId: new Uint8Array(20).fill(7),
      fast: true,
      extended: true
    });
    const oversized = new Uint8Array([0x00, 0x10, 0x00, 0x00, 7]); // a 1 MiB "piece" message
    const badBitfield = encodeMessage({ type: 'bitfield', bitfield: new Uint8Array(3) }); // 8 pieces need 1 byte
    const badHave = encodeMessage({ type: 'have', index: info.pieceCount + 5 });

    await net.time.settle(rawPeer([new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n')]));
    await net.time.settle(rawPeer([handshake, oversized]));
    await net.time.settle(rawPeer([handshake, badBitfield]));
    await net.time.settle(rawPeer([handshake, encodeMessage({ type: 'have_none' }), badHave]));
    expect(down.engine.peerCount).toBe(0);

    const seed = await seeder(net, info, data);
    down.engine.addPeer(seed.address, 'manual');
    await net.time.settle(down.engine.done());
    expect((await storedBytes(down.holder.storage!, info)).equals(Buffer.from(data))).toBe(true);
  });

  it('keeps buffered piece data within maxInFlightBytes when a peer floods unrequested blocks', async () => {
    const net = new PipeNet();
    const { info } = content(4 * 1024 * KiB, 6); // 128 pieces of 32 KiB
    const budget = 4 * 32 * KiB;
    const down = await leecher(net, info.infoHash, { info, maxInFlightBytes: budget });
    const [mine, theirs]: [WireStream, WireStream] = pipePair();
    mine.onData(() => {});
    down.engine.acceptConnection(theirs, { host: '10.9.9.8', port: 1 });
    // Without the fast extension unrequested blocks are legal (BEP 6 makes them an error).
    mine.write(
      encodeHandshake({
        infoHash: info.infoHash,
        peerId: new Uint8Array(20).fill(8),
        fast: false,
        extended: false
      })
    );
    mine.write(encodeMessage({ type: 'bitfield', bitfield: new Uint8Array(info.pieceCount / 8).fill(0xff) }));
    // One stray 16 KiB block of every piece: never requested (it chokes us), all wanted.
    const block = new Uint8Array(16 * KiB).fill(1);
    for (let index = 0; index < info.pieceCount; index++)
      mine.write(encodeMessage({ type: 'piece', index, begin: 0, block }));
    await net.time.until(
      'the blocks to arrive',
      () => down.engine.progress().downloaded >= info.pieceCount * 16 * KiB
    );
    const p = down.engine.progress();
    expect(p.buffered).toBeGreaterThan(0);
    expect(p.buffered).toBeLessThanOrEqual(budget);
    mine.close();
  });

  it('with an in-flight budget of one piece, each stored piece refills at once (not on the next tick)', async () => {
    const net = new PipeNet();
    const { data, info } = content(1024 * KiB, 9); // 32 pieces of 32 KiB
    const seed = await seeder(net, info, data);
    const down = await leecher(net, info.infoHash, { info, maxInFlightBytes: 32 * KiB });
    const started = net.time.now();
    down.engine.addPeer(seed.address, 'manual');
    await net.time.settle(down.engine.done());
    // ~15 ms of virtual time; left to other wake-ups (upkeep ticks) each piece waits ~20 ms: ~0.6 s.
    expect(net.time.now() - started).toBeLessThan(200);
    expect((await storedBytes(down.holder.storage!, info)).equals(Buffer.from(data))).toBe(true);
  });

  it('caps the upload rate', async () => {
    const net = new PipeNet();
    const { data, info } = content(768 * KiB, 6);
    const seed = await seeder(net, info, data, { uploadLimit: 1024 * KiB });
    const down = await leecher(net, info.infoHash);
    const started = net.time.now();
    down.engine.addPeer(seed.address, 'manual');
    await net.time.settle(down.engine.done());
    const seconds = (net.time.now() - started) / 1000;
    // 768 KiB at 1 MiB/s with a 100 KiB burst: at least ~0.6 s.
    expect(seconds).toBeGreaterThan(0.55);
  });
});

describe('HAVE announcements', () => {
  /** A leecher, its seed, and two raw peers with nothing that count the HAVEs they receive. */
  async function swarm(regularSlots: number) {
    const net = new PipeNet();
    const { data, info } = content(2048 * KiB, 8); // 64 pieces: more than the wire holds back
    const seed = await seeder(net, info, data);
    const down = await leecher(net, info.infoHash, { info, choker: { regularSlots, optimisticSlots: 0 } });
    const rawPeer = (id: number, interested: boolean) => {
      const [mine, theirs]: [WireStream, WireStream] = pipePair();
      const framer = new WireFramer({ handshake: true });
      const haves = new Set<number>();
      mine.onData((c) => {
        for (const item of framer.feed(c)) if (item.type === 'have') haves.add(item.index);
      });
      down.engine.acceptConnection(theirs, { host: `10.9.9.${id}`, port: 1 });
      mine.write(
        encodeHandshake({ infoHash: info.infoHash, peerId: new Uint8Array(20).fill(id), fast: true })
      );
      mine.write(encodeMessage({ type: 'have_none' }));
      if (interested) mine.write(encodeMessage({ type: 'interested' }));
      return { haves, say: (m: Uint8Array) => mine.write(m) };
    };
    const idle = rawPeer(1, false);
    const keen = rawPeer(2, true);
    await net.time.until('both raw peers connected', () => down.engine.peerCount >= 2);
    down.engine.addPeer(seed.address, 'manual');
    await net.time.settle(down.engine.done());
    await net.time.flush();
    return { net, info, idle, keen };
  }

  it('go with the next write to an interested peer we choke, at once to one not interested', async () => {
    const { net, info, idle, keen } = await swarm(0);
    expect(idle.haves.size).toBe(info.pieceCount);
    // Held HAVEs went out only in bounded batches (nothing else is written to the choked peer).
    expect(keen.haves.size).toBeLessThan(info.pieceCount);
    expect(keen.haves.size).toBeGreaterThan(0);
    // "Not interested" may be what a HAVE changes: the rest go at once.
    keen.say(encodeMessage({ type: 'not_interested' }));
    await net.time.flush();
    expect(keen.haves.size).toBe(info.pieceCount);
  });

  it('go at once to an unchoked peer that has no request queued (it may have nothing to ask)', async () => {
    const { info, keen } = await swarm(4);
    expect(keen.haves.size).toBe(info.pieceCount);
  });
});
