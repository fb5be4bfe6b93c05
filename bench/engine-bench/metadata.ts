/** --metadata: magnet -> metadata from one libtorrent seeder, our downloader vs libtorrent's. */
import { promises as fsp } from 'node:fs';
import { makeZeroTorrent, type BenchTorrent } from '../lib/content.js';
import { transferPeerArgs, type Impl, type PeerProcess } from '../lib/peer-process.js';
import { fmt, median, round, table } from '../lib/stats.js';
import { HOST, start, stop } from './children.js';
import { log, mibOrKib } from './format.js';
import type { Options } from './options.js';

export async function runMetadata(
  opts: Options,
  dir: string,
  summary: Record<string, unknown>
): Promise<void> {
  log(
    `\n== 3. magnet -> metadata from one libtorrent seeder, ${opts.metaReps} reps interleaved (+1 warm-up each) ==`
  );
  const torrents: BenchTorrent[] = [];
  for (const size of opts.metaSizes) torrents.push(await makeZeroTorrent(dir, `meta-${size}`, size));
  const seeders: PeerProcess[] = [];
  const fetchers: Partial<Record<Impl, PeerProcess>> = {};
  const samples: Array<{ impl: Impl; infoBytes: number; rep: number; ms: number; sinceAdd: number }> = [];
  try {
    const ports: number[] = [];
    for (const t of torrents) {
      const s = await start(
        'lt',
        'seed',
        transferPeerArgs({ torrentPath: t.torrentPath, savePath: t.dataDir, host: HOST }),
        opts
      );
      seeders.push(s);
      ports.push(Number(s.events.find((e) => e.event === 'ready')!.port));
    }
    fetchers.ours = await start('ours', 'fetch', ['--host', HOST], opts);
    fetchers.lt = await start('lt', 'fetch', ['--host', HOST, '--work', dir], opts);
    const fetch = async (
      impl: Impl,
      k: number
    ): Promise<{ ms: number; sinceAdd: number; infoBytes: number }> => {
      const t = torrents[k]!;
      const ev = await fetchers[impl]!.request(
        `fetch ${Buffer.from(t.info.infoHash).toString('hex')} ${HOST}:${ports[k]}`,
        'metadata',
        60_000
      );
      if (Number(ev.infoBytes) !== t.info.infoBytes.length)
        throw new Error(
          `${impl}: metadata of ${String(ev.infoBytes)} bytes, expected ${t.info.infoBytes.length}`
        );
      // Let both sides settle (the removed torrent, the closed connection).
      await new Promise((r) => setTimeout(r, 200));
      return { ms: Number(ev.ms), sinceAdd: Number(ev.sinceAdd), infoBytes: t.info.infoBytes.length };
    };
    for (const impl of ['ours', 'lt'] as Impl[])
      for (let k = 0; k < torrents.length; k++) await fetch(impl, k); // warm-up
    for (let rep = 0; rep < opts.metaReps; rep++) {
      for (let k = 0; k < torrents.length; k++) {
        for (const impl of (rep + k) % 2 === 0 ? (['ours', 'lt'] as Impl[]) : (['lt', 'ours'] as Impl[])) {
          const r = await fetch(impl, k);
          samples.push({ impl, rep, ...r });
        }
      }
      log(
        `  rep ${rep + 1}: ${torrents.map((t) => `${mibOrKib(t.info.infoBytes.length)} ours ${fmt(samples.find((s) => s.rep === rep && s.impl === 'ours' && s.infoBytes === t.info.infoBytes.length)!.ms, 1)} / lt ${fmt(samples.find((s) => s.rep === rep && s.impl === 'lt' && s.infoBytes === t.info.infoBytes.length)!.ms, 1)} ms`).join('; ')}`
      );
    }
  } finally {
    await stop(fetchers.ours, fetchers.lt, ...seeders);
    for (const t of torrents) await fsp.rm(t.dataDir, { recursive: true, force: true });
  }
  const rows: string[][] = [];
  const out: Record<string, unknown>[] = [];
  for (const t of torrents) {
    const size = t.info.infoBytes.length;
    const o = median(samples.filter((s) => s.impl === 'ours' && s.infoBytes === size).map((s) => s.ms));
    const a = median(samples.filter((s) => s.impl === 'lt' && s.infoBytes === size).map((s) => s.ms));
    const oAdd = median(
      samples.filter((s) => s.impl === 'ours' && s.infoBytes === size).map((s) => s.sinceAdd)
    );
    const aAdd = median(
      samples.filter((s) => s.impl === 'lt' && s.infoBytes === size).map((s) => s.sinceAdd)
    );
    rows.push([
      `${fmt(size)} B (${mibOrKib(size)}, ${t.info.pieceCount} pieces)`,
      fmt(o, 1),
      fmt(a, 1),
      fmt(o - a, 1),
      fmt(oAdd, 1),
      fmt(aAdd, 1),
      `<= +10 ms: ${o - a <= 10 ? 'met' : 'NOT met'}`
    ]);
    out.push({
      infoBytes: size,
      oursMs: round(o),
      ltMs: round(a),
      diffMs: round(o - a),
      oursSinceAddMs: round(oAdd),
      ltSinceAddMs: round(aAdd)
    });
  }
  log(
    table(
      ['info dictionary', 'ours ms', 'libtorrent ms', 'ours - lt', 'ours from add', 'lt from add', 'target'],
      rows
    )
  );
  summary.metadata = { samples, table: out };
}
