/**
 * `trackerless seed` and `trackerless download` as real processes on 127.0.0.1: a DHT node
 * (`trackerless node --no-bootstrap`) is the only bootstrap of both; the downloader starts
 * from the printed magnet link alone (no x.pe hints), finds the seeder through the DHT,
 * fetches the metadata and the pieces. Every process has a deadline and is killed in afterAll.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { DHT } from '../../lib/dht/dht.js';
import { formatAddress } from '../../lib/net/address.js';
import { parseTorrentFile } from '../../lib/torrent/metainfo.js';
import { toHex } from '../../lib/util/bytes.js';
import { MAIN, Spawner, ensureBuilt, startBootstrapNode, type Running } from '../support/cli-process.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const LOOPBACK = ['--host', '127.0.0.1'];

/** The processes of the current test (a bootstrap node, a seeder...), stopped after it. */
const procs = new Spawner();
let dir: string;

beforeAll(async () => {
  ensureBuilt([MAIN]);
  dir = await mkdtemp(join(tmpdir(), 'trackerless-transfer-cli-'));
}, 200_000);

afterEach(() => procs.killAll());

afterAll(async () => {
  await procs.killAll();
  await rm(dir, { recursive: true, force: true });
});

/** A DHT node of our own on loopback, joined by no one: the bootstrap node of a test. */
async function bootstrapNode(): Promise<string> {
  return (await startBootstrapNode(procs)).address;
}

/** `trackerless seed`: resolves with the magnet link once the DHT stored the announce. */
async function startSeeder(
  path: string,
  bootstrap: string,
  extra: string[] = []
): Promise<{ seeder: Running; magnet: string }> {
  const seeder = procs.start(MAIN, ['seed', path, ...LOOPBACK, '--bootstrap', bootstrap, ...extra], 120_000);
  const [, magnet] = await seeder.waitFor(/^(magnet:\?\S+)$/m, 20_000, 'the magnet link');
  await seeder.waitFor(/announced on the DHT: stored on [1-9]/, 20_000, 'the seeder announce');
  expect(magnet).not.toMatch(/x\.pe=/); // the DHT is the only way to the seeder
  return { seeder, magnet: magnet! };
}

async function randomFile(name: string, size: number): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, randomBytes(size));
  return path;
}

async function expectSameBytes(a: string, b: string): Promise<void> {
  const [x, y] = await Promise.all([readFile(a), readFile(b)]);
  expect(y.length).toBe(x.length);
  expect(y.equals(x)).toBe(true);
}

describe('trackerless download / seed (spawned, loopback DHT only)', () => {
  it.each([
    [
      'not a link',
      'hello',
      /^trackerless: error: "hello" is neither a magnet link, an infohash nor a readable \.torrent file/
    ],
    [
      'a bad hex infohash',
      'magnet:?xt=urn:btih:zz2fe1c06bba254a9dc9f519b335aa7c1367a88a',
      /^trackerless: error: invalid magnet link: .*infohash/
    ],
    ['no xt', 'magnet:?dn=movie', /^trackerless: error: invalid magnet link: .*xt/]
  ])('rejects %s with exit 2 and a clear message', async (_what, link, message) => {
    const r = await procs.run(MAIN, [
      'download',
      link,
      '--out',
      join(dir, 'never'),
      '--bootstrap',
      '127.0.0.1:1'
    ]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('seed --torrent FILE: the announce that finishes while FILE is written is still reported', async () => {
    // FILE is a FIFO: writing it blocks until the test reads it, which it does only after the
    // bootstrap node stored the seeder's announce. Listeners attached after that write (the
    // old order) never see the 'announced' event of that first announce.
    const entry = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [] });
    try {
      const announced = new Promise<string>((resolve) =>
        entry.on('announce', (_peer, infoHash) => resolve(toHex(infoHash)))
      );
      const src = await randomFile('race.bin', 100 * KiB);
      const fifo = join(dir, 'race.torrent');
      execFileSync('mkfifo', [fifo]);
      const seeder = procs.start(
        MAIN,
        ['seed', src, ...LOOPBACK, '--bootstrap', formatAddress(entry.address()), '--torrent', fifo],
        60_000
      );
      const [, magnet] = await seeder.waitFor(/^(magnet:\?\S+)$/m, 20_000, 'the magnet link');
      const infoHash = await announced;
      expect(magnet).toContain(infoHash);
      const torrent = parseTorrentFile(await readFile(fifo));
      expect(toHex(torrent.info.infoHash)).toBe(infoHash);
      await seeder.waitFor(/^announced on the DHT: stored on 1 node$/m, 10_000, 'the first announce line');
      await seeder.waitFor(/^seeding race\.bin: /m, 5_000);
    } finally {
      await entry.destroy();
    }
  }, 60_000);

  it('download --verbose: a peer named by the magnet (x.pe) is reported with its source', async () => {
    // The swarm hands x.pe peers to the engine while it starts, before `create` returns: a
    // 'peer' listener attached after create (the old order) never printed them.
    const bootstrap = await bootstrapNode();
    const ih = toHex(randomBytes(20));
    const down = procs.start(
      MAIN,
      [
        'download',
        `magnet:?xt=urn:btih:${ih}&x.pe=127.0.0.1:9`,
        '--out',
        join(dir, 'xpe'),
        ...LOOPBACK,
        '--bootstrap',
        bootstrap,
        '--verbose'
      ],
      60_000
    );
    await down.waitFor(/^looking for peers of /m, 20_000, 'the download to start');
    await down.waitFor(/^peer 127\.0\.0\.1:9 found by magnet$/m, 10_000, 'the x.pe peer line');
  }, 60_000);

  it('seed + download --seed through a loopback DHT node: identical file; SIGTERM while seeding exits 130 (stopped by a signal)', async () => {
    const bootstrap = await bootstrapNode();
    const src = await randomFile('movie.bin', 3 * MiB + 12_345);
    const { magnet } = await startSeeder(src, bootstrap);
    const out = join(dir, 'out-1');
    const down = procs.start(
      MAIN,
      ['download', magnet, '--out', out, ...LOOPBACK, '--bootstrap', bootstrap, '--seed'],
      60_000
    );
    await down.waitFor(/^done: movie\.bin, 3\.01 MiB verified/m, 45_000, 'the download to finish');
    await down.waitFor(/^seeding on TCP port \d+/m, 5_000);
    await expectSameBytes(src, join(out, 'movie.bin'));
    expect(down.stdout).toBe(`${join(out, 'movie.bin')}\n`);
    expect(down.stderr).toMatch(/^metadata: movie\.bin, 3\.01 MiB in 1 file, /m);
    down.child.kill('SIGTERM');
    const r = await down.exited;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/^stopped seeding \(SIGTERM\)/m);
    // The metadata and the resume state are kept for a rerun, nothing else is written.
    expect((await readdir(out)).sort()).toEqual(['.trackerless', 'movie.bin']);
  }, 90_000);

  it('download --select (BEP 53): only the selected file is fetched and written; exit 0', async () => {
    const bootstrap = await bootstrapNode();
    const folder = join(dir, 'set');
    await mkdir(folder);
    // 64 KiB pieces: a.bin is pieces 0-3, b.bin pieces 4-8 (no shared piece).
    await randomFile('set/a.bin', 256 * KiB);
    const b = await randomFile('set/b.bin', 320 * KiB);
    const { magnet } = await startSeeder(folder, bootstrap, ['--piece-length', '64']);
    const out = join(dir, 'out-select');
    const r = await procs.run(
      MAIN,
      ['download', magnet, '--out', out, ...LOOPBACK, '--bootstrap', bootstrap, '--select', '1'],
      60_000
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^selected 1 file \(320\.0 KiB\): set\/b\.bin$/m);
    expect(r.stderr).toMatch(
      /^done: 1 selected file\(s\) of set verified in .*; fetched 320\.0 KiB \(327680 bytes\) from peers this run/m
    );
    expect(r.stdout).toBe(`${join(out, 'set')}\n`);
    await expectSameBytes(b, join(out, 'set', 'b.bin'));
    expect(await readdir(join(out, 'set'))).toEqual(['b.bin']);
  }, 90_000);

  it('Ctrl-C mid-way saves the state; the rerun fetches only the missing pieces and completes', async () => {
    const bootstrap = await bootstrapNode();
    const size = 4 * MiB;
    const pieceLength = 64 * KiB;
    const src = await randomFile('big.bin', size);
    const { magnet } = await startSeeder(src, bootstrap, ['--piece-length', '64']);
    const out = join(dir, 'out-2');
    const args = [
      'download',
      magnet,
      '--out',
      out,
      ...LOOPBACK,
      '--bootstrap',
      bootstrap,
      '--download-limit',
      '512k'
    ];

    // Run 1: capped at 512 KiB/s (8 s for the file), interrupted at its first progress line
    // showing some progress (a plain line every 2 s: stderr is not a terminal).
    const first = procs.start(MAIN, args, 60_000);
    await first.waitFor(
      /^metadata: big\.bin, 4\.00 MiB in 1 file, 64 pieces of 64\.0 KiB/m,
      30_000,
      'the metadata'
    );
    await first.waitFor(/^\[[#.]{20}\] +(?!0\.0%)\d+\.\d%  down /m, 30_000, 'a progress line above 0%');
    first.child.kill('SIGINT');
    const r1 = await first.exited;
    expect(r1.code).toBe(130);
    const m1 =
      /^interrupted \(SIGINT\): (\d+)\/64 pieces .* verified, fetched .* \((\d+) bytes\) from peers this run; state saved/m.exec(
        r1.stderr
      );
    expect(m1).not.toBeNull();
    const have = Number(m1![1]);
    expect(have).toBeGreaterThan(0);
    expect(have).toBeLessThan(64);

    // Run 2: starts from the saved state (no peer needed to know it), fetches the rest.
    const r2 = await procs.run(MAIN, args, 60_000);
    expect(r2.code).toBe(0);
    expect(r2.stderr).toMatch(new RegExp(`^resuming big\\.bin: ${have}/64 pieces .* already verified`, 'm'));
    const m2 =
      /^done: big\.bin, 4\.00 MiB verified in .*; fetched .* \((\d+) bytes\) from peers this run/m.exec(
        r2.stderr
      );
    expect(m2).not.toBeNull();
    const fetched = Number(m2![1]);
    const missing = size - have * pieceLength;
    expect(fetched).toBeGreaterThanOrEqual(missing);
    // Endgame may fetch a few blocks twice; never a piece we already had.
    expect(fetched).toBeLessThan(missing + 2 * pieceLength);
    await expectSameBytes(src, join(out, 'big.bin'));
  }, 120_000);

  it('BEP 46: seed --publish-key prints a btpk link; download follows it to the next version', async () => {
    const bootstrap = await bootstrapNode();
    const key = join(dir, 'publisher.pem');
    const publishArgs = ['--publish-key', key, '--publish-salt', 'nightly'];
    const src = await randomFile('nightly.bin', 300 * KiB);
    const { seeder } = await startSeeder(src, bootstrap, publishArgs);
    const [, link] = await seeder.waitFor(
      /^(magnet:\?xs=urn:btpk:[0-9a-f]{64}&s=6e696768746c79)$/m,
      20_000,
      'the btpk link'
    );
    await seeder.waitFor(
      /published as version 1 of [0-9a-f]{64}: stored on [1-9]/,
      20_000,
      'the publication'
    );

    // A follower: downloads version 1, then keeps following (checks every second).
    const out = join(dir, 'nightly-out');
    const follower = procs.start(
      MAIN,
      [
        'download',
        link!,
        '--out',
        out,
        '--seed',
        '--follow-interval',
        '1',
        ...LOOPBACK,
        '--bootstrap',
        bootstrap
      ],
      90_000
    );
    await follower.waitFor(/^version 1 \([0-9a-f]{40}\): done/m, 30_000, 'version 1 downloaded');
    await expectSameBytes(src, join(out, 'nightly.bin'));

    // Version 2: new content under the same name, seeded and published under the same key.
    seeder.child.kill('SIGINT');
    await seeder.exited;
    await writeFile(src, randomBytes(310 * KiB));
    const { seeder: seeder2 } = await startSeeder(src, bootstrap, publishArgs);
    await seeder2.waitFor(/published as version 2 of /, 20_000, 'version 2 published');
    await follower.waitFor(/^version 2 \([0-9a-f]{40}\): done/m, 30_000, 'version 2 downloaded');
    await expectSameBytes(src, join(out, 'nightly.bin'));
    follower.child.kill('SIGINT');
    expect((await follower.exited).code).toBe(130);
  }, 120_000);
});
