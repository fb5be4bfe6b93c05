/**
 * uTP with libtorrent-rasterbar 2.0 (python3-libtorrent) on 127.0.0.1, libtorrent uTP only
 * (TCP off both ways: bench/lib/lt-bench.py --transport utp), and our engine with no TCP at all.
 * Peers are given explicitly (no DHT). Every transfer is checked byte for byte.
 *
 *  (a) libtorrent seeds; our downloader dials it: plaintext, then Message Stream Encryption
 *      (our initiator over uTP; libtorrent's responder selects RC4).
 *  (b) our engine seeds; libtorrent's downloader dials us (plaintext).
 *  (c) our engine seeds and dials libtorrent's downloader itself: plaintext, then MSE.
 *
 * A missing python3-libtorrent is a failure, not a skip.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFileTorrent, type BenchTorrent } from '../../bench/lib/content.js';
import { PeerProcess, transferPeerArgs } from '../../bench/lib/peer-process.js';
import { utpPeers, type UtpPeers } from '../../bench/lib/utp-peers.js';
import { BitTorrentEngine } from '../../lib/engine/bittorrent-engine.js';
import type { PeerConnector } from '../../lib/engine/engine.js';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import { mseInitiate } from '../../lib/wire/mse.js';
import { libtorrentProblem } from '../support/lt-node.js';

const HOST = '127.0.0.1';
const SIZE = 3 * 1024 * 1024 + 4321;

let dir: string;
let t: BenchTorrent;
let data: Buffer;
let problem: string | null;

beforeAll(async () => {
  problem = libtorrentProblem();
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-utp-lt-'));
  t = await makeFileTorrent(dir, 'utp.bin', SIZE, 64 * 1024);
  data = await fsp.readFile(join(t.dataDir, 'utp.bin'));
}, 60_000);

afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

function requireLibtorrent(): void {
  if (problem)
    throw new Error(`python3-libtorrent is required (apt-get install python3-libtorrent): ${problem}`);
}

/** Dial over uTP, with an MSE handshake first when `mse`; records the crypto chosen. */
function dialer(utp: UtpPeers, mse: boolean, methods: string[]): PeerConnector {
  return async (address, opts) => {
    const raw = await utp.connect(address, opts);
    if (!mse) {
      methods.push('none');
      return raw;
    }
    const { stream } = await mseInitiate(raw, { infoHash: t.info.infoHash, timeoutMs: opts.timeoutMs });
    methods.push((stream as { method?: string }).method ?? '?');
    return stream;
  };
}

/** A uTP-only libtorrent downloader writing to `out`, dialing `peer`. */
const ltDownloadArgs = (out: string, peer: string): string[] =>
  transferPeerArgs({ torrentPath: t.torrentPath, savePath: out, host: HOST, peer, transport: 'utp' });

async function readAll(storage: MemoryStorage): Promise<Buffer> {
  const pieces = await Promise.all(Array.from({ length: t.info.pieceCount }, (_, i) => storage.readPiece(i)));
  return Buffer.concat(pieces);
}

describe('uTP interop with libtorrent (uTP only)', () => {
  for (const mse of [false, true]) {
    it(`(a) libtorrent seeds, we download over uTP${mse ? ' with MSE (RC4)' : ''}`, async () => {
      requireLibtorrent();
      const lt = await PeerProcess.start(
        'lt',
        'seed',
        transferPeerArgs({ torrentPath: t.torrentPath, savePath: t.dataDir, host: HOST, transport: 'utp' })
      );
      const utp = await utpPeers(HOST);
      const storage = new MemoryStorage(t.info);
      const methods: string[] = [];
      const engine = new BitTorrentEngine({
        infoHash: t.info.infoHash,
        info: t.info,
        storage,
        existing: 'none',
        connect: dialer(utp, mse, methods)
      });
      try {
        await engine.start();
        engine.addPeer({ host: HOST, port: Number(lt.ready.port) }, 'manual');
        await engine.done({ signal: AbortSignal.timeout(60_000) });
        expect((await readAll(storage)).equals(data)).toBe(true);
        expect(methods[0]).toBe(mse ? 'rc4' : 'none');
        expect(utp.socket.stats.dialed).toBeGreaterThanOrEqual(1);
        expect(utp.socket.stats.payloadIn).toBeGreaterThan(SIZE);
      } finally {
        await engine.destroy();
        await utp.close();
        await lt.proc.close();
      }
    }, 90_000);
  }

  it('(b) we seed over uTP, libtorrent dials us and downloads', async () => {
    requireLibtorrent();
    const utp = await utpPeers(HOST);
    const seed = new BitTorrentEngine({
      infoHash: t.info.infoHash,
      info: t.info,
      storage: MemoryStorage.fromData(t.info, data),
      existing: 'complete',
      seed: true,
      listener: utp.listener
    });
    const out = await fsp.mkdtemp(join(dir, 'lt-down-'));
    await seed.start();
    const lt = await PeerProcess.start('lt', 'download', ltDownloadArgs(out, `${HOST}:${utp.listener.port}`));
    try {
      const done = await lt.proc.request('go', 'done', 60_000);
      expect(Number(done.bytes)).toBeGreaterThanOrEqual(SIZE);
      expect((await fsp.readFile(join(out, 'utp.bin'))).equals(data)).toBe(true);
      expect(utp.socket.stats.accepted).toBe(1);
    } finally {
      await lt.proc.close();
      await seed.destroy();
      await utp.close();
    }
  }, 90_000);

  for (const mse of [false, true]) {
    it(`(c) we seed and dial libtorrent's downloader over uTP${mse ? ' with MSE (RC4)' : ''}`, async () => {
      requireLibtorrent();
      const utp = await utpPeers(HOST);
      const methods: string[] = [];
      const seed = new BitTorrentEngine({
        infoHash: t.info.infoHash,
        info: t.info,
        storage: MemoryStorage.fromData(t.info, data),
        existing: 'complete',
        seed: true,
        connect: dialer(utp, mse, methods)
      });
      const out = await fsp.mkdtemp(join(dir, 'lt-down-'));
      await seed.start();
      const lt = await PeerProcess.start('lt', 'download', ltDownloadArgs(out, `${HOST}:1`));
      try {
        const done = lt.proc.request('go-passive', 'done', 60_000);
        seed.addPeer({ host: HOST, port: Number(lt.ready.port) }, 'manual');
        expect(Number((await done).bytes)).toBeGreaterThanOrEqual(SIZE);
        expect((await fsp.readFile(join(out, 'utp.bin'))).equals(data)).toBe(true);
        expect(methods[0]).toBe(mse ? 'rc4' : 'none');
      } finally {
        await lt.proc.close();
        await seed.destroy();
        await utp.close();
      }
    }, 90_000);
  }
});
