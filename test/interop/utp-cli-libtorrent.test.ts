/**
 * `trackerless download` and `trackerless seed` as a user runs them (built CLI, default
 * settings but loopback addresses and a private bootstrap node) against libtorrent 2.0.8 with
 * TCP off (uTP only, bench/lib/lt-bench.py --transport utp), both directions:
 *
 *  (a) libtorrent seeds; our download starts from a magnet link whose x.pe hint is libtorrent's
 *      port and must reach it over uTP (the default 'utp-first' policy);
 *  (b) we seed with `--port 0`; libtorrent dials the printed TCP port number over uTP (UDP),
 *      which is where we accept uTP (one port number for TCP, uTP and the DHT).
 *
 * Both transfers are checked byte for byte. A missing python3-libtorrent is a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFileTorrent, type BenchTorrent } from '../../bench/lib/content.js';
import { PeerProcess, transferPeerArgs } from '../../bench/lib/peer-process.js';
import { toHex } from '../../lib/util/bytes.js';
import { MAIN, Spawner, ensureBuilt, startBootstrapNode } from '../support/cli-process.js';
import { libtorrentProblem } from '../support/lt-node.js';

const HOST = '127.0.0.1';
const SIZE = 2 * 1024 * 1024 + 777;
const LOOPBACK = ['--host', HOST, '--no-lsd'];

const procs = new Spawner();
let dir: string;
let t: BenchTorrent;
let data: Buffer;
let problem: string | null;
let bootstrapAddress: string;

beforeAll(async () => {
  ensureBuilt([MAIN]);
  problem = libtorrentProblem();
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-utp-cli-'));
  t = await makeFileTorrent(dir, 'utp-cli.bin', SIZE, 64 * 1024);
  data = await fsp.readFile(join(t.dataDir, 'utp-cli.bin'));
  // Our own DHT node, joined by no one: the bootstrap of our processes (never the public routers).
  bootstrapAddress = (await startBootstrapNode(procs, 240_000)).address;
}, 240_000);

afterAll(async () => {
  await procs.killAll();
  await fsp.rm(dir, { recursive: true, force: true });
});

function requireLibtorrent(): void {
  if (problem)
    throw new Error(`python3-libtorrent is required (apt-get install python3-libtorrent): ${problem}`);
}

describe('the CLI with default settings and libtorrent over uTP only', () => {
  it('(a) download reaches a uTP-only libtorrent seed', async () => {
    requireLibtorrent();
    const lt = await PeerProcess.start(
      'lt',
      'seed',
      transferPeerArgs({ torrentPath: t.torrentPath, savePath: t.dataDir, host: HOST, transport: 'utp' })
    );
    const out = join(dir, 'a-out');
    try {
      const magnet = `magnet:?xt=urn:btih:${toHex(t.info.infoHash)}&x.pe=${HOST}:${String(lt.ready.port)}`;
      const down = procs.start(
        MAIN,
        ['download', magnet, '--out', out, ...LOOPBACK, '--bootstrap', bootstrapAddress],
        90_000
      );
      const result = await down.exited;
      expect(result.code).toBe(0);
      expect((await fsp.readFile(join(out, 'utp-cli.bin'))).equals(data)).toBe(true);
    } finally {
      await lt.proc.close();
    }
  }, 120_000);

  it('(b) seed accepts a uTP-only libtorrent on its TCP port number', async () => {
    requireLibtorrent();
    // The same piece length as the .torrent libtorrent gets: the same infohash.
    const seeder = procs.start(
      MAIN,
      [
        'seed',
        join(t.dataDir, 'utp-cli.bin'),
        '--piece-length',
        '64',
        ...LOOPBACK,
        '--bootstrap',
        bootstrapAddress
      ],
      120_000
    );
    const out = await fsp.mkdtemp(join(dir, 'b-out-'));
    try {
      const magnet = (await seeder.waitFor(/^(magnet:\?\S+)$/m, 60_000, 'the magnet link'))[1]!;
      expect(magnet).toContain(toHex(t.info.infoHash));
      const port = Number((await seeder.waitFor(/TCP port (\d+)/, 60_000, 'the seeder to listen'))[1]);
      const lt = await PeerProcess.start(
        'lt',
        'download',
        transferPeerArgs({
          torrentPath: t.torrentPath,
          savePath: out,
          host: HOST,
          peer: `${HOST}:${port}`,
          transport: 'utp'
        })
      );
      try {
        const done = await lt.proc.request('go', 'done', 60_000);
        expect(Number(done.bytes)).toBeGreaterThanOrEqual(SIZE);
        expect((await fsp.readFile(join(out, 'utp-cli.bin'))).equals(data)).toBe(true);
      } finally {
        await lt.proc.close();
      }
    } finally {
      seeder.child.kill('SIGINT');
      await seeder.exited;
    }
  }, 150_000);

  it('--transport takes only the policies', async () => {
    const r = await procs.run(MAIN, [
      'download',
      'magnet:?xt=urn:btih:' + '0'.repeat(40),
      '--transport',
      'udp'
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--transport.*utp-first/s);
  });
});
