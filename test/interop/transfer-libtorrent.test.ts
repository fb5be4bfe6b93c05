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
 *
 * Then the same with Message Stream Encryption forced on libtorrent's side (RC4 only, it
 * refuses plaintext): (c) libtorrent dials our seeder with MSE (our listener's responder),
 * (d) our downloader with encryption 'required' dials libtorrent's seeder (our initiator).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Swarm,
  createTorrent,
  formatAddress,
  parseMagnet,
  seed,
  toHex,
  toMagnet,
  toTorrentFile,
  type SwarmOptions
} from '../../lib/index.js';
import {
  TcpPeerListener,
  connectPeer,
  type PeerConnector,
  type PeerListener
} from '../../lib/engine/index.js';
import { libtorrentProblem } from '../support/lt-node.js';
import { LtSwarm } from '../support/lt-swarm.js';
import { waitFor } from '../support/wait.js';
import { startLoopbackDht, waitForAnnounce, type LoopbackDht } from '../support/loopback-swarm.js';
import { sameTree, writeTree } from '../support/file-tree.js';

const HOST = '127.0.0.1';
const KiB = 1024;
const MiB = 1024 * KiB;

let dir: string;
let network: LoopbackDht | undefined;
const lts: LtSwarm[] = [];
const swarms: Swarm[] = [];
const listeners: TcpPeerListener[] = [];
let problem: string | null;

beforeAll(async () => {
  problem = libtorrentProblem();
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-lt-transfer-'));
  network = await startLoopbackDht(HOST, 3, { queryTimeoutMs: 1000 });
}, 30_000);

afterAll(async () => {
  await Promise.all(lts.map((lt) => lt.close()));
  await Promise.all(swarms.map((s) => s.destroy()));
  await Promise.all(listeners.map((l) => l.close()));
  await network?.destroy();
  await fsp.rm(dir, { recursive: true, force: true });
}, 30_000);

const addr = (i: number): string => network!.bootstrap[i]!;

function requireLibtorrent(): void {
  if (problem)
    throw new Error(
      `python3-libtorrent is required for this test (apt-get install python3-libtorrent): ${problem}`
    );
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

describe('transfers with libtorrent 2.0 on loopback, through the DHT only', () => {
  it('(a) our downloader gets a torrent from a libtorrent seeder, from the magnet link alone', async () => {
    requireLibtorrent();
    const src = join(dir, 'a-src');
    await writeTree(src, { 'payload.bin': 3 * MiB + 4321 });
    const info = await createTorrent(join(src, 'payload.bin'), { pieceLength: 64 * KiB });
    const torrentFile = join(dir, 'a.torrent');
    await fsp.writeFile(torrentFile, toTorrentFile(info));
    const ih = toHex(info.infoHash);

    const started = Date.now();
    const lt = await LtSwarm.start({ mode: 'seed', torrentFile, savePath: src, bootstrap: [addr(0)] });
    lts.push(lt);
    await lt.next(
      (e) => e.event === 'status' && e.state === 'seeding',
      20_000,
      'libtorrent to check the data and seed'
    );
    // libtorrent's announce stored on our nodes: a lookup from C finds libtorrent's TCP port.
    await waitFor(
      `libtorrent's DHT announce of ${ih}`,
      async () => (await network!.nodes[2]!.getPeers(info.infoHash)).peers.some((p) => p.port === lt.port),
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
      detail: () =>
        `progress ${JSON.stringify(down.progress())}; peers found ${peers.join(' ')}; ${lt.describe()}`
    });
    const doneAt = Date.now();
    expect(peers).toContain(`dht:${HOST}:${lt.port}`);
    await sameTree(src, out, ['payload.bin']);
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
    await writeTree(src, files);
    // Our listener, default encryption policy: libtorrent (defaults) dials with MSE first.
    const listener = await TcpPeerListener.listen({ host: HOST, port: 0 });
    listeners.push(listener);
    const seeded = await seed(join(src, 'album'), {
      ...ours([addr(0)]),
      listen: listener,
      create: { pieceLength: 32 * KiB }
    });
    swarms.push(seeded.swarm);
    expect(parseMagnet(seeded.magnet).peers).toEqual([]);
    await waitForAnnounce(seeded.swarm);

    const started = Date.now();
    const savePath = join(dir, 'b-out');
    await fsp.mkdir(savePath);
    const lt = await LtSwarm.start({
      mode: 'download',
      magnet: seeded.magnet,
      savePath,
      bootstrap: [addr(0)]
    });
    lts.push(lt);
    const meta = await lt.next(
      (e) => e.event === 'metadata',
      60_000,
      'the metadata (ut_metadata from our seeder)'
    );
    expect(meta.name).toBe('album');
    expect(meta.size).toBe(1200 * KiB + 7 + 900 * KiB + 33);
    const metadataAt = Date.now();
    await lt.next((e) => e.event === 'finished', 60_000, 'libtorrent to finish the download');
    const doneAt = Date.now();
    await sameTree(src, savePath, Object.keys(files));
    expect(seeded.swarm.progress().uploaded).toBeGreaterThanOrEqual(1200 * KiB + 900 * KiB);
    // Its MSE attempt is answered (no refused connection, no ~1 s plaintext redial).
    expect(listener.stats.refused).toBe(0);
    console.log(
      `(b) ours -> libtorrent: metadata ${metadataAt - started} ms after start, done after ${doneAt - started} ms; listener ${JSON.stringify(listener.stats)}`
    );
  }, 120_000);
});

describe('transfers with libtorrent 2.0 forcing Message Stream Encryption (RC4)', () => {
  it('(c) libtorrent (MSE forced) downloads from our seeder: our listener answers MSE and selects RC4', async () => {
    requireLibtorrent();
    const src = join(dir, 'c-src');
    await writeTree(src, { 'enc.bin': 2 * MiB + 999 });
    const listener = await TcpPeerListener.listen({ host: HOST, port: 0 }); // default policy: 'enabled'
    try {
      // What reaches the engine: an MseStream says which method was selected.
      const methods: string[] = [];
      const spy: PeerListener = {
        get port() {
          return listener.port;
        },
        register: (infoHash, handler) =>
          listener.register(infoHash, (stream, remote) => {
            methods.push((stream as { method?: string }).method ?? 'not mse');
            handler(stream, remote);
          })
      };
      const seeded = await seed(join(src, 'enc.bin'), {
        ...ours([addr(0)]),
        listen: spy,
        create: { pieceLength: 32 * KiB }
      });
      swarms.push(seeded.swarm);
      await waitForAnnounce(seeded.swarm);
      const started = Date.now();
      const savePath = join(dir, 'c-out');
      await fsp.mkdir(savePath);
      const lt = await LtSwarm.start({
        mode: 'download',
        magnet: seeded.magnet,
        savePath,
        bootstrap: [addr(0)],
        encryption: 'forced-rc4'
      });
      lts.push(lt);
      await lt.next((e) => e.event === 'finished', 60_000, 'libtorrent to finish the encrypted download');
      const doneAt = Date.now();
      await sameTree(src, savePath, ['enc.bin']);
      expect(listener.stats.encrypted).toBeGreaterThanOrEqual(1);
      expect(listener.stats.encrypted).toBe(listener.stats.accepted);
      expect(methods.length).toBeGreaterThan(0);
      expect(methods.every((m) => m === 'rc4')).toBe(true);
      expect(seeded.swarm.progress().uploaded).toBeGreaterThanOrEqual(2 * MiB);
      console.log(
        `(c) ours -> libtorrent (MSE/RC4): done after ${doneAt - started} ms; listener ${JSON.stringify(listener.stats)}`
      );
      await seeded.swarm.destroy();
    } finally {
      await listener.close();
    }
  }, 120_000);

  it("(d) our downloader (encryption 'required') gets a torrent from a libtorrent seeder (MSE forced)", async () => {
    requireLibtorrent();
    const src = join(dir, 'd-src');
    await writeTree(src, { 'enc.bin': 2 * MiB + 4321 });
    const info = await createTorrent(join(src, 'enc.bin'), { pieceLength: 64 * KiB });
    const torrentFile = join(dir, 'd.torrent');
    await fsp.writeFile(torrentFile, toTorrentFile(info));
    const lt = await LtSwarm.start({
      mode: 'seed',
      torrentFile,
      savePath: src,
      bootstrap: [addr(0)],
      encryption: 'forced-rc4'
    });
    lts.push(lt);
    await lt.next(
      (e) => e.event === 'status' && e.state === 'seeding',
      20_000,
      'libtorrent to check the data and seed'
    );
    await waitFor(
      `libtorrent's DHT announce of ${toHex(info.infoHash)}`,
      async () => (await network!.nodes[2]!.getPeers(info.infoHash)).peers.some((p) => p.port === lt.port),
      { timeoutMs: 40_000, intervalMs: 500, detail: () => lt.describe() }
    );
    const started = Date.now();
    const out = join(dir, 'd-out');
    // The default connector with the swarm's policy, watched: each dial's negotiated method.
    const methods: string[] = [];
    const connect: PeerConnector = async (address, o) => {
      const stream = await connectPeer(address, info.infoHash, { ...o, encryption: 'required' });
      methods.push((stream as { method?: string }).method ?? 'not mse');
      return stream;
    };
    const magnet = toMagnet({ infoHash: info.infoHash, name: info.name });
    const down = await Swarm.create({
      ...ours([addr(1), addr(2)]),
      magnet,
      outDir: out,
      encryption: 'required',
      // The watched connector is the TCP one: dial TCP only (uTP-first would reach libtorrent
      // over uTP and never call it).
      transport: 'tcp',
      engineOptions: { connect }
    });
    swarms.push(down);
    await waitFor('our encrypted download from libtorrent', () => down.engine.complete, {
      timeoutMs: 60_000,
      intervalMs: 100,
      detail: () => `progress ${JSON.stringify(down.progress())}; ${lt.describe()}`
    });
    const doneAt = Date.now();
    await sameTree(src, out, ['enc.bin']);
    expect(down.progress().downloaded).toBeGreaterThanOrEqual(info.length); // libtorrent is the only peer
    // libtorrent (forced RC4) saw us connect from an ephemeral port: our dial, not our listener.
    const ourPort = down.port;
    expect(lt.events.some((e) => e.event === 'peer' && e.port !== ourPort)).toBe(true);
    expect(methods.length).toBeGreaterThan(0);
    expect(methods.every((m) => m === 'rc4')).toBe(true);
    console.log(
      `(d) libtorrent (MSE/RC4) -> ours (required): all ${(info.length / MiB).toFixed(1)} MiB after ${doneAt - started} ms`
    );
  }, 120_000);
});
