/**
 * The stream server over real sockets on 127.0.0.1, while the file is still downloading from a
 * rate-capped seeder found through the DHT: random ranges fetched with curl are byte-identical
 * to the source, HEAD / 416 / bad input answers, the listing, and a video made with ffmpeg
 * opened by ffprobe over the URL.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '../../lib/client/client.js';
import { StreamServer } from '../../lib/http/stream-server.js';
import { seed } from '../../lib/swarm/seed.js';
import { Swarm } from '../../lib/swarm/swarm.js';
import { seededRandom } from '../../lib/util/random.js';
import { toHex } from '../../lib/util/bytes.js';
import { loopbackSwarmOptions, startLoopbackDht, type LoopbackDht } from '../support/loopback-swarm.js';

const run = promisify(execFile);
const KiB = 1024;
const MiB = 1024 * KiB;

let dir: string;
let network: LoopbackDht;

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-stream-http-'));
  network = await startLoopbackDht('127.0.0.1');
});

afterAll(async () => {
  await network.destroy();
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Seed `path` (capped at `rate` B/s), start a downloader of it and a server over the downloader. */
async function streaming(path: string, rate: number) {
  const common = loopbackSwarmOptions('127.0.0.1', network.bootstrap);
  const seeded = await seed(path, { ...common, uploadLimit: rate, create: { pieceLength: 64 * KiB } });
  const down = await Swarm.create({
    ...common,
    magnet: seeded.magnet,
    outDir: join(dir, `out-${Date.now()}`),
    seed: true
  });
  const server = await StreamServer.listen({ torrents: () => [down] });
  const info = await down.metadata();
  const file = down.files[0]!;
  return {
    down,
    server,
    info,
    url: server.fileUrl(down.infoHash, file),
    close: async () => {
      await server.close();
      await down.destroy();
      await seeded.swarm.destroy();
    }
  };
}

/** A raw request (no URL normalisation: '..' reaches the server as typed). */
function raw(port: number, method: string, path: string, headers: Record<string, string> = {}) {
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
  }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) })
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('stream server over loopback', () => {
  it('curl -r ranges are byte-identical while downloading; HEAD, 416, bad input, listing', async () => {
    const data = Buffer.from(seededRandom(31).bytes(6 * MiB + 123));
    const src = join(dir, 'clip.mp4');
    await fsp.writeFile(src, data);
    const s = await streaming(src, 3 * MiB); // about 2 s for the whole file
    try {
      const rnd = seededRandom(32);
      const ranges: [number, number][] = [
        [data.length - 1000, data.length - 1],
        [0, 0]
      ];
      for (let i = 0; i < 8; i++) {
        const a = rnd.int(data.length);
        ranges.push([a, Math.min(data.length - 1, a + rnd.int(300 * KiB))]);
      }
      let doneAt = 0;
      s.down.on('done', () => (doneAt = Date.now()));
      const answered: number[] = [];
      const t0 = Date.now();
      for (const [a, b] of ranges) {
        const { stdout } = await run('curl', ['-sS', '--fail', '-r', `${a}-${b}`, s.url], {
          encoding: 'buffer',
          maxBuffer: 8 * MiB,
          timeout: 30_000
        });
        answered.push(Date.now());
        expect(Buffer.compare(stdout, data.subarray(a, b + 1))).toBe(0);
      }
      await s.down.done();
      // The first range (the file's last KiB) came before the download finished (how much
      // sooner is measured in virtual time by test/unit/stream-reader.test.ts).
      console.log(`first range ${answered[0]! - t0} ms, download ${(doneAt || Date.now()) - t0} ms`);
      expect(answered[0]!).toBeLessThan(doneAt || Date.now());
      const suffix = await run('curl', ['-sS', '--fail', '-r', '-777', s.url], {
        encoding: 'buffer',
        timeout: 30_000
      });
      expect(Buffer.compare(suffix.stdout, data.subarray(data.length - 777))).toBe(0);

      const path = new URL(s.url).pathname;
      const head = await raw(s.server.port, 'HEAD', path);
      expect(head.status).toBe(200);
      expect(head.headers['content-length']).toBe(String(data.length));
      expect(head.headers['accept-ranges']).toBe('bytes');
      expect(head.headers['content-type']).toBe('video/mp4');
      const part = await raw(s.server.port, 'HEAD', path, { Range: 'bytes=100-' });
      expect(part.status).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes 100-${data.length - 1}/${data.length}`);
      const past = await raw(s.server.port, 'GET', path, { Range: `bytes=${data.length}-` });
      expect(past.status).toBe(416);
      expect(past.headers['content-range']).toBe(`bytes */${data.length}`);
      expect((await raw(s.server.port, 'GET', path, { Range: 'bytes=0-1,5-9' })).status).toBe(400);
      expect((await raw(s.server.port, 'GET', path, { Range: 'bytes=9-5' })).status).toBe(400);
      expect((await raw(s.server.port, 'GET', path, { Range: 'lines=1-2' })).status).toBe(400);
      const ih = toHex(s.info.infoHash);
      expect((await raw(s.server.port, 'GET', `/${ih}/../../etc/passwd`)).status).toBe(400);
      expect((await raw(s.server.port, 'GET', `/${ih}/%2e%2e/x`)).status).toBe(400);
      expect((await raw(s.server.port, 'GET', `/${ih}/%E0%A4%A`)).status).toBe(400);
      expect((await raw(s.server.port, 'GET', `/${ih}/other.mp4`)).status).toBe(404);
      expect((await raw(s.server.port, 'GET', `/${'0'.repeat(40)}/clip.mp4`)).status).toBe(404);
      expect((await raw(s.server.port, 'POST', path)).status).toBe(405);

      const json = await raw(s.server.port, 'GET', '/?json');
      expect(JSON.parse(json.body.toString())).toEqual({
        torrents: [
          {
            infoHash: ih,
            name: 'clip.mp4',
            size: data.length,
            files: [{ index: 0, path: 'clip.mp4', size: data.length, url: `/${ih}/clip.mp4` }]
          }
        ]
      });
      const html = await raw(s.server.port, 'GET', '/', { Accept: 'text/html' });
      expect(html.headers['content-type']).toMatch(/text\/html/);
      expect(html.body.toString()).toContain(`href="/${ih}/clip.mp4"`);
    } finally {
      await s.close();
    }
  }, 90_000);

  it('ffprobe opens a video over the URL while it downloads', async () => {
    const video = join(dir, 'test-video.mp4');
    // 60 s of 320x240 test pattern, the index (moov) at the end as ffmpeg writes it by default:
    // a player reads the head, seeks to the end for the index, then reads the first seconds
    // of frames (ffprobe analyses 5 s of them): a small part of the file, in three places.
    await run(
      'ffmpeg',
      [
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc=size=320x240:rate=25:duration=60',
        '-c:v',
        'mpeg4',
        '-q:v',
        '2',
        '-y',
        video
      ],
      { timeout: 60_000 }
    );
    const size = (await fsp.stat(video)).size;
    const s = await streaming(video, Math.ceil(size / 10)); // ~10 s for the whole file
    try {
      const started = Date.now();
      const { stdout } = await run(
        'ffprobe',
        [
          '-v',
          'error',
          '-show_entries',
          'stream=codec_name,width,height:format=duration',
          '-of',
          'json',
          s.url
        ],
        { timeout: 60_000 }
      );
      const probeMs = Date.now() - started;
      const probed = JSON.parse(stdout) as {
        streams: { codec_name: string; width: number }[];
        format: { duration: string };
      };
      expect(probed.streams[0]).toMatchObject({ codec_name: 'mpeg4', width: 320 });
      expect(Number(probed.format.duration)).toBeCloseTo(60, 0);
      // It read what it needed without waiting for the whole download.
      expect(s.down.progress().verifiedBytes).toBeLessThan(size * 0.8);
      console.log(
        `ffprobe done in ${probeMs} ms, ${s.down.progress().verifiedBytes} of ${size} bytes verified`
      );
    } finally {
      await s.close();
    }
  }, 120_000);

  it("a Client's torrent: torrent.files[i] streams, and the server lists and serves the client's torrents", async () => {
    const data = Buffer.from(seededRandom(33).bytes(3 * MiB + 9));
    const src = join(dir, 'client-clip.webm');
    await fsp.writeFile(src, data);
    const common = loopbackSwarmOptions('127.0.0.1', network.bootstrap);
    const seeded = await seed(src, { ...common, uploadLimit: 2 * MiB, create: { pieceLength: 64 * KiB } });
    const client = await Client.create(common);
    let server: StreamServer | undefined;
    try {
      const t = await client.add(seeded.magnet, { outDir: join(dir, 'client-out'), seed: true });
      await t.metadata();
      const start = Math.floor(data.length * 0.9);
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        const s = t.files[0]!.createReadStream({ start });
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('end', resolve);
        s.on('error', reject);
      });
      expect(Buffer.concat(chunks).equals(data.subarray(start))).toBe(true);
      server = await StreamServer.listen({ torrents: () => client.list() });
      const url = server.fileUrl(t.infoHash, t.files[0]!);
      const { stdout } = await run('curl', ['-sS', '--fail', '-r', '1000-200000', url], {
        encoding: 'buffer',
        timeout: 30_000
      });
      expect(Buffer.compare(stdout, data.subarray(1000, 200_001))).toBe(0);
      const listed = await raw(server.port, 'GET', '/?json');
      expect(JSON.parse(listed.body.toString()).torrents[0].files[0].path).toBe('client-clip.webm');
      // A priority set on the file outlives a pause: the next engine gets it.
      t.files[0]!.setPriority('high');
      await t.pause();
      expect(t.files[0]!.priority).toBe('high');
      await t.resume();
      expect(t.engine!.filePriorities()).toEqual(['high']);
    } finally {
      await server?.close();
      await client.destroy();
      await seeded.swarm.destroy();
    }
  }, 90_000);
});
