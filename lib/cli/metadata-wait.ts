/**
 * Waiting for a magnet's metadata (BEP 9) in a command that needs it before anything else:
 * `info` (prints it and leaves) and `stream` (serves the files it names). While the peers are
 * searched for and asked, the progress line says so; once the info dictionary is verified one
 * line says what the torrent is and how long it took — the line `download` prints from the
 * swarm's 'metadata' event while it goes on downloading.
 */
import type { Swarm, TorrentInfo } from '../index.js';
import type { CliContext } from './program.js';
import {
  formatBytes,
  formatDuration,
  progressLine,
  StatusLine,
  swarmView,
  type SwarmCliOptions
} from './transfer.js';

/** What a torrent is, on one line: name, size, files, pieces. */
export function describeTorrent(info: TorrentInfo): string {
  const files = info.files.filter((f) => !f.padding).length;
  return (
    `${info.name}, ${formatBytes(info.length)} in ${files} file${files === 1 ? '' : 's'}, ` +
    `${info.pieceCount} pieces of ${formatBytes(info.pieceLength)}`
  );
}

/** The line logged when the metadata came from peers, `elapsedMs` after the command started. */
export function metadataFromPeersLine(info: TorrentInfo, elapsedMs: number): string {
  return `metadata: ${describeTorrent(info)}, from peers in ${formatDuration(elapsedMs / 1000)}`;
}

/**
 * The swarm's metadata, with the progress line shown until it is there (then the metadata
 * line); `verbose`: the swarm's warnings above it meanwhile. Rejects with an AbortError when
 * `signal` aborts first.
 */
export async function awaitMetadata(
  ctx: CliContext,
  swarm: Swarm,
  opts: Pick<SwarmCliOptions, 'downloadLimit' | 'uploadLimit'>,
  { signal, started, verbose = false }: { signal: AbortSignal; started: number; verbose?: boolean }
): Promise<TorrentInfo> {
  const status = new StatusLine(ctx, (width) =>
    progressLine(swarm.progress(), ctx.clock.now() - started, swarmView(swarm, opts, width))
  );
  const warn = (err: Error): void => status.log(`trackerless: warning: ${err.message}`);
  if (verbose) swarm.on('warning', warn);
  status.start();
  let info: TorrentInfo;
  try {
    info = await swarm.metadata({ signal });
  } finally {
    status.stop();
    swarm.off('warning', warn);
  }
  ctx.log(metadataFromPeersLine(info, ctx.clock.now() - started));
  return info;
}
