/**
 * `trackerless download 'magnet:?xs=urn:btpk:<key>&s=<salt>'` (BEP 46): resolve the key to
 * the torrent it points at now and download that. With --seed, keep seeding and keep
 * following the key: each newer version the publisher puts is downloaded into the same
 * directory (unchanged files verify in place) until interrupted.
 */
import { join, resolve } from 'node:path';
import { toHex } from '../util/bytes.js';
import type { TorrentInfo } from '../torrent/metainfo.js';
import { MutableSwarm } from '../mutable-torrent/mutable-swarm.js';
import type { MutableMagnet } from '../magnet/magnet.js';
import type { MutableTorrentVersion } from '../mutable-torrent/mutable-torrent.js';
import { EXIT_INTERRUPTED, EXIT_OK, UsageError, type CliContext } from './program.js';
import {
  aborted,
  formatBytes,
  formatDuration,
  progressLine,
  StatusLine,
  swarmOptionsFrom,
  type SwarmCliOptions
} from './transfer.js';

export interface MutableDownloadOptions extends SwarmCliOptions {
  out: string;
  seed?: boolean;
  verbose?: boolean;
  select?: number[] | 'all';
  /** Seconds between polls for a newer version. */
  followInterval?: number;
}

export async function downloadMutable(
  ctx: CliContext,
  link: MutableMagnet,
  opts: MutableDownloadOptions
): Promise<number> {
  if (opts.ipv6) throw new UsageError('--ipv6 is not supported with a mutable (xs=urn:btpk:) link yet');
  const { ipv6: _v6, ...swarmOptions } = swarmOptionsFrom(opts, ctx.stateDir);
  const outDir = resolve(opts.out);
  const started = ctx.clock.now();
  const ms = await MutableSwarm.create({
    ...swarmOptions,
    magnet: link,
    outDir,
    seed: opts.seed ?? false,
    ...(opts.select !== undefined ? { selectFiles: opts.select } : {}),
    ...(opts.followInterval !== undefined ? { followIntervalMs: Math.round(opts.followInterval * 1000) } : {})
  });
  const status = new StatusLine(ctx, () => {
    const swarm = ms.current;
    return swarm
      ? progressLine(swarm.progress(), ctx.clock.now() - started)
      : 'looking up the current version ...';
  });
  const label = (v: MutableTorrentVersion): string => `version ${v.seq} (${toHex(v.infoHash)})`;
  ms.on('version', (v) => status.log(`${label(v)}: found, downloading`));
  ms.on('done', (v) => {
    const info: TorrentInfo | undefined = ms.current?.info;
    status.log(
      `${label(v)}: done${info ? `, ${info.name}, ${formatBytes(info.length)}` : ''} in ${formatDuration((ctx.clock.now() - started) / 1000)}`
    );
    if (info) ctx.print(join(outDir, ...info.files[0]!.path.slice(0, 1)));
  });
  if (opts.verbose) ms.on('warning', (err) => status.log(`trackerless: warning: ${err.message}`));
  ctx.log(`following ${toHex(link.publicKey)}${link.salt.length ? ` salt ${toHex(link.salt)}` : ''} ...`);
  status.start();
  try {
    if (opts.seed) {
      await aborted(ctx.interrupt);
    } else {
      const outcome = await Promise.race([
        ms.done().then(() => 'done' as const),
        aborted(ctx.interrupt).then(() => 'interrupted' as const)
      ]);
      if (outcome === 'interrupted') {
        ctx.log(`interrupted (${String(ctx.interrupt.reason)})`);
        return EXIT_INTERRUPTED;
      }
    }
    return EXIT_OK;
  } finally {
    status.stop();
    await ms.stop();
  }
}
