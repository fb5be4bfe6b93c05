/**
 * `create`, `info`, and `download` / `seed` from a .torrent file or an infohash, spawned as a
 * user runs them, on 127.0.0.1 only: a `trackerless node --no-bootstrap` is the only DHT
 * bootstrap, or there is none (--no-bootstrap). libtorrent (python3-libtorrent) writes
 * .torrent files we must accept and reads the ones `create` writes. Also the fail-fast
 * paths: an unwritable --out, --timeout, and the first SIGTERM while nothing happens.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAIN, Spawner, ensureBuilt, startBootstrapNode, type Running } from '../support/cli-process.js';
import { PYTHON, libtorrentProblem } from '../support/lt-node.js';

const LT_TORRENT = fileURLToPath(new URL('../interop/lt_torrent.py', import.meta.url));
const LOOPBACK = ['--host', '127.0.0.1'];
const NOBODY = '0123456789abcdef0123456789abcdef01234567';

interface LtTorrent {
  infoHash: string;
  name: string;
  pieceLength: number;
  numPieces: number;
  totalSize: number;
  files: { path: string; size: number; pad: boolean }[];
}

interface InfoJson {
  infoHash: string;
  name: string;
  length: number;
  pieceLength: number;
  pieceCount: number;
  files: { index: number; path: string; size: number; padding?: true }[];
}

/** The processes of the current test (a bootstrap node, a seeder...), stopped after it. */
const procs = new Spawner();
let dir: string;
/** A folder of two files: the content of every test here. */
let content: string;

function lt(...args: string[]): LtTorrent {
  return JSON.parse(
    execFileSync(PYTHON, [LT_TORRENT, ...args], { encoding: 'utf8', timeout: 30_000 })
  ) as LtTorrent;
}

beforeAll(async () => {
  // The interop half needs libtorrent: .ci/run installs it; a missing one is a failure, not a skip.
  expect(libtorrentProblem()).toBeNull();
  ensureBuilt([MAIN]);
  dir = await mkdtemp(join(tmpdir(), 'trackerless-torrent-cli-'));
  content = join(dir, 'album');
  await mkdir(join(content, 'disc 2'), { recursive: true });
  await writeFile(join(content, 'cover.jpg'), randomBytes(300_001));
  await writeFile(join(content, 'disc 2', 'track.flac'), randomBytes(1_700_003));
}, 200_000);

afterEach(() => procs.killAll());

afterAll(async () => {
  await procs.killAll();
  await rm(dir, { recursive: true, force: true });
});

async function bootstrapNode(): Promise<string> {
  return (await startBootstrapNode(procs)).address;
}

/** `seed <x.torrent> --out DIR`: resolves once the DHT stored its announce. */
async function seedTorrent(torrent: string, dataDir: string, bootstrap: string): Promise<Running> {
  const seeder = procs.start(
    MAIN,
    ['seed', torrent, '--out', dataDir, ...LOOPBACK, '--bootstrap', bootstrap],
    120_000
  );
  await seeder.waitFor(/verified in .*; TCP port \d+/, 20_000, 'the seeder to check its data');
  await seeder.waitFor(/announced on the DHT: stored on [1-9]/, 20_000, 'the seeder announce');
  return seeder;
}

async function expectSameTree(a: string, b: string): Promise<void> {
  for (const rel of ['cover.jpg', join('disc 2', 'track.flac')]) {
    const [x, y] = await Promise.all([readFile(join(a, rel)), readFile(join(b, rel))]);
    expect(y.equals(x)).toBe(true);
  }
}

describe('trackerless create / info (spawned, no network)', () => {
  // Each child is a node start (~0.3 s of CPU): the independent ones run side by side, so that
  // on a loaded machine a test waits for the slowest, not for the sum (six in a row once took
  // over the 60 s).
  it('create writes a .torrent libtorrent loads identically, prints the magnet; info lists the files with indices', async () => {
    const out = join(dir, 'ours.torrent');
    const created = await procs.run(MAIN, ['create', content, '--out', out, '--piece-length', '32']);
    expect(created.code).toBe(0);
    const [magnet] = created.stdout.trim().split('\n');
    expect(magnet).toMatch(/^magnet:\?xt=urn:btih:[0-9a-f]{40}&dn=album$/);
    expect(created.stderr).toMatch(
      /^wrote .*ours\.torrent: album, 1\.91 MiB in 2 files, 62 pieces of 32\.0 KiB/m
    );

    const jsonRun = procs.run(MAIN, ['info', out, '--json']);
    const tableRun = procs.run(MAIN, ['info', out]);
    const theirs = lt('load', out);
    const [json, table] = await Promise.all([jsonRun, tableRun]);
    expect(magnet).toContain(theirs.infoHash);
    expect(theirs).toMatchObject({ name: 'album', pieceLength: 32 * 1024, totalSize: 2_000_004 });
    expect(theirs.files).toEqual([
      { path: 'album/cover.jpg', size: 300_001, pad: false },
      { path: 'album/disc 2/track.flac', size: 1_700_003, pad: false }
    ]);

    expect(json.code).toBe(0);
    const info = JSON.parse(json.stdout) as InfoJson;
    expect(info).toMatchObject({
      infoHash: theirs.infoHash,
      name: 'album',
      length: 2_000_004,
      pieceCount: 62
    });
    expect(info.files).toEqual([
      { index: 0, path: 'album/cover.jpg', size: 300_001 },
      { index: 1, path: 'album/disc 2/track.flac', size: 1_700_003 }
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^infohash: +${theirs.infoHash}$`, 'm'));
    expect(table.stdout).toMatch(/^ +0 +293\.0 KiB +album\/cover\.jpg$/m);
    expect(table.stdout).toMatch(/^ +1 +1\.62 MiB +album\/disc 2\/track\.flac$/m);
  }, 60_000);

  it('create keeps an existing output file unless --force', async () => {
    const out = join(dir, 'existing.torrent');
    await writeFile(out, 'not yours');
    const again = await procs.run(MAIN, ['create', content, '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists \(add --force to overwrite it\)/);
    expect(await readFile(out, 'utf8')).toBe('not yours');
    const forced = await procs.run(MAIN, ['create', content, '--out', out, '--force']);
    expect(forced.code).toBe(0);
    expect(lt('load', out).name).toBe('album');
  }, 60_000);

  it.each(['v1', 'hybrid'])(
    'info reads a %s .torrent written by libtorrent (padding files listed)',
    async (kind) => {
      const file = join(dir, `lt-${kind}.torrent`);
      const theirs = lt('make', content, file, kind);
      const r = await procs.run(MAIN, ['info', file, '--json']);
      expect(r.code).toBe(0);
      const info = JSON.parse(r.stdout) as InfoJson;
      expect(info.infoHash).toBe(theirs.infoHash);
      expect(info.pieceCount).toBe(theirs.numPieces);
      expect(info.files.map((f) => ({ path: f.path, size: f.size, pad: f.padding === true }))).toEqual(
        theirs.files
      );
      expect(info.files.map((f) => f.index)).toEqual(theirs.files.map((_, i) => i));
    },
    60_000
  );

  it('create fails fast (exit 1, nothing hashed) when --out cannot be written; bad inputs are usage errors', async () => {
    // A sparse 1 TiB file: hashing it first would take far longer than the run's 30 s deadline
    // (killed: no exit code), however fast or loaded the machine; checking --out first is at once.
    const huge = join(dir, 'huge.bin');
    await writeFile(huge, '');
    await truncate(huge, 2 ** 40);
    const r = await procs.run(MAIN, ['create', huge, '--out', '/proc/nope/x.torrent']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot write to the directory of the \.torrent file \/proc\/nope: ENOENT/);
    expect(r.stderr).not.toMatch(/hashing/);
    const [missing, notTorrent, v2] = await Promise.all([
      procs.run(MAIN, ['create', join(dir, 'missing')]),
      procs.run(MAIN, ['info', join(content, 'cover.jpg')]),
      procs.run(MAIN, ['info', 'ab'.repeat(32), '--no-bootstrap'])
    ]);
    expect(missing.code).toBe(2);
    expect(notTorrent.code).toBe(2);
    expect(notTorrent.stderr).toMatch(/cover\.jpg is not a usable \.torrent file/);
    expect(v2.code).toBe(2);
    expect(v2.stderr).toMatch(/v2 \(BEP 52\).*not supported/);
  }, 60_000);
});

describe('download / seed / info from a .torrent or infohash (spawned, loopback DHT only)', () => {
  it('a libtorrent .torrent: seed it from its data, info fetches the metadata by infohash, download gets identical files and exits at once; seed <infohash> serves the copy', async () => {
    const torrent = join(dir, 'lt-seeded.torrent');
    const theirs = lt('make', content, torrent, 'v1');
    const bootstrap = await bootstrapNode();
    const first = await seedTorrent(torrent, dir, bootstrap);

    // info by bare infohash: the metadata comes from the seeder (BEP 9), nothing is written.
    const fetched = await procs.run(
      MAIN,
      ['info', theirs.infoHash, ...LOOPBACK, '--bootstrap', bootstrap, '--json'],
      60_000
    );
    expect(fetched.code).toBe(0);
    expect(fetched.stderr).toMatch(
      /^metadata: album, 1\.91 MiB in 2 files, \d+ pieces of .*, from peers in \d+:\d\d$/m
    );
    const info = JSON.parse(fetched.stdout) as InfoJson;
    expect(info.files.map((f) => f.path)).toEqual(['album/cover.jpg', 'album/disc 2/track.flac']);

    // download from the .torrent file: the metadata is known at once.
    const out = join(dir, 'from-torrent');
    const down = procs.start(
      MAIN,
      ['download', torrent, '--out', out, ...LOOPBACK, '--bootstrap', bootstrap],
      60_000
    );
    await down.waitFor(/^done: album, /m, 45_000, 'the download to finish');
    const doneAt = Date.now();
    const r = await down.exited;
    // A complete download exits at once (the engine stops, nothing lingers).
    expect(Date.now() - doneAt).toBeLessThan(3_000); // ~200 ms at load 12
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/still running .* exiting now/); // no handle left open
    expect(r.stderr).toMatch(
      new RegExp(
        `^metadata: album, 1\\.91 MiB in 2 files, ${theirs.numPieces} pieces of ${theirs.pieceLength / 1024}\\.0 KiB, from .*lt-seeded\\.torrent$`,
        'm'
      )
    );
    // stderr is a pipe here: plain lines, never a carriage-return redraw.
    expect(r.stderr).not.toContain('\r');
    expect(r.stdout).toBe(`${join(out, 'album')}\n`);
    await expectSameTree(content, join(out, 'album'));

    // seed <infohash> --out: the metadata from the first seeder, the data from the download.
    const second = procs.start(
      MAIN,
      ['seed', theirs.infoHash, '--out', out, ...LOOPBACK, '--bootstrap', bootstrap],
      120_000
    );
    await second.waitFor(/^metadata: album, 1\.91 MiB, from peers; checking the data in /m, 20_000);
    await second.waitFor(/^all \d+ pieces of album verified in .*: seeding$/m, 20_000);
    await second.waitFor(/announced on the DHT: stored on [1-9]/, 20_000, 'the second seeder announce');
    // Printed at once, before the metadata (and its name) is known.
    expect(second.stdout).toBe(`magnet:?xt=urn:btih:${theirs.infoHash}\n`);
    // Only the second seeder is left: a download by infohash gets everything from it.
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(130);
    const again = join(dir, 'from-second-seeder');
    const r2 = await procs.run(
      MAIN,
      ['download', theirs.infoHash, '--out', again, ...LOOPBACK, '--bootstrap', bootstrap, '--timeout', '30'],
      60_000
    );
    expect({ code: r2.code, stderr: r2.stderr }).toMatchObject({ code: 0 });
    await expectSameTree(content, join(again, 'album'));
  }, 150_000);

  it('on a 60-column terminal (a pty): every redraw of the progress line fits, and no rate shown is above --download-limit', async () => {
    const torrent = join(dir, 'tty.torrent');
    expect((await procs.run(MAIN, ['create', content, '--out', torrent])).code).toBe(0);
    const bootstrap = await bootstrapNode();
    await seedTorrent(torrent, dir, bootstrap);
    const out = join(dir, 'tty');
    const cap = 512 * 1024;
    const command = [
      'stty cols 60;',
      process.execPath,
      MAIN,
      'download',
      torrent,
      '--out',
      out,
      ...LOOPBACK,
      '--bootstrap',
      bootstrap,
      '--download-limit',
      String(cap)
    ].join(' ');
    // util-linux `script` runs the command on a pseudo-terminal, as a user's shell would.
    const r = await procs.exec('/usr/bin/script', ['-qfec', command, '/dev/null'], 60_000);
    expect(r.code).toBe(0);
    const redraws = r.stdout
      .split('\x1b[2K')
      .slice(1)
      .map((part) => part.split(/[\r\n]/)[0]!);
    expect(redraws.length).toBeGreaterThan(3);
    for (const line of redraws) expect(line.length).toBeLessThanOrEqual(59);
    const units: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
    const rates = redraws.flatMap((line) => {
      const m = /down ([0-9.]+) (B|KiB|MiB|GiB)\/s/.exec(line);
      return m ? [Number(m[1]) * units[m[2]!]!] : [];
    });
    expect(rates.some((rate) => rate > 0)).toBe(true);
    for (const rate of rates) expect(rate).toBeLessThanOrEqual(cap);
    await expectSameTree(content, join(out, 'album'));
  }, 120_000);

  it('download into a directory it cannot write: exit 1 before joining the DHT', async () => {
    for (const out of ['/proc/nope', join(content, 'cover.jpg', 'sub')]) {
      const started = Date.now();
      const r = await procs.run(
        MAIN,
        ['download', NOBODY, '--out', out, ...LOOPBACK, '--no-bootstrap'],
        20_000
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^trackerless: error: cannot write to the output directory .*: (ENOENT|ENOTDIR)/m
      );
      expect(r.stderr).not.toMatch(/looking for peers/);
      expect(Date.now() - started).toBeLessThan(10_000);
    }
  }, 60_000);

  it('download --timeout: no metadata in time is exit 1 with what was found', async () => {
    const bootstrap = await bootstrapNode();
    const out = join(dir, 'timeout');
    const started = Date.now();
    const r = await procs.run(
      MAIN,
      ['download', NOBODY, '--out', out, ...LOOPBACK, '--bootstrap', bootstrap, '--timeout', '2'],
      30_000
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^trackerless: error: no metadata after 2 s \(0 peers connected, \d+ DHT nodes known\)$/m
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 60_000);

  it('the first SIGTERM stops a download that is getting nowhere: exit 130 within the deadline', async () => {
    const out = join(dir, 'sigterm');
    const down = procs.start(MAIN, ['download', NOBODY, '--out', out, ...LOOPBACK, '--no-bootstrap'], 60_000);
    await down.waitFor(/looking for peers of /, 10_000);
    down.child.kill('SIGTERM');
    const r = await down.exited;
    expect(r.code).toBe(130);
    // Stopped cleanly, not by the 10 s stop deadline (which says so): told by what it printed,
    // not by a wall-clock budget that a loaded machine eats.
    expect(r.stderr).toMatch(/^interrupted \(SIGTERM\): no metadata yet$/m);
    expect(r.stderr).not.toMatch(/still stopping|exiting now/);
    expect(existsSync(join(out, NOBODY))).toBe(false);
  }, 60_000);
});
