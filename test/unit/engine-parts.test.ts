/**
 * The built-in engine's small pure parts, with a fake clock: token bucket, rate meter, smart
 * ban, BEP 6 allowed-fast set (the BEP's vectors), piece cache, and the resume file.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bitfield } from '../../lib/engine/bitfield.js';
import { FsStorage } from '../../lib/engine/storage/fs-storage.js';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import { PieceCache } from '../../lib/engine/upload/piece-cache.js';
import { RateMeter } from '../../lib/util/rate-meter.js';
import { loadResume, restoreState, saveResume } from '../../lib/engine/storage/resume.js';
import { SmartBan } from '../../lib/engine/download/smart-ban.js';
import { rateCap, TokenBucket } from '../../lib/util/token-bucket.js';
import { allowedFastSet } from '../../lib/engine/upload/allowed-fast.js';
import { createTorrentFromBuffer } from '../../lib/torrent/create.js';
import { seededRandom } from '../../lib/util/random.js';
import { FakeClock } from '../support/fake-clock.js';

describe('TokenBucket', () => {
  it('is unlimited at rate 0', () => {
    expect(rateCap(0, 32_768, 0)).toBeUndefined(); // no bucket: nothing is held back
    expect(rateCap(Infinity, 32_768, 0)).toBeUndefined();
  });

  it('refills at the rate, up to the burst, and says how long to wait', () => {
    const b = new TokenBucket({ ratePerSecond: 100_000, burst: 50_000, nowMs: 1000 });
    expect(b.take(1000, 50_000)).toBe(true);
    expect(b.take(1000, 1)).toBe(false);
    expect(b.waitMs(1000, 10_000)).toBe(100);
    expect(b.take(1100, 10_000)).toBe(true);
    expect(b.available(61_100)).toBe(50_000); // capped at the burst
    expect(rateCap(100_000, 32_768, 0)!.available(0)).toBe(32_768); // the burst is at least minBurst
  });

  it('holds a long-run average at the rate', () => {
    const b = rateCap(1_000_000, 32_768, 0)!;
    let sent = 0;
    for (let t = 0; t < 10_000; t += 10) {
      while (b.take(t, 16_384)) sent += 16_384;
    }
    expect(sent / 10).toBeGreaterThan(0.95e6);
    expect(sent / 10).toBeLessThan(1.05e6);
  });
});

describe('RateMeter', () => {
  it('averages over its window and forgets old traffic', () => {
    const clock = new FakeClock(0);
    const m = new RateMeter(clock, 5);
    for (let i = 0; i < 10; i++) {
      m.add(1000);
      clock.advance(1000);
    }
    expect(m.rate()).toBeGreaterThan(800);
    expect(m.rate()).toBeLessThan(1200);
    clock.advance(10_000);
    expect(m.rate()).toBe(0);
    expect(m.total).toBe(10_000);
  });

  it('does not under-report while young', () => {
    const clock = new FakeClock(0);
    const m = new RateMeter(clock, 10);
    m.add(5000);
    clock.advance(1000);
    expect(m.rate()).toBeGreaterThan(4000);
  });
});

describe('SmartBan', () => {
  const blockSize = 4;
  const good = Uint8Array.from([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);

  it('blames a lone sender at once', () => {
    const sb = new SmartBan<string>({ blockSize });
    expect(sb.pieceFailed(0, good, ['a', 'a', 'a'])).toEqual(['a']);
  });

  it('with several senders, bans the one whose block differs from the good piece', () => {
    const sb = new SmartBan<string>({ blockSize });
    const bad = Uint8Array.from(good);
    bad[5] = 9; // block 1, sent by 'b'
    expect(sb.pieceFailed(0, bad, ['a', 'b', 'c'])).toEqual([]);
    expect(sb.pieceVerified(0, good)).toEqual(['b']);
    expect(sb.pieceVerified(0, good)).toEqual([]); // the record is used once
  });

  it('bans a peer involved in too many unresolved failures', () => {
    const sb = new SmartBan<string>({ blockSize, maxStrikes: 2 });
    expect(sb.pieceFailed(1, good, ['a', 'b', 'a'])).toEqual([]);
    expect(sb.pieceFailed(2, good, ['a', 'c', 'c'])).toEqual(['a']);
  });
});

describe('allowedFastSet (BEP 6)', () => {
  it('matches the BEP example vectors', () => {
    const infoHash = new Uint8Array(20).fill(0xaa);
    expect(allowedFastSet('80.4.4.200', infoHash, 1313, 7)).toEqual([1059, 431, 808, 1217, 287, 376, 1188]);
    expect(allowedFastSet('80.4.4.200', infoHash, 1313, 9)).toEqual([
      1059, 431, 808, 1217, 287, 376, 1188, 353, 508
    ]);
  });

  it('is the same for every address of a /24 and never larger than the torrent', () => {
    const infoHash = new Uint8Array(20).fill(1);
    expect(allowedFastSet('10.1.2.3', infoHash, 100, 10)).toEqual(
      allowedFastSet('10.1.2.250', infoHash, 100, 10)
    );
    expect(allowedFastSet('10.1.2.3', infoHash, 3, 10).sort()).toEqual([0, 1, 2]);
  });
});

describe('PieceCache', () => {
  it('shares one read per piece, evicts least recently used beyond its size', async () => {
    const data = seededRandom(1).bytes(64 * 1024);
    const info = createTorrentFromBuffer('c.bin', data, 16 * 1024);
    const storage = MemoryStorage.fromData(info, data);
    let reads = 0;
    const counting = {
      ...storage,
      readPiece: (i: number) => (reads++, storage.readPiece(i))
    } as typeof storage;
    const cache = new PieceCache(counting, 32 * 1024);
    const [a, b] = await Promise.all([cache.load(0), cache.load(0)]);
    expect(a).toBe(b);
    expect(reads).toBe(1);
    await cache.load(1);
    cache.get(0); // 0 is now the most recent
    await cache.load(2);
    expect(cache.get(1)).toBeUndefined();
    expect(cache.get(0)).toBeDefined();
    expect(cache.size).toBe(32 * 1024);
  });
});

describe('resume file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-resume-'));
  });
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('is trusted while sizes and mtimes match, and falls back to verification otherwise', async () => {
    const data = seededRandom(2).bytes(100 * 1024);
    const info = createTorrentFromBuffer('r.bin', data, 16 * 1024);
    const storage = new FsStorage(info, dir);
    for (const i of [0, 2, 5]) await storage.writeBlock(i, 0, data.subarray(i * 16384, (i + 1) * 16384));
    await storage.flush();
    const have = new Bitfield(info.pieceCount);
    // A bitfield that claims more than the disk holds: trusted only through the cheap check.
    for (const i of [0, 2, 5, 6]) have.set(i);
    await saveResume(dir, info, have);
    expect([...(await loadResume(dir, info))!.indices()]).toEqual([0, 2, 5, 6]);
    expect((await restoreState(dir, info, storage)).method).toBe('resume');

    // Touch the file: the stamp no longer matches, so the data is verified instead.
    await storage.writeBlock(1, 0, data.subarray(16384, 32768));
    await storage.flush();
    await fsp.utimes(join(dir, 'r.bin'), new Date(), new Date(Date.now() + 5000));
    expect(await loadResume(dir, info)).toBeUndefined();
    const r = await restoreState(dir, info, storage);
    expect(r.method).toBe('verified');
    expect([...r.have.indices()]).toEqual([0, 1, 2, 5]);
    await storage.close();
  });

  it('ignores a resume file of another torrent or a corrupt one', async () => {
    const info = createTorrentFromBuffer('x.bin', seededRandom(3).bytes(40 * 1024), 16 * 1024);
    const other = createTorrentFromBuffer('x.bin', seededRandom(4).bytes(40 * 1024), 16 * 1024);
    await saveResume(dir, other, Bitfield.full(3));
    expect(await loadResume(dir, info)).toBeUndefined();
    const path = join(dir, '.trackerless', `${Buffer.from(info.infoHash).toString('hex')}.resume`);
    await fsp.writeFile(path, '{not json');
    expect(await loadResume(dir, info)).toBeUndefined();
  });
});
