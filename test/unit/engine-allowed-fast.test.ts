/**
 * BEP 6 allowed fast, download side: while a peer chokes us we request the pieces it put in
 * our allowed-fast set, and only those; a reject of such a request frees its blocks and
 * withdraws the piece; the set a peer can make us remember is capped. No sockets: engines and
 * hand-driven PeerWires over in-memory pipes.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { BitTorrentEngine } from '../../lib/engine/bittorrent-engine.js';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import { MAX_PEER_ALLOWED_FAST } from '../../lib/engine/download/downloader.js';
import { ALLOWED_FAST_COUNT, allowedFastSet } from '../../lib/engine/upload/allowed-fast.js';
import { createTorrentFromBuffer, type TorrentInfo } from '../../lib/index.js';
import { seededRandom } from '../../lib/util/random.js';
import { pipePair } from '../../lib/wire/memory-stream.js';
import { PeerWire } from '../../lib/wire/peer-wire.js';
import type { RequestMessage } from '../../lib/wire/peer-wire-types.js';
import { PipeNet } from '../support/pipe-net.js';
import { VirtualTime } from '../support/virtual-time.js';

const KiB = 1024;
const PIECE = 32 * KiB; // two blocks per piece

let net: PipeNet | undefined;
/** Virtual time of the hand-driven tests (PipeNet has its own). */
let time = new VirtualTime();
const engines: BitTorrentEngine[] = [];
const wires: PeerWire[] = [];
afterEach(async () => {
  for (const w of wires.splice(0)) w.close();
  await Promise.all(engines.splice(0).map((e) => e.destroy()));
  await net?.destroyAll();
  net = undefined;
  time = new VirtualTime();
});

function content(pieces: number, seed: number): { data: Uint8Array; info: TorrentInfo } {
  const data = seededRandom(seed).bytes(pieces * PIECE);
  return { data, info: createTorrentFromBuffer(`fast-${seed}.bin`, data, PIECE) };
}

/**
 * A downloader engine (metadata known, memory storage) connected to a hand-driven peer: it
 * has every piece, never unchokes unless told, and `onRequest` decides what to answer.
 */
async function withFakePeer(info: TorrentInfo, onHandshake: (peer: PeerWire) => void) {
  const [mine, theirs] = pipePair();
  const peer = new PeerWire(theirs, {
    role: 'responder',
    peerId: new Uint8Array(20).fill(9),
    infoHash: info.infoHash,
    pieceCount: info.pieceCount
  });
  wires.push(peer);
  peer.on('handshake', () => onHandshake(peer));
  const storage = new MemoryStorage(info);
  const engine = new BitTorrentEngine({
    clock: time.clock,
    infoHash: info.infoHash,
    info,
    storage,
    tickMs: 100,
    connect: async () => mine
  });
  engines.push(engine);
  await engine.start();
  engine.addPeer({ host: '10.1.2.3', port: 6881 }, 'manual');
  return { engine, peer, storage };
}

const serve = (peer: PeerWire, data: Uint8Array, r: RequestMessage): void => {
  const start = r.index * PIECE + r.begin;
  peer.piece(r.index, r.begin, data.subarray(start, start + r.length));
};

describe('BEP 6 allowed fast while choked (download side)', () => {
  it('an engine seed that keeps us choked: we fetch exactly the allowed-fast pieces it grants', async () => {
    net = new PipeNet();
    const { data, info } = content(40, 21);
    // No unchoke slots: the seed never unchokes anyone, it only grants allowed-fast sets.
    const seed = await net.seeder(info, data, { choker: { regularSlots: 0, optimisticSlots: 0 } });
    const down = await net.leecher(info.infoHash); // magnet-only: the grant arrives before the metadata
    down.engine.addPeer(seed.address, 'manual');
    // The seed sees the downloader at its made-up address and derives the set from it (BEP 6).
    const expected = allowedFastSet(
      down.address.host,
      info.infoHash,
      info.pieceCount,
      ALLOWED_FAST_COUNT
    ).sort((a, b) => a - b);
    expect(expected.length).toBe(ALLOWED_FAST_COUNT);
    await net.time.until(
      'the allowed-fast pieces',
      () => down.engine.progress().verifiedPieces === expected.length
    );
    await net.time.run(300); // nothing else follows
    expect([...down.engine.storedPieces()!.indices()]).toEqual(expected);
    expect(down.engine.progress().downloaded).toBe(expected.length * PIECE);
    const [peer] = down.engine.peerStatus();
    expect(peer!.peerChoking).toBe(true);
    expect(down.engine.complete).toBe(false);
  });

  it('a reject of an allowed-fast request frees its blocks and withdraws the piece; after an unchoke it is fetched', async () => {
    const { data, info } = content(20, 22);
    const requests: { index: number; choked: boolean }[] = [];
    let unchoked = false;
    const { engine, peer, storage } = await withFakePeer(info, (p) => {
      p.haveAll();
      p.allowedFast(1);
      p.allowedFast(5);
      p.on('request', (r) => {
        requests.push({ index: r.index, choked: !unchoked });
        if (!unchoked && r.index === 5)
          p.reject(r.index, r.begin, r.length); // BEP 6 allows it
        else if (unchoked || r.index === 1) serve(p, data, r);
      });
    });
    await time.until('piece 1', () => engine.progress().verifiedPieces === 1);
    await time.run(300); // ticks and fills: piece 5 is not asked for again while we are choked
    const choked = requests.filter((r) => r.choked);
    expect(new Set(choked.map((r) => r.index))).toEqual(new Set([1, 5]));
    expect(choked.filter((r) => r.index === 1)).toHaveLength(2); // both blocks, once each
    expect(choked.filter((r) => r.index === 5).length).toBeLessThanOrEqual(2);
    expect([...engine.storedPieces()!.indices()]).toEqual([1]);
    expect(engine.peerStatus()[0]!.requests).toBe(0);

    unchoked = true;
    peer.unchoke();
    await time.settle(engine.done());
    expect(requests.filter((r) => !r.choked && r.index === 5).length).toBe(2); // its blocks were free again
    for (let i = 0; i < info.pieceCount; i++) {
      expect(
        Buffer.from(await storage.readPiece(i)).equals(Buffer.from(data.subarray(i * PIECE, (i + 1) * PIECE)))
      ).toBe(true);
    }
  });

  it('remembers at most MAX_PEER_ALLOWED_FAST pieces per peer, and requests only pieces the peer has', async () => {
    const info = createTorrentFromBuffer('zeros.bin', new Uint8Array(100 * PIECE), PIECE); // content never sent
    const requested = new Set<number>();
    const { engine } = await withFakePeer(info, (p) => {
      const has = new Uint8Array(Math.ceil(info.pieceCount / 8));
      for (let i = 0; i < 50; i++) has[i >> 3]! |= 0x80 >> (i & 7); // pieces 0-49
      p.bitfield(has);
      for (let i = 0; i < 100; i++) p.allowedFast(99 - i); // 99 down to 0
      p.on('request', (r) => requested.add(r.index)); // never answered
    });
    await time.until(
      'the allowed-fast set',
      () => engine.peerStatus()[0]?.allowedFast.length === MAX_PEER_ALLOWED_FAST
    );
    await time.run(200);
    const peer = engine.peerStatus()[0]!;
    expect(peer.allowedFast.length).toBe(MAX_PEER_ALLOWED_FAST);
    expect(Math.min(...peer.allowedFast)).toBe(100 - MAX_PEER_ALLOWED_FAST); // the first ones sent are kept
    // Allowed fast does not mean "has" (BEP 6): only 36-49 are both allowed and announced.
    expect(requested.size).toBeGreaterThan(0);
    for (const i of requested) expect(i >= 36 && i < 50).toBe(true);
  });

  it('without allowed-fast pieces a choking peer gets no requests', async () => {
    const { info } = content(8, 24);
    let requests = 0;
    const { engine } = await withFakePeer(info, (p) => {
      p.haveAll();
      p.on('request', () => requests++);
    });
    await time.until('the connection', () => engine.peerCount === 1);
    await time.run(300);
    expect(requests).toBe(0);
    expect(engine.peerStatus()[0]!.amInterested).toBe(true);
  });
});
