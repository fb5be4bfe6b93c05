/**
 * Guards the fairness of the engine benchmark (bench/engine-bench.ts and bench/engine-bench/, issue 10):
 *  - libtorrent's benchmark seeders (bench/lib/lt-bench.py, roles seed and swarm) are prepared
 *    as a user's are: libtorrent checks their data before `ready`. Proved by behaviour: a seeder
 *    given one corrupted byte must refuse to start (in seed mode it would start and serve);
 *  - every transfer rep compares the downloaded file with the source: the check itself rejects
 *    one flipped byte, a short file and a missing one, and a real libtorrent -> libtorrent rep
 *    of the benchmark reports its output checked.
 * Runs on 127.0.0.1 only (CI: inside a private network namespace). A missing
 * python3-libtorrent is a failure, not a skip.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOptions } from '../../bench/engine-bench/options.js';
import { transferOnce } from '../../bench/engine-bench/transfer.js';
import { makeFileTorrent, type BenchTorrent } from '../../bench/lib/content.js';
import { checkOutput, OutputMismatchError } from '../../bench/lib/output-check.js';
import { PeerProcess, transferPeerArgs } from '../../bench/lib/peer-process.js';
import { libtorrentProblem } from '../support/lt-node.js';

const HOST = '127.0.0.1';
const SIZE = 2 * 1024 * 1024 + 777;
const NAME = 'fair.bin';

let dir: string;
let t: BenchTorrent;
/** The same torrent over a copy of the data with one byte flipped (in the last piece). */
let bad: BenchTorrent;

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-bench-fair-'));
  t = await makeFileTorrent(dir, NAME, SIZE, 64 * 1024);
  const badDir = join(dir, 'corrupt-data');
  await fsp.mkdir(badDir);
  const data = await fsp.readFile(join(t.dataDir, NAME));
  data[SIZE - 5]! ^= 0x01;
  await fsp.writeFile(join(badDir, NAME), data);
  bad = { ...t, dataDir: badDir };
}, 60_000);

afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

function requireLibtorrent(): void {
  const problem = libtorrentProblem();
  if (problem)
    throw new Error(`python3-libtorrent is required (apt-get install python3-libtorrent): ${problem}`);
}

const seedArgs = (x: BenchTorrent): string[] =>
  transferPeerArgs({ torrentPath: x.torrentPath, savePath: x.dataDir, host: HOST });

describe("benchmark seeders: libtorrent's data is checked before the clock (no seed mode)", () => {
  it('role seed: a good copy is checked (every piece) and then served', async () => {
    requireLibtorrent();
    const { proc, ready } = await PeerProcess.start('lt', 'seed', seedArgs(t));
    await proc.close();
    expect(ready.checked).toBe(t.info.pieceCount);
  }, 60_000);

  it('role seed: one corrupted byte makes the seeder refuse to start', async () => {
    requireLibtorrent();
    await expect(PeerProcess.start('lt', 'seed', seedArgs(bad))).rejects.toThrow(/failed libtorrent's check/);
  }, 60_000);

  it('role swarm: the seed session is checked too', async () => {
    requireLibtorrent();
    const work = await fsp.mkdtemp(join(dir, 'swarm-'));
    const args = (x: BenchTorrent): string[] => [
      '--torrent',
      x.torrentPath,
      '--data',
      x.dataDir,
      '--work',
      work,
      '--n',
      '1',
      '--u-s',
      String(1 << 20),
      '--u-i',
      String(1 << 20)
    ];
    await expect(PeerProcess.start('lt', 'swarm', args(bad))).rejects.toThrow(/failed libtorrent's check/);
    const { proc, ready } = await PeerProcess.start('lt', 'swarm', args(t));
    await proc.close();
    expect(ready.checked).toBe(t.info.pieceCount);
  }, 60_000);

  it('the helper has no seed-mode switch any more', async () => {
    requireLibtorrent();
    await expect(PeerProcess.start('lt', 'seed', [...seedArgs(t), '--seed-mode'])).rejects.toThrow();
  }, 60_000);
});

describe('transfer reps compare the output with the source', () => {
  it('checkOutput accepts an identical copy and rejects a flipped byte, a short file, a missing file', async () => {
    const out = join(dir, 'out-check');
    await fsp.mkdir(out);
    const src = await fsp.readFile(join(t.dataDir, NAME));
    await fsp.writeFile(join(out, NAME), src);
    const [digest] = await checkOutput(t.info, t.dataDir, out, 'copy');
    expect(digest).toMatch(/^[0-9a-f]{40}$/);

    const flipped = Buffer.from(src);
    flipped[12345]! ^= 0x80;
    await fsp.writeFile(join(out, NAME), flipped);
    await expect(checkOutput(t.info, t.dataDir, out, 'flipped')).rejects.toThrow(OutputMismatchError);

    await fsp.writeFile(join(out, NAME), src.subarray(0, SIZE - 1));
    await expect(checkOutput(t.info, t.dataDir, out, 'short')).rejects.toThrow(/bytes/);

    await fsp.rm(join(out, NAME));
    await expect(checkOutput(t.info, t.dataDir, out, 'missing')).rejects.toThrow(/unreadable/);
  }, 30_000);

  it('a libtorrent -> libtorrent rep of the benchmark checks its output; a corrupt seed copy fails the rep', async () => {
    requireLibtorrent();
    const opts = parseOptions(['--transfer']);
    const sample = await transferOnce(t, 'lt', 'lt', 0, dir, opts);
    expect(sample.outputChecked).toBe(true);
    expect(sample.seconds).toBeGreaterThan(0);
    await expect(transferOnce(bad, 'lt', 'lt', 1, dir, opts)).rejects.toThrow(/failed libtorrent's check/);
  }, 90_000);
});
