/**
 * Streaming benchmark: time to first byte of a read at offset 0 and at 90% of a file, from one
 * seeder capped at --rate (default 8 MiB/s), ours against libtorrent's set_piece_deadline on
 * the same file, interleaved reps (the first impl swapped each rep), medians and ratios.
 *
 *   npm run build && unshare --net -- bash -c 'ip link set lo up; \
 *     node dist/bench/stream-ttfb.js [--size-mib 256] [--reps 5] [--rate-mib 8] [--piece-kib 256] \
 *       [--tmp /dev/shm] [--json FILE]'
 *
 * The seeder is libtorrent (bench/lib/lt-bench.py role seed on 127.0.0.2, its data checked
 * before the clock starts, capped with the peer class filter so 127/8 obeys the cap). Each
 * sample is a fresh downloader that knows the torrent (a .torrent) and starts empty:
 *  - ours: a BitTorrentEngine (in this process, files under --tmp) started, then at "go" a
 *    file read stream from the offset (its piece and the readahead get deadlines) and the
 *    seeder added as a peer; the time is until the stream's first chunk (read from storage);
 *  - libtorrent (lt-bench.py role stream, its own process on 127.0.0.3): at "go",
 *    set_piece_deadline on the offset's piece (alert_when_available) and on the readahead
 *    pieces after it, then connect_peer; the time is until the piece's read_piece_alert.
 * Both include the TCP connect, handshakes, unchoke and the piece at the capped rate. The first
 * bytes are checked: ours against the source file, libtorrent's piece by SHA-1.
 */
import { promises as fsp, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BitTorrentEngine } from '../lib/engine/bittorrent-engine.js';
import { fileSource, torrentFiles } from '../lib/stream/torrent-file.js';
import { pieceHash } from '../lib/torrent/metainfo.js';
import { toHex } from '../lib/util/bytes.js';
import { argvReader } from './lib/argv.js';
import { makeFileTorrent, type BenchTorrent } from './lib/content.js';
import { libtorrentProblem, PeerProcess, type Impl } from './lib/peer-process.js';
import { fmt, median, ratio, round, table } from './lib/stats.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SEED_HOST = '127.0.0.2';
const LT_HOST = '127.0.0.3';

interface Sample {
  impl: Impl;
  rep: number;
  offset: 'start' | '90%';
  seconds: number;
}

const argv = argvReader(process.argv.slice(2));
const size = argv.num('size-mib', 256) * MiB;
const reps = argv.num('reps', 5);
const rate = argv.num('rate-mib', 8) * MiB;
const pieceLength = argv.num('piece-kib', 256) * KiB;
const tmp = argv.value('tmp') ?? '/dev/shm';
const jsonOut = argv.value('json');

async function main(): Promise<void> {
  const problem = libtorrentProblem();
  if (problem) throw new Error(problem);
  const work = await fsp.mkdtemp(join(tmp, 'stream-ttfb-'));
  const procs: PeerProcess[] = [];
  try {
    const t = await makeFileTorrent(work, 'movie.bin', size, pieceLength);
    const source = await fsp.open(join(t.dataDir, 'movie.bin'), 'r');
    const { proc: seeder, ready } = await PeerProcess.start('lt', 'seed', [
      '--torrent',
      t.torrentPath,
      '--save-path',
      t.dataDir,
      '--host',
      SEED_HOST,
      '--upload-limit',
      String(rate)
    ]);
    procs.push(seeder);
    const peer = { host: SEED_HOST, port: Number(ready.port) };
    console.error(
      `seeder: libtorrent on ${peer.host}:${peer.port}, ${size / MiB} MiB in ${t.info.pieceCount} pieces of ${pieceLength / KiB} KiB, capped at ${rate / MiB} MiB/s`
    );
    const offsets: [Sample['offset'], number][] = [
      ['start', 0],
      ['90%', Math.floor(size * 0.9)]
    ];
    const samples: Sample[] = [];
    for (let rep = 0; rep < reps; rep++) {
      const order: Impl[] = rep % 2 === 0 ? ['ours', 'lt'] : ['lt', 'ours'];
      for (const [label, offset] of offsets) {
        for (const impl of order) {
          const dir = join(work, `${impl}-${rep}-${label === 'start' ? 0 : 90}`);
          await fsp.mkdir(dir, { recursive: true });
          const seconds =
            impl === 'ours'
              ? await oursFirstByte(t, dir, peer, offset, source)
              : await libtorrentFirstByte(t, dir, peer, offset);
          await fsp.rm(dir, { recursive: true, force: true });
          samples.push({ impl, rep, offset: label, seconds });
          console.error(`rep ${rep + 1}/${reps} ${impl} at ${label}: ${fmt(seconds * 1000, 1)} ms`);
        }
      }
    }
    await source.close();
    report(samples);
  } finally {
    await Promise.all(procs.map((p) => p.close()));
    await fsp.rm(work, { recursive: true, force: true });
  }
}

/** Our engine: empty storage, a read stream from `offset`, then the seeder as its only peer. */
async function oursFirstByte(
  t: BenchTorrent,
  dir: string,
  peer: { host: string; port: number },
  offset: number,
  source: fsp.FileHandle
): Promise<number> {
  const engine = new BitTorrentEngine({
    infoHash: t.info.infoHash,
    info: t.info,
    outDir: dir,
    existing: 'none',
    resume: false,
    seed: true
  });
  await engine.start();
  try {
    const file = torrentFiles(fileSource(engine)!, t.info)[0]!;
    const started = performance.now();
    const stream = file.createReadStream({ start: offset });
    engine.addPeer(peer, 'manual');
    const chunk = await new Promise<Buffer>((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
      setTimeout(() => reject(new Error('ours: no first byte in 60 s')), 60_000).unref();
    });
    const seconds = (performance.now() - started) / 1000;
    stream.destroy();
    const expected = Buffer.alloc(chunk.length);
    await source.read(expected, 0, chunk.length, offset);
    if (!expected.equals(chunk)) throw new Error(`ours: first bytes at ${offset} differ from the source`);
    return seconds;
  } finally {
    await engine.destroy();
  }
}

/** libtorrent: set_piece_deadline on the offset's piece (and readahead), then connect_peer. */
async function libtorrentFirstByte(
  t: BenchTorrent,
  dir: string,
  peer: { host: string; port: number },
  offset: number
): Promise<number> {
  const { proc } = await PeerProcess.start('lt', 'stream', [
    '--torrent',
    t.torrentPath,
    '--save-path',
    dir,
    '--host',
    LT_HOST,
    '--peer',
    `${peer.host}:${peer.port}`,
    '--offset',
    String(offset),
    '--readahead',
    String(4 * MiB)
  ]);
  try {
    const e = await proc.request('go', 'first-byte', 60_000);
    const piece = Math.floor(offset / t.info.pieceLength);
    if (e.sha1 !== toHex(pieceHash(t.info, piece)))
      throw new Error(`libtorrent: piece ${piece} read back with a wrong SHA-1 (${String(e.sha1)})`);
    return Number(e.seconds);
  } finally {
    await proc.close();
  }
}

function report(samples: Sample[]): void {
  const rows: string[][] = [];
  const summary: Record<string, unknown> = {};
  for (const offset of ['start', '90%'] as const) {
    const of = (impl: Impl): number[] =>
      samples.filter((s) => s.impl === impl && s.offset === offset).map((s) => s.seconds * 1000);
    const ours = median(of('ours'));
    const lt = median(of('lt'));
    rows.push([offset, fmt(ours, 1), fmt(lt, 1), fmt(ratio(ours, lt), 2)]);
    summary[offset] = {
      oursMs: round(ours, 1),
      libtorrentMs: round(lt, 1),
      ratio: round(ratio(ours, lt), 3)
    };
  }
  console.log(
    `time to first byte, ${size / MiB} MiB file, ${pieceLength / KiB} KiB pieces, one libtorrent seeder capped at ${rate / MiB} MiB/s, ${reps} interleaved reps (medians)\n`
  );
  console.log(table(['read at', 'ours ms', 'libtorrent ms', 'ours/lt'], rows));
  if (jsonOut)
    writeFileSync(jsonOut, JSON.stringify({ size, rate, pieceLength, reps, summary, samples }, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
