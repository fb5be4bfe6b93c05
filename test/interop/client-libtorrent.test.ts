/**
 * A Client with libtorrent 2.0 (Debian's python3-libtorrent) on 127.0.0.1, peers found through
 * the DHT only (no trackers, no x.pe hints). One client, one DHT node, one TCP port, three
 * torrents at once:
 *   - A: seeded by libtorrent; the client starts from the magnet link (metadata and pieces
 *     from libtorrent);
 *   - B: seeded by our own Swarm;
 *   - C: seeded by the client; a libtorrent downloader gets it from the magnet link, dialing
 *     the client's one port, where its handshake is routed to C by infohash.
 * A missing python3-libtorrent is a failure, not a skip.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, createTorrent, seed, toMagnet, toTorrentFile, type Swarm } from '../../lib/index.js';
import { libtorrentProblem } from '../support/lt-node.js';
import { LtSwarm } from '../support/lt-swarm.js';
import { sameTree, writeTree } from '../support/file-tree.js';
import { startLoopbackDht, type LoopbackDht } from '../support/loopback-swarm.js';

const HOST = '127.0.0.1';
const KiB = 1024;
const MiB = 1024 * KiB;

let dir: string;
let network: LoopbackDht | undefined;
const lts: LtSwarm[] = [];
const swarms: Swarm[] = [];
let client: Client | undefined;

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-client-lt-'));
  network = await startLoopbackDht(HOST, 3, { queryTimeoutMs: 1000 });
}, 30_000);

afterAll(async () => {
  await Promise.all(lts.map((lt) => lt.close()));
  await client?.destroy();
  await Promise.all(swarms.map((s) => s.destroy()));
  await network?.destroy();
  await fsp.rm(dir, { recursive: true, force: true });
}, 30_000);

const addr = (i: number): string => network!.bootstrap[i]!;

describe('a Client with libtorrent 2.0 on loopback', () => {
  it('downloads from a libtorrent seeder and serves a libtorrent downloader, beside an ours-to-ours torrent, on one port', async () => {
    const problem = libtorrentProblem();
    if (problem)
      throw new Error(
        `python3-libtorrent is required for this test (apt-get install python3-libtorrent): ${problem}`
      );
    const src = join(dir, 'src');
    await writeTree(src, {
      'a.bin': 2 * MiB + 123,
      'b.bin': 1 * MiB + 7,
      'c/one.bin': 900 * KiB,
      'c/two.bin': 77
    });
    const infoA = await createTorrent(join(src, 'a.bin'), { pieceLength: 64 * KiB });
    const torrentA = join(dir, 'a.torrent');
    await fsp.writeFile(torrentA, toTorrentFile(infoA));
    const infoC = await createTorrent(join(src, 'c'), { pieceLength: 64 * KiB });

    // A: libtorrent seeds it and announces through node 0.
    const ltSeed = await LtSwarm.start({
      mode: 'seed',
      torrentFile: torrentA,
      savePath: src,
      bootstrap: [addr(0)]
    });
    lts.push(ltSeed);
    await ltSeed.next((e) => e.event === 'status' && e.state === 'seeding', 20_000, 'libtorrent to seed');
    // B: our own seeder.
    const b = await seed(join(src, 'b.bin'), {
      bootstrap: [addr(0)],
      dhtOptions: { host: HOST, port: 0, queryTimeoutMs: 1000 },
      listen: { host: HOST, port: 0 },
      create: { pieceLength: 64 * KiB }
    });
    swarms.push(b.swarm);

    const out = join(dir, 'out');
    client = await Client.create({
      bootstrap: [addr(1), addr(2)],
      dhtOptions: { host: HOST, port: 0, queryTimeoutMs: 1000 },
      listen: { host: HOST, port: 0 },
      discovery: { requeryMs: 1000, requeryMaxMs: 2000, idlePollMs: 500 }
    });
    const seeding = await client.add(infoC, { outDir: src, existing: 'complete' });
    const fromLt = await client.add(toMagnet({ infoHash: infoA.infoHash }), { outDir: out });
    const fromOurs = await client.add(b.magnet, { outDir: out });
    // Stored on a node, not just tried: a first announce can reach nobody on a loaded machine.
    await new Promise<void>((resolve) => seeding.on('announced', (storedOn) => storedOn > 0 && resolve()));

    // C: libtorrent downloads it from the client, bootstrapping from node 1 only.
    const ltOut = join(dir, 'lt-out');
    await fsp.mkdir(ltOut);
    const ltDown = await LtSwarm.start({
      mode: 'download',
      magnet: toMagnet({ infoHash: infoC.infoHash }),
      savePath: ltOut,
      bootstrap: [addr(1)]
    });
    lts.push(ltDown);

    await Promise.all([
      fromLt.done(),
      fromOurs.done(),
      ltDown.next((e) => e.event === 'finished', 90_000, 'libtorrent to download C from the client')
    ]);
    expect(fromLt.info?.name).toBe('a.bin'); // the metadata came from libtorrent
    await sameTree(src, out, ['a.bin', 'b.bin']);
    await sameTree(src, ltOut, ['c/one.bin', 'c/two.bin']);
    expect(seeding.progress().uploaded).toBeGreaterThanOrEqual(900 * KiB + 77);
    for (const t of client.list()) {
      expect(t.swarm?.dht).toBe(client.dht);
      expect(t.swarm?.port).toBe(client.port);
    }
    // libtorrent's connections came in on the client's one port.
    expect(client.listener.stats.accepted).toBeGreaterThanOrEqual(1);
  }, 150_000);
});
