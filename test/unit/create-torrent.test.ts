import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoPieceLength, createTorrent, createTorrentFromBuffer } from '../../lib/torrent/create.js';
import { parseInfo, pieceHash, parseTorrentFile, toTorrentFile } from '../../lib/torrent/metainfo.js';
import { AbortError, InvalidArgumentError } from '../../lib/errors.js';
import { seededRandom } from '../../lib/util/random.js';

const KiB = 1024;
const sha1 = (b: Uint8Array): Buffer => createHash('sha1').update(b).digest();

/** Independent piece hashing of concatenated data. */
function expectedPieces(data: Uint8Array, pieceLength: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += pieceLength) out.push(sha1(data.subarray(i, i + pieceLength)));
  return out;
}

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-create-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('autoPieceLength', () => {
  it('keeps piece counts near 1000-2000 within [16 KiB, 16 MiB]', () => {
    expect(autoPieceLength(1)).toBe(16 * KiB);
    expect(autoPieceLength(2000 * 16 * KiB)).toBe(16 * KiB);
    expect(autoPieceLength(2000 * 16 * KiB + 1)).toBe(32 * KiB);
    const oneGiB = 1024 * 1024 * KiB;
    const pl = autoPieceLength(oneGiB);
    expect(oneGiB / pl).toBeGreaterThanOrEqual(1000);
    expect(oneGiB / pl).toBeLessThanOrEqual(2000);
    expect(autoPieceLength(2 ** 50)).toBe(16 * 1024 * KiB);
  });
});

describe('createTorrentFromBuffer', () => {
  it('hashes pieces like an independent SHA-1 and round-trips through parse', () => {
    const data = seededRandom(1).bytes(100_000);
    const info = createTorrentFromBuffer('data.bin', data, 16 * KiB);
    expect(Array.from({ length: info.pieceCount }, (_, i) => Buffer.from(pieceHash(info, i)))).toEqual(
      expectedPieces(data, 16 * KiB)
    );
    expect(info.files).toEqual([{ path: ['data.bin'], length: 100_000, offset: 0 }]);
    const again = parseTorrentFile(toTorrentFile(info)).info;
    expect(again.infoHash).toEqual(info.infoHash);
    expect(Buffer.from(info.infoHash)).toEqual(sha1(info.infoBytes));
  });

  it('rejects empty data and bad piece lengths', () => {
    expect(() => createTorrentFromBuffer('x', new Uint8Array(0))).toThrow(InvalidArgumentError);
    expect(() => createTorrentFromBuffer('x', new Uint8Array(10), 1000)).toThrow(/power of two/);
    expect(() => createTorrentFromBuffer('..', new Uint8Array(10))).toThrow(/path traversal/);
  });
});

describe('createTorrent', () => {
  it('creates a single-file torrent from a file', async () => {
    const data = seededRandom(2).bytes(70_000);
    const path = join(dir, 'single.bin');
    await fsp.writeFile(path, data);
    const progress: number[] = [];
    const info = await createTorrent(path, {
      pieceLength: 16 * KiB,
      onProgress: (done, total) => progress.push(done / total)
    });
    expect(info.name).toBe('single.bin');
    expect(info.length).toBe(70_000);
    expect(Array.from({ length: info.pieceCount }, (_, i) => Buffer.from(pieceHash(info, i)))).toEqual(
      expectedPieces(data, 16 * KiB)
    );
    expect(progress).toHaveLength(5);
    expect(progress.at(-1)).toBe(1);
    expect(parseInfo(info.infoBytes).infoHash).toEqual(info.infoHash);
  });

  it('creates a multi-file torrent from a folder: recursive, sorted, symlinks skipped', async () => {
    const root = join(dir, 'folder');
    const random = seededRandom(3);
    const contents: Record<string, Uint8Array> = {
      'b.bin': random.bytes(20_000),
      'a/z.txt': random.bytes(5_000),
      'a/b/c.dat': random.bytes(40_000),
      'empty.txt': new Uint8Array(0),
      'B.bin': random.bytes(3)
    };
    for (const [rel, bytes] of Object.entries(contents)) {
      await fsp.mkdir(join(root, rel, '..'), { recursive: true });
      await fsp.writeFile(join(root, rel), bytes);
    }
    await fsp.symlink(join(root, 'b.bin'), join(root, 'link.bin'));
    await fsp.symlink(dir, join(root, 'dirlink'));

    const info = await createTorrent(root, { pieceLength: 16 * KiB, name: 'my-folder' });
    const order = ['B.bin', 'a/b/c.dat', 'a/z.txt', 'b.bin', 'empty.txt'];
    expect(info.files.map((f) => f.path.slice(1).join('/'))).toEqual(order);
    expect(info.files.every((f) => f.path[0] === 'my-folder')).toBe(true);
    const concatenated = Buffer.concat(order.map((rel) => contents[rel] as Uint8Array));
    expect(info.length).toBe(concatenated.length);
    expect(Array.from({ length: info.pieceCount }, (_, i) => Buffer.from(pieceHash(info, i)))).toEqual(
      expectedPieces(concatenated, 16 * KiB)
    );
    let offset = 0;
    for (const f of info.files) {
      expect(f.offset).toBe(offset);
      offset += f.length;
    }
  });

  it('chooses a piece length automatically', async () => {
    const path = join(dir, 'auto.bin');
    await fsp.writeFile(path, new Uint8Array(50_000));
    expect((await createTorrent(path)).pieceLength).toBe(16 * KiB);
  });

  it('rejects empty folders, missing paths and aborted runs', async () => {
    const empty = join(dir, 'empty-folder');
    await fsp.mkdir(empty);
    await expect(createTorrent(empty)).rejects.toThrow(/no regular files/);
    await fsp.writeFile(join(empty, 'zero'), '');
    await expect(createTorrent(empty)).rejects.toThrow(/0 bytes/);
    await expect(createTorrent(join(dir, 'nope'))).rejects.toThrow(/ENOENT/);
    const path = join(dir, 'abort.bin');
    await fsp.writeFile(path, new Uint8Array(200_000));
    const controller = new AbortController();
    const run = createTorrent(path, {
      pieceLength: 16 * KiB,
      signal: controller.signal,
      onProgress: (done) => {
        if (done >= 32 * KiB) controller.abort();
      }
    });
    await expect(run).rejects.toBeInstanceOf(AbortError);
    await expect(createTorrent(path, { pieceLength: 12345 })).rejects.toThrow(/power of two/);
  });
});
