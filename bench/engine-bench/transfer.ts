/** --transfer: one seeder -> one downloader over loopback, every pair of implementations. */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { makeFileTorrent, type BenchTorrent } from '../lib/content.js';
import { checkOutput } from '../lib/output-check.js';
import { transferPeerArgs, type Impl, type PeerProcess } from '../lib/peer-process.js';
import { fmt, median, ratio, round, table } from '../lib/stats.js';
import { HOST, start, stop } from './children.js';
import { GiB, log, mib, MiB } from './format.js';
import { pairName, type Options } from './options.js';

export interface TransferSample {
  seed: Impl;
  down: Impl;
  rep: number;
  mibps: number;
  seconds: number;
  sinceGo: number;
  downCpuPerGiB: number;
  seedCpuPerGiB: number;
  downMaxRssMiB: number;
  /** The downloaded file equals the source (false only for ours with --storage memory). */
  outputChecked: boolean;
  /** Ours only: CPU seconds of the event-loop thread and of the other threads. */
  downMainCpu?: number;
  downMainWait?: number;
  downOtherCpu?: number;
  seedMainCpu?: number;
  seedMainWait?: number;
  seedOtherCpu?: number;
  /** Over uTP: datagrams the seeder sent, how many were retransmissions, and timeouts (libtorrent's from its session counters). */
  seedUtp?: { packets: number; resent: number; timeouts: number };
}

/** "on CPU x %, waiting for a CPU y %" of the event-loop thread over `wall` seconds. */
const loopShare = (cpu: number, wait: number, wall: number): string =>
  `on CPU ${((100 * cpu) / wall).toFixed(0)} %, runnable ${((100 * wait) / wall).toFixed(0)} %`;

/** One timed transfer rep; throws unless the downloaded file equals the source. */
export async function transferOnce(
  t: BenchTorrent,
  seed: Impl,
  down: Impl,
  rep: number,
  dir: string,
  opts: Options
): Promise<TransferSample> {
  const out = join(dir, `down-${seed}-${down}-${rep}`);
  await fsp.mkdir(out, { recursive: true });
  let s: PeerProcess | undefined;
  let d: PeerProcess | undefined;
  try {
    const peer = { torrentPath: t.torrentPath, host: HOST, transport: opts.transport };
    s = await start(seed, 'seed', transferPeerArgs({ ...peer, savePath: t.dataDir }), opts);
    const port = Number(s.events.find((e) => e.event === 'ready')!.port);
    const storage = down === 'ours' ? ['--storage', opts.storage] : [];
    d = await start(
      down,
      'download',
      [...transferPeerArgs({ ...peer, savePath: out, peer: `${HOST}:${port}` }), ...storage],
      opts
    );
    await s.request('mark', 'marked', 10_000);
    const size = t.info.length;
    const done = await d.request('go', 'done', Math.max(120_000, (size / (2 * MiB)) * 1000));
    const report = await s.request('report', 'report', 10_000);
    const seconds = Number(done.seconds);
    if (Number(done.bytes) < size) throw new Error(`downloader reports ${done.bytes} bytes of ${size}`);
    // Both processes gone (their files closed and flushed), then the result is compared.
    await stop(d, s);
    d = s = undefined;
    const outputChecked = down === 'ours' && opts.storage === 'memory' ? false : true;
    if (outputChecked) await checkOutput(t.info, t.dataDir, out, `${pairName(seed, down)} rep ${rep + 1}`);
    return {
      outputChecked,
      seed,
      down,
      rep,
      mibps: size / MiB / seconds,
      seconds,
      sinceGo: Number(done.sinceGo),
      downCpuPerGiB: Number(done.cpu) / (size / GiB),
      seedCpuPerGiB: Number(report.cpu) / (size / GiB),
      downMaxRssMiB: Number(done.maxRssKiB) / 1024,
      ...(done.mainCpu !== undefined
        ? {
            downMainCpu: Number(done.mainCpu),
            downMainWait: Number(done.mainRunqueue),
            downOtherCpu: Number(done.otherThreadsCpu)
          }
        : {}),
      ...(report.utpPacketsOut !== undefined
        ? {
            seedUtp: {
              packets: Number(report.utpPacketsOut),
              resent: Number(report.utpRetransmits),
              timeouts: Number(report.utpTimeouts)
            }
          }
        : {}),
      ...(report.mainCpu !== undefined
        ? {
            seedMainCpu: Number(report.mainCpu),
            seedMainWait: Number(report.mainRunqueue),
            seedOtherCpu: Number(report.otherThreadsCpu)
          }
        : {})
    };
  } finally {
    await stop(d, s);
    await fsp.rm(out, { recursive: true, force: true });
  }
}

export async function runTransfer(
  opts: Options,
  dir: string,
  summary: Record<string, unknown>
): Promise<void> {
  const size = Math.round(opts.sizeMiB * MiB);
  log(
    `\n== 1. one seeder -> one downloader, ${mib(size)} over loopback ${opts.transport === 'utp' ? 'uTP' : 'TCP'}, ${opts.reps} reps interleaved (downloader storage: ours ${opts.storage}, libtorrent disk) ==`
  );
  const t0 = Date.now();
  const t = await makeFileTorrent(dir, 'transfer.bin', size);
  log(
    `  content + torrent: ${t.info.pieceCount} pieces of ${t.info.pieceLength / 1024} KiB (${((Date.now() - t0) / 1000).toFixed(1)} s)`
  );
  const samples: TransferSample[] = [];
  for (let rep = 0; rep < opts.reps; rep++) {
    const pairs = opts.pairs;
    for (let k = 0; k < pairs.length; k++) {
      const [seed, down] = pairs[(k + rep) % pairs.length]!;
      const r = await transferOnce(t, seed, down, rep, dir, opts);
      samples.push(r);
      log(
        `  rep ${rep + 1} ${pairName(seed, down).padEnd(24)} ${fmt(r.mibps).padStart(7)} MiB/s  (${r.seconds.toFixed(2)} s; ${r.sinceGo.toFixed(2)} s from go)  CPU/GiB: downloader ${r.downCpuPerGiB.toFixed(2)} s, seeder ${r.seedCpuPerGiB.toFixed(2)} s` +
          (r.downMainCpu !== undefined
            ? `; our downloader's event loop: ${loopShare(r.downMainCpu, r.downMainWait!, r.sinceGo)}`
            : '') +
          (r.seedMainCpu !== undefined
            ? `; our seeder's: ${loopShare(r.seedMainCpu, r.seedMainWait!, r.sinceGo)}`
            : '') +
          (r.seedUtp
            ? `; ${r.seed === 'ours' ? 'our' : "libtorrent's"} seeder resent ${r.seedUtp.resent} of ${r.seedUtp.packets} datagrams (${fmt((100 * r.seedUtp.resent) / r.seedUtp.packets)} %, ${r.seedUtp.timeouts} timeouts)`
            : '') +
          (r.outputChecked ? '; output = source' : '; output NOT checked (memory storage)')
      );
    }
  }
  const rows: string[][] = [];
  const med = (seed: Impl, down: Impl, f: (s: TransferSample) => number): number =>
    median(samples.filter((s) => s.seed === seed && s.down === down).map(f));
  for (const [seed, down] of opts.pairs) {
    rows.push([
      pairName(seed, down),
      fmt(med(seed, down, (s) => s.mibps)),
      samples
        .filter((s) => s.seed === seed && s.down === down)
        .map((s) => fmt(s.mibps, 0))
        .join(', '),
      fmt(med(seed, down, (s) => s.downCpuPerGiB)),
      fmt(med(seed, down, (s) => s.seedCpuPerGiB)),
      fmt(
        med(seed, down, (s) => s.downMaxRssMiB),
        0
      )
    ]);
  }
  log(
    table(
      [
        'pair',
        'MiB/s (median)',
        'all reps',
        'downloader CPU s/GiB',
        'seeder CPU s/GiB',
        'downloader max RSS MiB'
      ],
      rows
    )
  );
  const oo = med('ours', 'ours', (s) => s.mibps);
  const ll = med('lt', 'lt', (s) => s.mibps);
  const ooCpu = med('ours', 'ours', (s) => s.downCpuPerGiB + s.seedCpuPerGiB);
  const llCpu = med('lt', 'lt', (s) => s.downCpuPerGiB + s.seedCpuPerGiB);
  const ratios = samples
    .filter((s) => s.seed === 'ours' && s.down === 'ours')
    .map((o) => {
      const l = samples.find((s) => s.seed === 'lt' && s.down === 'lt' && s.rep === o.rep);
      return l ? o.mibps / l.mibps : NaN;
    });
  // uTP (issue 12): >= 1.5x libtorrent's uTP; TCP: >= 1.2x.
  const target = opts.transport === 'utp' ? 1.5 : 1.2;
  log(
    `  ours->ours / libtorrent->libtorrent: throughput ${fmt(ratio(oo, ll))}x (per-rep ratios ${ratios.map((x) => fmt(x)).join(', ')}; target >= ${target}x: ${ratio(oo, ll) >= target ? 'met' : 'NOT met'}), ` +
      `CPU per GiB (seeder + downloader) ${fmt(ratio(ooCpu, llCpu))}x (target <= 1: ${ooCpu <= llCpu ? 'met' : 'NOT met'})`
  );
  summary.transfer = {
    transport: opts.transport,
    sizeBytes: size,
    pieceLength: t.info.pieceLength,
    storage: opts.storage,
    samples,
    medians: opts.pairs.map(([s, d]) => ({
      pair: pairName(s, d),
      mibps: round(med(s, d, (x) => x.mibps)),
      downCpuPerGiB: round(med(s, d, (x) => x.downCpuPerGiB)),
      seedCpuPerGiB: round(med(s, d, (x) => x.seedCpuPerGiB))
    })),
    throughputRatio: round(ratio(oo, ll)),
    cpuRatio: round(ratio(ooCpu, llCpu))
  };
  await fsp.rm(t.dataDir, { recursive: true, force: true });
}
