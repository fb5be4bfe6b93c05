import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStorage, fsDescriptorIo, type DescriptorIo } from '../../lib/engine/storage/fs-storage.js';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import { verifyPieces, type Storage } from '../../lib/engine/storage/storage.js';
import { createTorrent, createTorrentFromBuffer } from '../../lib/torrent/create.js';
import { pieceHash, type TorrentInfo } from '../../lib/torrent/metainfo.js';
import { AbortError, DestroyedError, InvalidArgumentError } from '../../lib/errors.js';
import { seededRandom } from '../../lib/util/random.js';
import { sleep, untilIo, waitFor } from '../support/wait.js';

const KiB = 1024;
const sha1 = (b: Uint8Array): Buffer => createHash('sha1').update(b).digest();

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-storage-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Build a folder of files and its torrent; returns the concatenated data too. */
async function makeFolder(
  name: string,
  sizes: number[],
  pieceLength = 16 * KiB
): Promise<{ info: TorrentInfo; data: Buffer; root: string }> {
  const root = join(dir, `src-${name}`, name);
  const random = seededRandom(sizes.length * 7 + sizes[0]!);
  const parts: Uint8Array[] = [];
  for (const [i, size] of sizes.entries()) {
    const bytes = random.bytes(size);
    const rel =
      i % 3 === 2 ? join('sub', `f${String(i).padStart(3, '0')}`) : `f${String(i).padStart(3, '0')}`;
    await fsp.mkdir(join(root, rel, '..'), { recursive: true });
    await fsp.writeFile(join(root, rel), bytes);
    parts.push(bytes);
  }
  const info = await createTorrent(root, { pieceLength });
  // createTorrent sorts paths: rebuild the data in torrent order.
  const data = Buffer.concat(
    await Promise.all(info.files.map((f) => fsp.readFile(join(root, ...f.path.slice(1)))))
  );
  return { info, data, root };
}

/** Write every piece in `order`, block by block. */
async function writeAll(
  storage: Storage,
  info: TorrentInfo,
  data: Uint8Array,
  order: number[]
): Promise<void> {
  for (const piece of order) {
    const start = piece * info.pieceLength;
    const size = Math.min(info.pieceLength, info.length - start);
    for (let off = 0; off < size; off += 16 * KiB) {
      await storage.writeBlock(
        piece,
        off,
        data.subarray(start + off, start + Math.min(off + 16 * KiB, size))
      );
    }
  }
}

describe('MemoryStorage', () => {
  it('stores blocks, validates ranges and verifies pieces', async () => {
    const data = seededRandom(1).bytes(50_000);
    const info = createTorrentFromBuffer('mem.bin', data, 16 * KiB);
    const storage = new MemoryStorage(info);
    expect((await verifyPieces(storage, info)).count).toBe(0);
    await writeAll(storage, info, data, [3, 1, 0]);
    expect(Buffer.from(await storage.readBlock(3, 100, 200))).toEqual(
      Buffer.from(data.subarray(3 * 16 * KiB + 100, 3 * 16 * KiB + 300))
    );
    expect([...(await verifyPieces(storage, info)).indices()]).toEqual([0, 1, 3]);
    await expect(storage.readBlock(4, 0, 1)).rejects.toThrow(InvalidArgumentError);
    await expect(storage.readBlock(3, 0, 50_000 - 3 * 16 * KiB + 1)).rejects.toThrow(/outside piece 3/);
    await expect(storage.writeBlock(0, -1, new Uint8Array(1))).rejects.toThrow(InvalidArgumentError);
    const seed = MemoryStorage.fromData(info, data);
    expect((await verifyPieces(seed, info)).hasAll()).toBe(true);
    await storage.close();
    await expect(storage.readPiece(0)).rejects.toBeInstanceOf(DestroyedError);
  });
});

describe('FsStorage', () => {
  it('writes multi-file torrents whose pieces span files, byte for byte', async () => {
    // 16 KiB pieces over files of 5000, 30000, 0, 12000, 1, 40000 bytes: most pieces cross files.
    const { info, data, root } = await makeFolder('multi', [5000, 30000, 0, 12000, 1, 40000]);
    expect(info.files.length).toBe(6);
    const out = join(dir, 'out-multi');
    const storage = new FsStorage(info, out);
    const order = Array.from({ length: info.pieceCount }, (_, i) => i).reverse();
    await writeAll(storage, info, data, order);
    for (let i = 0; i < info.pieceCount; i++) {
      expect(sha1(await storage.readPiece(i))).toEqual(Buffer.from(pieceHash(info, i)));
    }
    await storage.flush();
    await storage.close();
    for (const f of info.files) {
      const written = await fsp.readFile(join(out, ...f.path));
      const original = await fsp.readFile(join(root, ...f.path.slice(1)));
      expect(written.equals(original)).toBe(true);
    }
    await expect(storage.readPiece(0)).rejects.toBeInstanceOf(DestroyedError);
  });

  it('writes single-file torrents under the output directory', async () => {
    const data = seededRandom(9).bytes(40_000);
    const info = createTorrentFromBuffer('single.bin', data, 16 * KiB);
    const out = join(dir, 'out-single');
    const storage = new FsStorage(info, out);
    await writeAll(storage, info, data, [2, 0, 1]);
    await storage.close();
    expect((await fsp.readFile(join(out, 'single.bin'))).equals(Buffer.from(data))).toBe(true);
  });

  it('close waits for operations in flight on a handle before freeing its descriptor', async () => {
    const data = seededRandom(10).bytes(64 * KiB);
    const info = createTorrentFromBuffer('inflight.bin', data, 16 * KiB);
    const out = join(dir, 'out-inflight');
    // Writes are held at a gate until the test opens it: the descriptor is in use for as long
    // as the test decides, whatever the machine's speed.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let held = 0;
    const io: DescriptorIo = {
      read: fsDescriptorIo.read,
      write: async (fd, buf, offset, length, position) => {
        held++;
        await gate;
        return fsDescriptorIo.write(fd, buf, offset, length, position);
      }
    };
    const storage = new FsStorage(info, out, { io });
    const writes = [0, 1, 2, 3].map((i) =>
      storage.writeBlock(i, 0, data.subarray(i * 16 * KiB, (i + 1) * 16 * KiB))
    );
    // Every write has its descriptor and waits at the gate.
    await waitFor('4 writes at the gate', () => held === 4, { timeoutMs: 10_000, intervalMs: 5 });
    const events: string[] = [];
    const closed = storage.close().then(() => events.push('closed'));
    // A close that does not wait frees the descriptor within one fs round trip: give it that.
    await sleep(200);
    events.push('gate opened');
    open();
    // A write on a freed descriptor fails with EBADF; one that got it back rejects too.
    await Promise.all(writes.map((w) => w.then(() => events.push('written'))));
    await closed;
    expect(events).toEqual(['gate opened', 'written', 'written', 'written', 'written', 'closed']);
    expect((await fsp.readFile(join(out, 'inflight.bin'))).equals(Buffer.from(data))).toBe(true);
  });

  it('keeps at most maxOpenFiles handles open', async () => {
    const sizes = Array.from({ length: 40 }, (_, i) => 1000 + i * 37);
    const { info, data } = await makeFolder('many', sizes);
    const storage = new FsStorage(info, join(dir, 'out-many'), { maxOpenFiles: 4 });
    const fdCount = (): number => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);
    const fdsBefore = fdCount();
    let maxSeen = 0;
    const order = Array.from({ length: info.pieceCount }, (_, i) => i);
    for (const piece of order) {
      await writeAll(storage, info, data, [piece]);
      maxSeen = Math.max(maxSeen, storage.openFileCount);
    }
    expect(maxSeen).toBeLessThanOrEqual(4);
    // Concurrent operations: in-use handles are never closed, idle ones are evicted afterwards.
    await Promise.all(order.map((p) => storage.readPiece(p)));
    expect(storage.openFileCount).toBeLessThanOrEqual(4);
    await untilIo(() => fdCount() - fdsBefore <= 4); // evicted handles close asynchronously
    if (fdsBefore > 0) expect(fdCount() - fdsBefore).toBeLessThanOrEqual(4);
    const have = await storage.verifyExisting();
    expect(have.hasAll()).toBe(true);
    expect(storage.openFileCount).toBeLessThanOrEqual(4);
    await storage.close();
    expect(storage.openFileCount).toBe(0);
  });

  it('verifyExisting finds the pieces on disk, skips missing files and catches corruption', async () => {
    const { info, data } = await makeFolder('resume', [20000, 9000, 30000]);
    const out = join(dir, 'out-resume');
    const first = new FsStorage(info, out);
    const written = [0, 2, 3];
    await writeAll(first, info, data, written);
    await first.close();

    const progress: number[] = [];
    const resumed = new FsStorage(info, out);
    const have = await resumed.verifyExisting({ onProgress: (done, total) => progress.push(total - done) });
    expect([...have.indices()]).toEqual(written);
    expect(progress.at(-1)).toBe(0);
    expect(progress).toHaveLength(info.pieceCount);
    await expect(resumed.readPiece(1)).rejects.toThrow(/not on disk/); // file 0 stops at 16 KiB
    await resumed.close();

    // Flip one byte inside piece 2, delete the first file (pieces 0 and 1 touch it).
    const f2 = info.files[2]!; // holds pieces 2 and 3
    const pos = 2 * info.pieceLength - f2.offset + 10;
    const file = join(out, ...f2.path);
    const bytes = await fsp.readFile(file);
    bytes[pos] = (bytes[pos] ?? 0) ^ 0xff;
    await fsp.writeFile(file, bytes);
    await fsp.rm(join(out, ...info.files[0]!.path));
    const checked: number[] = [];
    const third = new FsStorage(info, out);
    const after = await third.verifyExisting({ shouldCheck: (p) => (checked.push(p), true) });
    expect([...after.indices()]).toEqual([3]);
    expect(checked).not.toContain(0); // skipped without reading: its file is missing
    const controller = new AbortController();
    controller.abort();
    await expect(third.verifyExisting({ signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
    await third.close();
  });

  it('reads through a read-only handle, then upgrades it for writing', async () => {
    const data = seededRandom(11).bytes(32 * KiB);
    const info = createTorrentFromBuffer('upgrade.bin', data, 16 * KiB);
    const out = join(dir, 'out-upgrade');
    await fsp.mkdir(out);
    const onDisk = Buffer.from(data);
    onDisk.fill(0, 16 * KiB);
    await fsp.writeFile(join(out, 'upgrade.bin'), onDisk);
    const storage = new FsStorage(info, out, { maxOpenFiles: 1 });
    expect([...(await storage.verifyExisting()).indices()]).toEqual([0]);
    await storage.writeBlock(1, 0, data.subarray(16 * KiB));
    expect((await storage.verifyExisting()).hasAll()).toBe(true);
    expect(storage.openFileCount).toBe(1);
    await storage.close();
  });

  it('refuses layouts whose paths would leave the output directory', () => {
    const base = createTorrentFromBuffer('ok.bin', new Uint8Array(10));
    const layout = (path: string[]): TorrentInfo => ({ ...base, files: [{ path, length: 10, offset: 0 }] });
    for (const path of [
      ['..', 'x'],
      ['a', '..', '..', 'x'],
      ['/etc', 'passwd'],
      ['a\\..\\b'],
      ['.'],
      [],
      ['a', ''],
      ['x\0y']
    ]) {
      expect(() => new FsStorage(layout(path), join(dir, 'never'))).toThrow(InvalidArgumentError);
    }
    expect(() => new FsStorage({ ...base, files: [{ path: ['a'], length: 9, offset: 0 }] }, dir)).toThrow(
      /add up/
    );
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('keeps BEP 47 padding files virtual: zeros on read, nothing on disk', async () => {
    const random = seededRandom(12);
    const a = random.bytes(10000);
    const b = random.bytes(5000);
    const data = Buffer.concat([a, new Uint8Array(16 * KiB - 10000), b]);
    const base = createTorrentFromBuffer('hybrid', data, 16 * KiB);
    const info: TorrentInfo = {
      ...base,
      files: [
        { path: ['hybrid', 'a'], length: 10000, offset: 0 },
        { path: ['hybrid', '.pad', '6384'], length: 16 * KiB - 10000, offset: 10000, padding: true },
        { path: ['hybrid', 'b'], length: 5000, offset: 16 * KiB }
      ]
    };
    const out = join(dir, 'out-pad');
    const storage = new FsStorage(info, out);
    await writeAll(storage, info, data, [0, 1]);
    await storage.flush();
    expect((await storage.verifyExisting()).hasAll()).toBe(true);
    await storage.close();
    expect(existsSync(join(out, 'hybrid', '.pad'))).toBe(false);
    expect((await fsp.readFile(join(out, 'hybrid', 'a'))).equals(Buffer.from(a))).toBe(true);
    expect((await fsp.readFile(join(out, 'hybrid', 'b'))).equals(Buffer.from(b))).toBe(true);
  });

  it('creates empty files on flush', async () => {
    const { info, data } = await makeFolder('empty', [100, 0, 100]);
    const out = join(dir, 'out-empty');
    const storage = new FsStorage(info, out);
    await writeAll(storage, info, data, [0]);
    await storage.flush();
    await storage.close();
    for (const f of info.files) expect((await fsp.stat(join(out, ...f.path))).size).toBe(f.length);
  });
});
