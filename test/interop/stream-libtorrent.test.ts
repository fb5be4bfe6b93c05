/**
 * Streaming from a libtorrent 2.0 seeder (python3-libtorrent, bench/lib/lt-bench.py role seed:
 * its data checked by libtorrent, capped at 2 MiB/s with 127/8 in the global peer class) as
 * the only source, found through our loopback DHT from the magnet link alone: a read at 90%
 * gets its bytes long before the download completes, and HTTP ranges fetched with curl from
 * our stream server are byte-identical to the source. A missing python3-libtorrent is a
 * failure, not a skip.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StreamServer } from '../../lib/http/stream-server.js';
import { createTorrent, DHT, formatAddress, Swarm, toMagnet, toTorrentFile } from '../../lib/index.js';
import { seededRandom } from '../../lib/util/random.js';
import { libtorrentProblem, PeerProcess } from '../../bench/lib/peer-process.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const KiB = 1024;
const MiB = 1024 * KiB;

let dir: string;
const nodes: DHT[] = [];

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-stream-lt-'));
  const a = await DHT.create({ host: HOST, port: 0, bootstrap: [], queryTimeoutMs: 1000 });
  nodes.push(
    a,
    await DHT.create({ host: HOST, port: 0, bootstrap: [formatAddress(a.address())], queryTimeoutMs: 1000 })
  );
}, 30_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.destroy()));
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('streaming from a libtorrent seeder', () => {
  it('a read at 90% and curl ranges, libtorrent the only source', async () => {
    const problem = libtorrentProblem();
    if (problem)
      throw new Error(`python3-libtorrent is required (apt-get install python3-libtorrent): ${problem}`);
    const src = join(dir, 'src');
    await fsp.mkdir(src);
    const data = Buffer.from(seededRandom(41).bytes(8 * MiB + 5555));
    await fsp.writeFile(join(src, 'film.mkv'), data);
    const info = await createTorrent(join(src, 'film.mkv'), { pieceLength: 128 * KiB });
    const torrentPath = join(dir, 'film.torrent');
    await fsp.writeFile(torrentPath, toTorrentFile(info));

    const { proc: lt } = await PeerProcess.start('lt', 'seed', [
      '--torrent',
      torrentPath,
      '--save-path',
      src,
      '--host',
      HOST,
      '--upload-limit',
      String(2 * MiB),
      '--bootstrap',
      formatAddress(nodes[0]!.address())
    ]);
    let down: Swarm | undefined;
    let server: StreamServer | undefined;
    try {
      await waitFor(
        "libtorrent's DHT announce",
        async () => {
          await lt.request('announce', 'announced', 10_000);
          return (await nodes[1]!.getPeers(info.infoHash)).peers.length > 0;
        },
        { timeoutMs: 40_000, intervalMs: 1000 }
      );
      down = await Swarm.create({
        bootstrap: [formatAddress(nodes[1]!.address())],
        dhtOptions: { host: HOST, port: 0, queryTimeoutMs: 1000 },
        listen: { host: HOST, port: 0 },
        discovery: { requeryMs: 1000, requeryMaxMs: 2000, idlePollMs: 500 },
        magnet: toMagnet({ infoHash: info.infoHash, name: info.name }),
        outDir: join(dir, 'out'),
        seed: true
      });
      await down.metadata();
      const t0 = Date.now();
      let doneAt = 0;
      down.on('done', () => (doneAt = Date.now()));
      const file = down.files[0]!;
      const start = Math.floor(file.length * 0.9);
      const first = await new Promise<Buffer>((resolve, reject) => {
        const s = file.createReadStream({ start, end: start + 99_999 });
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('end', () => resolve(Buffer.concat(chunks)));
        s.on('error', reject);
      });
      const ttfb = Date.now() - t0;
      expect(first.equals(data.subarray(start, start + 100_000))).toBe(true);

      server = await StreamServer.listen({ torrents: () => [down!] });
      const url = server.fileUrl(down.infoHash, file);
      const rnd = seededRandom(42);
      for (let i = 0; i < 5; i++) {
        const a = rnd.int(data.length);
        const b = Math.min(data.length - 1, a + rnd.int(200 * KiB));
        const { stdout } = await run('curl', ['-sS', '--fail', '-r', `${a}-${b}`, url], {
          encoding: 'buffer',
          maxBuffer: 4 * MiB,
          timeout: 30_000
        });
        expect(Buffer.compare(stdout, data.subarray(a, b + 1))).toBe(0);
      }
      await down.done();
      const full = (doneAt || Date.now()) - t0;
      console.log(`[stream lt] read at 90%: 100 kB after ${ttfb} ms; whole 8 MiB file after ${full} ms`);
      expect(ttfb).toBeLessThan(full / 3);
      expect(down.progress().downloaded).toBeGreaterThanOrEqual(info.length); // all from libtorrent
    } finally {
      await server?.close();
      await down?.destroy();
      await lt.close();
    }
  }, 120_000);
});
