/**
 * Transfers with libtorrent-rasterbar 2.0 (Debian's python3-libtorrent), on 127.0.0.1, peers
 * found through the DHT only (no trackers, no x.pe hints):
 *
 *   (a) libtorrent seeds a torrent we created (it gets the .torrent bytes and the data) and
 *       announces it through our DHT; our downloader starts from the magnet link alone:
 *       metadata from libtorrent (BEP 9 ut_metadata), then the pieces.
 *   (b) our seeder seeds a folder; libtorrent gets only the magnet link and our DHT node as
 *       its only bootstrap: metadata from us, then the pieces.
 *
 * The DHT: our nodes A, B, C (B and C join through A). A node never returns itself in
 * get_peers, so every downloader bootstraps from nodes other than the seeder's own node.
 * libtorrent runs in test/interop/lt_swarm.py (loopback-only settings, uTP off). A missing
 * python3-libtorrent is a failure, not a skip.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DHT, Swarm, createTorrent, formatAddress, parseMagnet, seed, toHex, toMagnet, toTorrentFile, type SwarmOptions } from '../../lib/index.js';
import { libtorrentProblem } from '../support/lt-node.js';
import { LtSwarm } from '../support/lt-swarm.js';
import { waitFor } from '../support/wait.js';

const HOST = '127.0.0.1';
const KiB = 1024;
const MiB = 1024 * KiB;

let dir: string;
const nodes: DHT[] = [];
const lts: LtSwarm[] = [];
const swarms: Swarm[] = [];
let problem: string | null;

beforeAll(async () => {
  problem = libtorrentProblem();
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-lt-transfer-'));
  const a = await DHT.create({ host: HOST, port: 0, bootstrap: [], queryTimeoutMs: 1000 });
  nodes.push(a);
  for (let i = 0; i < 2; i++) nodes.push(await DHT.create({ host: HOST, port: 0, bootstrap: [formatAddress(a.address())], queryTimeoutMs: 1000 }));
}, 30_000);

afterAll(async () => {
  await Promise.all(lts.map((lt) => lt.close()));
  await Promise.all(swarms.map((s) => s.destroy()));
  await Promise.all(nodes.map((n) => n.destroy()));
  await fsp.rm(dir, { recursive: true, force: true });
}, 30_000);

const addr = (i: number): string => formatAddress(nodes[i]!.address());

function requireLibtorrent(): void {
  if (problem) throw new Error(`python3-libtorrent is required for this test (apt-get install python3-libtorrent): ${problem}`);
}

/** Our swarms: loopback only, quick re-lookups while the DHT forms. */
function ours(bootstrap: string[]): Pick<SwarmOptions, 'bootstrap' | 'dhtOptions' | 'listen' | 'discovery'> {
  return {
    bootstrap,
    dhtOptions: { host: HOST, port: 0, queryTimeoutMs: 1000 },
    listen: { host: HOST, port: 0 },
    discovery: { requeryMs: 1000, requeryMaxMs: 2000, idlePollMs: 500 }
  };
}

async function writeFiles(root: string, files: Record<string, number>): Promise<void> {
  for (const [rel, size] of Object.entries(files)) {
    await fsp.mkdir(join(root, rel, '..'), { recursive: true });
    await fsp.writeFile(join(root, rel), randomBytes(size));
  }
}

async function expectSameFiles(a: string, b: string, files: string[]): Promise<void> {
  for (const rel of files) {
    const [x, y] = await Promise.all([fsp.readFile(join(a, rel)), fsp.readFile(join(b, rel))]);
    expect({ file: rel, length: y.length }).toEqual({ file: rel, length: x.length });
    expect(y.equals(x)).toBe(true);
  }
}

describe('transfers with libtorrent 2.0 on loopback, through the DHT only', () => {
  it('(a) our downloader gets a torrent from a libtorrent seeder, from the magnet link alone', async () => {
    requireLibtorrent();
    const src = join(dir, 'a-src');
    await writeFiles(src, { 'payload.bin': 3 * MiB + 4321 });
    const info = await createTorrent(join(src, 'payload.bin'), { pieceLength: 64 * KiB });
    const torrentFile = join(dir, 'a.torrent');
    await fsp.writeFile(torrentFile, toTorrentFile(info));
    const ih = toHex(info.infoHash);

    const started = Date.now();
    const lt = await LtSwarm.start({ mode: 'seed', torrentFile, savePath: src, bootstrap: [addr(0)] });
    lts.push(lt);
    await lt.next((e) => e.event === 'status' && e.state === 'seeding', 20_000, 'libtorrent to check the data and seed');
    // libtorrent's announce stored on our nodes: a lookup from C finds libtorrent's TCP port.
    await waitFor(
      `libtorrent's DHT announce of ${ih}`,
      async () => (await nodes[2]!.getPeers(info.infoHash)).peers.some((p) => p.port === lt.port),
      { timeoutMs: 40_000, intervalMs: 500, detail: () => lt.describe() }
    );
    const announcedAt = Date.now();

    const magnet = toMagnet({ infoHash: info.infoHash, name: info.name });
    expect(parseMagnet(magnet).peers).toEqual([]);
    const out = join(dir, 'a-out');
    const down = await Swarm.create({ ...ours([addr(1), addr(2)]), magnet, outDir: out });
    swarms.push(down);
    const peers: string[] = [];
    down.on('peer', (p, source) => peers.push(`${source}:${formatAddress(p)}`));
    let metadataAt = 0;
    down.once('metadata', () => (metadataAt = Date.now()));
    await waitFor('our download from libtorrent', () => down.engine.complete, {
      timeoutMs: 60_000,
      intervalMs: 100,
      detail: () => `progress ${JSON.stringify(down.progress())}; peers found ${peers.join(' ')}; ${lt.describe()}`
    });
    const doneAt = Date.now();
    expect(peers).toContain(`dht:${HOST}:${lt.port}`);
    await expectSameFiles(src, out, ['payload.bin']);
    expect(down.progress().downloaded).toBeGreaterThanOrEqual(info.length); // all of it from libtorrent, the only peer
    console.log(
      `(a) libtorrent -> ours: announce found ${announcedAt - started} ms after start, ` +
        `then metadata after ${metadataAt - announcedAt} ms, all ${(info.length / MiB).toFixed(1)} MiB after ${doneAt - announcedAt} ms`
    );
  }, 120_000);

  it('(b) libtorrent downloads a folder from our seeder, from the magnet link alone', async () => {
    requireLibtorrent();
    const src = join(dir, 'b-src');
    const files = { 'album/one.bin': 1200 * KiB + 7, 'album/sub/two.bin': 900 * KiB, 'album/three.txt': 33 };
    await writeFiles(src, files);
    const seeded = await seed(join(src, 'album'), { ...ours([addr(0)]), create: { pieceLength: 32 * KiB } });
    swarms.push(seeded.swarm);
    expect(parseMagnet(seeded.magnet).peers).toEqual([]);
    await waitFor('our seeder announce', () => seeded.swarm.dht!.stats().queriesOut['announce_peer'] ?? 0, { timeoutMs: 15_000, intervalMs: 100 });

    const started = Date.now();
    const savePath = join(dir, 'b-out');
    await fsp.mkdir(savePath);
    const lt = await LtSwarm.start({ mode: 'download', magnet: seeded.magnet, savePath, bootstrap: [addr(0)] });
    lts.push(lt);
    const meta = await lt.next((e) => e.event === 'metadata', 60_000, 'the metadata (ut_metadata from our seeder)');
    expect(meta.name).toBe('album');
    expect(meta.size).toBe(1200 * KiB + 7 + 900 * KiB + 33);
    const metadataAt = Date.now();
    await lt.next((e) => e.event === 'finished', 60_000, 'libtorrent to finish the download');
    const doneAt = Date.now();
    await expectSameFiles(src, savePath, Object.keys(files));
    expect(seeded.swarm.progress().uploaded).toBeGreaterThanOrEqual(1200 * KiB + 900 * KiB);
    console.log(`(b) ours -> libtorrent: metadata ${metadataAt - started} ms after start, done after ${doneAt - started} ms`);
  }, 120_000);
});
