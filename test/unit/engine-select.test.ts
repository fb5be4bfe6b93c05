/**
 * BEP 53 select-only in the built-in engine, engines piped together without sockets: only the
 * pieces of the selected files are fetched, progress and completion are about them, files of
 * other data are not created on disk, and resume works across different selections.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BitTorrentEngine } from '../../lib/engine/bittorrent-engine.js';
import { selectedPieces, wantedBytes } from '../../lib/engine/storage/file-selection.js';
import type { Storage } from '../../lib/engine/storage/storage.js';
import type { TorrentInfo } from '../../lib/torrent/metainfo.js';
import { multiFileTorrent, PipeNet, type FileSpec } from '../support/pipe-net.js';

const KiB = 1024;
const PIECE = 32 * KiB;

// Pieces of 32 KiB: a [0, 100K) -> 0-3 (piece 3 also holds b's head); b [100K, 300K) -> 3-9;
// empty; c [300K, 350K) -> 9-10; d [350K, 650K) -> 10-20.
const FILES: FileSpec[] = [
  { name: 'a.bin', length: 100 * KiB },
  { name: 'b.bin', length: 200 * KiB },
  { name: 'empty.txt', length: 0 },
  { name: 'c.bin', length: 50 * KiB },
  { name: 'd.bin', length: 300 * KiB }
];

let dir: string;
let net: PipeNet;

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-select-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await net.destroyAll();
});

const indices = (engine: BitTorrentEngine): number[] => [...engine.storedPieces()!.indices()];

async function expectPieces(
  storage: Storage,
  info: TorrentInfo,
  data: Uint8Array,
  pieces: number[]
): Promise<void> {
  for (const p of pieces) {
    const expected = data.subarray(p * PIECE, Math.min(info.length, (p + 1) * PIECE));
    expect(Buffer.from(await storage.readPiece(p)).equals(Buffer.from(expected))).toBe(true);
  }
}

describe('BEP 53 select-only (piped engines)', () => {
  it('fetches only the pieces of the selected files, reports progress on them, and completes', async () => {
    net = new PipeNet();
    const { info, data } = multiFileTorrent(FILES, PIECE, 11);
    expect(info.pieceCount).toBe(21);
    const seed = await net.seeder(info, data);
    // Magnet-only start: the selection is applied once the metadata arrives.
    const down = await net.leecher(info.infoHash, { selectFiles: [3, 0, 2] });
    const events: string[] = [];
    down.engine.on('done', () => events.push('done'));
    down.engine.addPeer(seed.address, 'manual');
    await net.time.settle(down.engine.done());

    const wanted = [0, 1, 2, 3, 9, 10];
    expect(indices(down.engine)).toEqual(wanted); // pieces 4-8 (b) and 11-20 (d) never arrived
    expect(events).toEqual(['done']);
    expect(down.engine.complete).toBe(true);
    await expectPieces(down.holder.storage!, info, data, wanted);
    const bytes = wantedBytes(info, selectedPieces(info, [0, 3]));
    expect(bytes).toBe(6 * PIECE);
    const p = down.engine.progress();
    expect(p).toMatchObject({ verifiedPieces: 6, totalPieces: 6, verifiedBytes: bytes, totalBytes: bytes });
    // One peer: no endgame duplicates, so exactly the wanted bytes crossed the wire.
    expect(p.downloaded).toBe(bytes);
    expect(seed.engine.progress().uploaded).toBe(bytes);
  });

  it('a selection that includes the short last piece counts its real size', async () => {
    net = new PipeNet();
    const { info, data } = multiFileTorrent(FILES, PIECE, 12);
    const seed = await net.seeder(info, data);
    const down = await net.leecher(info.infoHash, { info, selectFiles: [4] });
    down.engine.addPeer(seed.address, 'manual');
    await net.time.settle(down.engine.done());
    expect(indices(down.engine)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(down.engine.progress()).toMatchObject({
      totalPieces: 11,
      verifiedBytes: 650 * KiB - 10 * PIECE,
      totalBytes: 650 * KiB - 10 * PIECE
    });
    // A downloader that completed its selection still seeds what it has.
    const third = await net.leecher(info.infoHash, { info, selectFiles: [4] });
    third.engine.addPeer(down.address, 'manual');
    await net.time.settle(third.engine.done());
    await expectPieces(third.holder.storage!, info, data, indices(third.engine));
  });

  it('an index past the file list: the constructor throws with the metadata known, else a fatal error', async () => {
    net = new PipeNet();
    const { info, data } = multiFileTorrent(FILES, PIECE, 13);
    expect(
      () =>
        new BitTorrentEngine({
          infoHash: info.infoHash,
          info,
          storage: () => Promise.reject(new Error('unused')),
          selectFiles: [0, 5]
        })
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_SELECTION',
        message: expect.stringMatching(/file index 5 is out of range: the torrent has 5 files/)
      })
    );
    expect(
      () =>
        new BitTorrentEngine({
          infoHash: info.infoHash,
          storage: () => Promise.reject(new Error('unused')),
          selectFiles: []
        })
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));

    const seed = await net.seeder(info, data);
    const down = await net.leecher(info.infoHash, { selectFiles: [7] });
    const errors: Error[] = [];
    down.engine.on('error', (err) => errors.push(err));
    down.engine.addPeer(seed.address, 'manual');
    await expect(net.time.settle(down.engine.done())).rejects.toMatchObject({
      code: 'ERR_INVALID_SELECTION'
    });
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['ERR_INVALID_SELECTION']);
    expect(down.holder.storage).toBeUndefined(); // failed before the storage was opened
  });

  it('on disk: unselected files are not created (but a shared piece writes its neighbour); resume across selections', async () => {
    net = new PipeNet();
    const { info, data } = multiFileTorrent(FILES, PIECE, 14);
    const seed = await net.seeder(info, data);
    const out = join(dir, 'fs');
    const file = (name: string): string => join(out, 'multi', name);

    const first = await net.engine(net.address(), {
      infoHash: info.infoHash,
      outDir: out,
      selectFiles: [0],
      seed: false
    });
    first.addPeer(seed.address, 'manual');
    await net.time.settle(first.done());
    await net.time.settle(first.stop());
    expect((await fsp.readFile(file('a.bin'))).equals(Buffer.from(data.subarray(0, 100 * KiB)))).toBe(true);
    // Piece 3 = a's last 4 KiB + b's first 28 KiB: b exists, holding only that part.
    expect((await fsp.stat(file('b.bin'))).size).toBe(28 * KiB);
    for (const name of ['empty.txt', 'c.bin', 'd.bin']) expect(existsSync(file(name))).toBe(false);

    // Same directory, a wider selection: the resume file says pieces 0-3 are here.
    const second = await net.engine(net.address(), {
      infoHash: info.infoHash,
      info,
      outDir: out,
      selectFiles: [0, 2, 3],
      seed: false
    });
    expect(second.progress()).toMatchObject({ verifiedPieces: 4, totalPieces: 6 });
    second.addPeer(seed.address, 'manual');
    await net.time.settle(second.done());
    await net.time.settle(second.stop());
    expect(second.progress().downloaded).toBe(2 * PIECE); // pieces 9 and 10 only
    expect((await fsp.readFile(file('c.bin'))).equals(Buffer.from(data.subarray(300 * KiB, 350 * KiB)))).toBe(
      true
    );
    expect((await fsp.stat(file('empty.txt'))).size).toBe(0); // selected now: created
    expect((await fsp.stat(file('d.bin'))).size).toBe(2 * KiB); // piece 10 ends 2 KiB into d

    // Without the resume file the data on disk is verified instead: the same pieces are found.
    await fsp.rm(join(out, '.trackerless'), { recursive: true });
    const third = await net.engine(net.address(), {
      infoHash: info.infoHash,
      info,
      outDir: out,
      selectFiles: [3],
      seed: false
    });
    expect(third.complete).toBe(true);
    expect(indices(third)).toEqual([0, 1, 2, 3, 9, 10]);
  });
});
