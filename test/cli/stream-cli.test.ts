/**
 * `trackerless stream`, spawned as a user runs it: a .torrent and a magnet link, the printed
 * URL answers byte-identical ranges (curl), SIGTERM stops it with exit 130, and bad input (a
 * file index the torrent does not have, an unreadable argument) is exit 2 with a message.
 * The seeder is the library's, in this process, on loopback; the DHT is a node of our own.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DHT, formatAddress, seed, toTorrentFile, type SeedResult } from '../../lib/index.js';
import { seededRandom } from '../../lib/util/random.js';
import { ensureBuilt, MAIN, Spawner } from '../support/cli-process.js';
import { waitForAnnounce } from '../support/loopback-swarm.js';

const run = promisify(execFile);
const KiB = 1024;
const procs = new Spawner();
let dir: string;
let node: DHT;
let seeded: SeedResult;
let data: Buffer;
let torrentPath: string;

beforeAll(async () => {
  ensureBuilt([MAIN]);
  dir = await mkdtemp(join(tmpdir(), 'trackerless-stream-cli-'));
  node = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [], queryTimeoutMs: 500 });
  data = Buffer.from(seededRandom(51).bytes(1500 * KiB + 17));
  await writeFile(join(dir, 'song.mp3'), data);
  seeded = await seed(join(dir, 'song.mp3'), {
    bootstrap: [formatAddress(node.address())],
    dhtOptions: { host: '127.0.0.1', port: 0, queryTimeoutMs: 500 },
    listen: { host: '127.0.0.1', port: 0 },
    create: { pieceLength: 32 * KiB }
  });
  await waitForAnnounce(seeded.swarm);
  torrentPath = join(dir, 'song.torrent');
  await writeFile(torrentPath, toTorrentFile(seeded.swarm.info!));
}, 200_000);

afterAll(async () => {
  await procs.killAll();
  await seeded?.swarm.destroy();
  await node?.destroy();
  await rm(dir, { recursive: true, force: true });
});

const common = (out: string): string[] => [
  '--bootstrap',
  formatAddress(node.address()),
  '--host',
  '127.0.0.1',
  '--port',
  '0',
  '--out',
  join(dir, out)
];

describe('trackerless stream', () => {
  it.each([
    ['a .torrent file', () => torrentPath, 'out-torrent'],
    ['a magnet link', () => seeded.magnet, 'out-magnet']
  ])(
    '%s: prints the file URL; ranges byte-identical; SIGTERM exits 130',
    async (_what, input, out) => {
      const p = procs.start(MAIN, ['stream', input(), '--file', '0', ...common(out)], 60_000);
      const m = await p.waitFor(/^(http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{40}\/song\.mp3)$/m, 30_000, 'the URL');
      const url = m[1]!;
      for (const [a, b] of [
        [1_400_000, data.length - 1],
        [0, 99],
        [700_000, 800_000]
      ] as const) {
        const { stdout } = await run('curl', ['-sS', '--fail', '-r', `${a}-${b}`, url], {
          encoding: 'buffer',
          timeout: 30_000
        });
        expect(Buffer.compare(stdout, data.subarray(a, b + 1))).toBe(0);
      }
      p.child.kill('SIGTERM');
      const r = await p.exited;
      expect(r.code).toBe(130); // stopped by a signal, like every command
      expect(r.stderr).toMatch(/metadata: song\.mp3/);
    },
    90_000
  );

  it('a file index the torrent does not have, or an unreadable argument: exit 2', async () => {
    const bad = await procs.run(MAIN, ['stream', torrentPath, '--file', '3', ...common('bad')], 30_000);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--file 3: the torrent has 1 file/);
    const missing = await procs.run(MAIN, ['stream', join(dir, 'nope.torrent'), ...common('bad2')], 30_000);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/magnet link, an infohash.*\.torrent file/); // the CLI's shared wording
  }, 60_000);
});
