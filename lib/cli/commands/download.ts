/**
 * `trackerless download <magnet | infohash | .torrent> [--out DIR] [--bootstrap H:P ...]
 * [--select LIST] [--seed] [--timeout S]`: find peers through the DHT (and the link's x.pe
 * hints), fetch the metadata from them (BEP 9) unless a .torrent gave it, then the pieces,
 * each verified by SHA-1, into DIR.
 *
 * - Fail fast: DIR is created and probed for writing before the DHT is joined (exit 1);
 *   with --timeout S, no metadata (or, with it, no peer and no byte) after S seconds is
 *   exit 1 with what was found.
 * - A line `metadata: <name>, <size> in N files, ...` is printed as soon as the metadata
 *   is known (from peers, the .torrent file or the cache of an earlier run).
 *
 * - File selection (BEP 53): the link's `so=` is honoured; `--select 0,2,4-6` (same syntax,
 *   zero-based indices into the torrent's file list) overrides it, `--select all` ignores it.
 *   An index the torrent does not have is a usage error (exit 2) once the metadata is known.
 *
 * - Progress on stderr: a bar with percent, speeds, peers and ETA (redrawn on a terminal,
 *   a plain line every 2 s otherwise); results and summaries are stderr lines too, so
 *   stdout stays empty except for the final path of the content.
 * - Ctrl-C (SIGINT/SIGTERM): the engine stops gracefully (pieces flushed, resume file saved
 *   in DIR/.trackerless/), exit 130. Rerunning the same command resumes: the metadata is
 *   kept next to the resume file, so the data on disk is checked before any peer is asked
 *   and only missing pieces are fetched.
 * - Exit 0 with every file verified and in place, at once; 130 when stopped by a signal
 *   (also while seeding after --seed); 1 on a fatal error (a storage failure, --timeout);
 *   2 on bad arguments (a bad magnet link or .torrent file).
 */
import { InvalidArgumentError as CommanderArgumentError } from 'commander';
import { secondsParser } from '../args.js';
import { TORRENT_INPUT_HELP, readTorrentInput } from '../torrent-input.js';
import { ensureWritableDir } from '../writable.js';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { EngineProgress, Magnet, TorrentInfo } from '../../index.js';
import { AbortError } from '../../errors.js';
import { Swarm } from '../../swarm/swarm.js';
import { parseTorrentFile, toTorrentFile } from '../../torrent/metainfo.js';
import { toHex } from '../../util/bytes.js';
import { selectedPieces } from '../../engine/storage/file-selection.js';
import {
  isMutableMagnet,
  parseMutableMagnet,
  parseSelectOnly,
  type MutableMagnet
} from '../../magnet/magnet.js';
import { downloadMutable } from '../mutable-download.js';
import { describeTorrent, metadataFromPeersLine } from '../metadata-wait.js';
import {
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
  UsageError,
  type CliCommand,
  type CliContext
} from '../program.js';
import {
  aborted,
  addSwarmOptions,
  formatBytes,
  formatDuration,
  logJoin,
  peerSourceLogger,
  parseRate,
  progressLine,
  seedingLine,
  StatusLine,
  startInterruptibly,
  swarmOptionsFrom,
  swarmView,
  type SwarmCliOptions
} from '../transfer.js';
import { makeDirectory } from '../../util/make-directory.js';

interface DownloadCliOptions extends SwarmCliOptions {
  out: string;
  seed?: boolean;
  verbose?: boolean;
  select?: number[] | 'all';
  followInterval?: number;
  /** Seconds to get the metadata and a first peer; undefined = wait as long as it takes. */
  timeout?: number;
}

/** The metadata of a download in progress, next to its resume file. */
export function metadataCachePath(outDir: string, infoHash: Uint8Array): string {
  return join(resolve(outDir), '.trackerless', `${toHex(infoHash)}.torrent`);
}

export const downloadCommand: CliCommand = {
  name: 'download',
  configure(command) {
    command
      .description(
        'download a torrent from its magnet link (peers from the DHT), verify it, optionally keep seeding'
      )
      .argument('<torrent>', `${TORRENT_INPUT_HELP}, or a BEP 46 link (xs=urn:btpk:<key>&s=<salt>)`)
      .option('-o, --out <dir>', 'directory to download into', '.')
      .option(
        '--seed',
        'keep seeding after the download completes, until interrupted (a BEP 46 link: and follow its updates)'
      )
      .option(
        '--follow-interval <seconds>',
        'BEP 46 link: seconds between looks for a newer version',
        secondsParser(false),
        300
      )
      .option(
        '-t, --timeout <seconds>',
        'give up (exit 1) if the metadata, or with it a first peer, is not there after this long',
        secondsParser(false)
      )
      .option(
        '--select <files>',
        "download only these files: zero-based indices into the torrent's file list, e.g. 0,2,4-6 " +
          "(BEP 53, like a magnet's so=, which it overrides); 'all' ignores the link's so=",
        parseSelection
      );
    addSwarmOptions(command)
      .option(
        '--download-limit <rate>',
        'download cap in bytes/s, e.g. 512k or 2M (0 = unlimited)',
        parseRate
      )
      .option(
        '-v, --verbose',
        'also print the warnings of the DHT and the engine (peers misbehaving, lookups failing)'
      )
      .addHelpText(
        'after',
        '\nCtrl-C stops cleanly and saves the state: run the same command again to resume.\n\n' +
          'Example:\n' +
          "  trackerless download 'magnet:?xt=urn:btih:...' --out downloads --bootstrap 127.0.0.1:6881"
      );
  },
  async run(ctx, args, options) {
    const opts = options as unknown as DownloadCliOptions;
    if (isMutableMagnet(String(args[0])))
      return downloadMutable(ctx, parseMutableLink(String(args[0])), opts);
    const input = await readTorrentInput(String(args[0]));
    const { magnet } = input;
    const started = ctx.clock.now();
    const outDir = await ensureWritableDir(opts.out);
    const cached = input.kind === 'torrent' ? undefined : await loadCachedMetadata(outDir, magnet);
    const known = input.kind === 'torrent' ? input.info : cached;
    const selection = selectionOf(opts, magnet);
    // With the metadata at hand a bad selection is reported before joining the DHT.
    if (known && selection) {
      try {
        selectedPieces(known, selection);
      } catch (err) {
        throw asUsageError(err);
      }
    }
    if (known) ctx.log(`checking existing data of ${known.name} in ${outDir} ...`);

    // The status line and the listeners exist before the swarm starts: a magnet's x.pe peers
    // and early warnings are reported while `create` is still running.
    const running: { swarm?: Swarm } = {};
    const status = new StatusLine(ctx, (width) =>
      progressLine(
        running.swarm!.progress(),
        ctx.clock.now() - started,
        swarmView(running.swarm!, opts, width)
      )
    );
    // Interrupted while starting (joining the DHT, checking data): nothing to save yet.
    let created: Swarm | null;
    try {
      created = await startInterruptibly(ctx, (signal) =>
        Swarm.create({
          ...swarmOptionsFrom(opts, ctx.stateDir),
          magnet,
          ...(known ? { torrent: known } : {}),
          // BEP 5: the DHT nodes a .torrent suggests help the join.
          ...(input.kind === 'torrent' && input.nodes.length > 0 ? { nodes: input.nodes } : {}),
          outDir,
          seed: opts.seed ?? false,
          ...(opts.select !== undefined ? { selectFiles: opts.select } : {}),
          signal,
          listeners: {
            'peer-banned': (ban) =>
              status.log(`banned peer ${ban.address.host}:${ban.address.port} (${ban.reason})`),
            ...(opts.verbose
              ? {
                  warning: (err: Error) => status.log(`trackerless: warning: ${err.message}`),
                  peer: peerSourceLogger(status)
                }
              : {})
          }
        })
      );
    } catch (err) {
      throw asUsageError(err);
    }
    if (!created) return interruptedEarly(ctx);
    const swarm = created;
    running.swarm = swarm;
    logJoin(swarm, status);
    if (known) {
      const first = swarm.progress();
      const from = input.kind === 'torrent' ? input.path : 'the metadata kept by an earlier run';
      status.log(`metadata: ${describeTorrent(known)}, from ${from}`);
      status.log(
        `${first.verifiedPieces === 0 ? 'starting' : 'resuming'} ${known.name}: ${first.verifiedPieces}/${first.totalPieces} pieces ` +
          `(${formatBytes(first.verifiedBytes)} of ${formatBytes(first.totalBytes)}) already verified`
      );
      const selected = describeSelection(known, selection);
      if (selected) status.log(selected);
    } else {
      ctx.log(`looking for peers of ${magnet.infoHashHex}${magnet.name ? ` (${magnet.name})` : ''} ...`);
      const onMetadata = (info: TorrentInfo): void => {
        status.log(metadataFromPeersLine(info, ctx.clock.now() - started));
        const selected = describeSelection(info, selection);
        if (selected) status.log(selected);
        saveMetadata(outDir, info).catch((err: Error) =>
          status.log(`trackerless: warning: cannot keep the metadata: ${err.message}`)
        );
      };
      if (swarm.info) onMetadata(swarm.info);
      else swarm.once('metadata', onMetadata);
    }
    status.start();

    const stalled = opts.timeout !== undefined ? stallSignal(swarm, opts.timeout) : undefined;
    try {
      await swarm.done({ signal: stalled ? AbortSignal.any([ctx.interrupt, stalled]) : ctx.interrupt });
    } catch (err) {
      if (err instanceof AbortError && (ctx.interrupt.aborted || stalled?.aborted)) {
        await swarm.stop();
        status.stop();
        if (ctx.interrupt.aborted) {
          ctx.log(
            `interrupted (${String(ctx.interrupt.reason)}): ${summary(swarm.progress())}${savedNote(swarm)}`
          );
          return EXIT_INTERRUPTED;
        }
        const progress = swarm.info ? `; ${summary(swarm.progress())}${savedNote(swarm)}` : '';
        ctx.log(`trackerless: error: ${String(stalled!.reason)}${progress}`);
        return EXIT_FAILURE;
      }
      status.stop();
      await swarm.destroy();
      throw asUsageError(err);
    }

    const info = swarm.info!;
    const p = swarm.progress();
    status.stop();
    const what = selection
      ? `${selectedFiles(info, selection).length} selected file(s) of ${info.name}`
      : `${info.name}, ${formatBytes(info.length)}`;
    ctx.log(
      `done: ${what} verified in ${formatDuration((ctx.clock.now() - started) / 1000)}; ${fetched(p)}, uploaded ${formatBytes(p.uploaded)}`
    );
    ctx.print(join(outDir, ...info.files[0]!.path.slice(0, 1)));
    if (!opts.seed) {
      await swarm.stop();
      return EXIT_OK;
    }
    return seedUntilInterrupted(ctx, swarm, opts);
  }
};

/**
 * Aborts after `seconds` if the download has not started by then: no metadata yet, or no
 * peer connected and no byte received while pieces are missing. Once started, a slow or
 * stalled transfer is left to run (peers come and go). The reason says what was missing.
 */
function stallSignal(swarm: Swarm, seconds: number): AbortSignal {
  const controller = new AbortController();
  const timer = AbortSignal.timeout(Math.round(seconds * 1000));
  timer.addEventListener(
    'abort',
    () => {
      const p = swarm.progress();
      const nodes = swarm.dht ? `, ${swarm.dht.stats().nodes} DHT nodes known` : '';
      if (!swarm.info) {
        controller.abort(`no metadata after ${seconds} s (${p.peers} peers connected${nodes})`);
      } else if (p.peers === 0 && p.downloaded === 0 && p.verifiedPieces < p.totalPieces) {
        controller.abort(`no peer to download from after ${seconds} s${nodes ? ` (${nodes.slice(2)})` : ''}`);
      }
    },
    { once: true }
  );
  return controller.signal;
}

/** Where the state of a stopped download went, if anywhere. */
function savedNote(swarm: Swarm): string {
  return swarm.info ? '; state saved, run the same command again to resume' : '';
}

/** A BEP 46 `xs=urn:btpk:` link; a clear usage error otherwise. */
function parseMutableLink(link: string): MutableMagnet {
  try {
    return parseMutableMagnet(link);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** `--select`: BEP 53 indices (as in `so=`), or 'all' to ignore the link's `so=`. */
export function parseSelection(value: string): number[] | 'all' {
  if (value.trim().toLowerCase() === 'all') return 'all';
  const text = value.trim();
  try {
    return parseSelectOnly(text, '--select');
  } catch (err) {
    const prefix = `invalid --select ${text}: `;
    const message = (err as Error).message;
    const reason = message.startsWith(prefix) ? message.slice(prefix.length) : message;
    throw new CommanderArgumentError(
      `${reason}; expected zero-based file indices such as 0,2,4-6, or 'all'.`
    );
  }
}

/** The selection in effect: --select, else the link's so=. */
function selectionOf(opts: DownloadCliOptions, magnet: Magnet): number[] | undefined {
  const choice = opts.select ?? magnet.selectOnly;
  return choice === 'all' ? undefined : choice;
}

/** The selected files that hold data (indices past the end are reported by the engine). */
function selectedFiles(info: TorrentInfo, selection: number[]): TorrentInfo['files'] {
  return selection.flatMap((i) => {
    const f = info.files[i];
    return f && !f.padding ? [f] : [];
  });
}

function describeSelection(info: TorrentInfo, selection: number[] | undefined): string | undefined {
  if (!selection) return undefined;
  const files = selectedFiles(info, selection);
  const bytes = files.reduce((n, f) => n + f.length, 0);
  const names = files.slice(0, 5).map((f) => f.path.join('/'));
  const more = files.length > names.length ? `, ... (${files.length - names.length} more)` : '';
  return `selected ${files.length} file${files.length === 1 ? '' : 's'} (${formatBytes(bytes)}): ${names.join(', ')}${more}`;
}

/** A selection that does not fit the torrent is a bad argument (--select, or the link's so=). */
function asUsageError(err: unknown): unknown {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'ERR_INVALID_SELECTION' ? new UsageError(`--select / so=: ${(err as Error).message}`) : err;
}

function fetched(p: EngineProgress): string {
  return `fetched ${formatBytes(p.downloaded)} (${p.downloaded} bytes) from peers this run`;
}

function summary(p: EngineProgress): string {
  if (p.totalPieces === 0) return 'no metadata yet';
  return `${p.verifiedPieces}/${p.totalPieces} pieces (${formatBytes(p.verifiedBytes)} of ${formatBytes(p.totalBytes)}) verified, ${fetched(p)}`;
}

function interruptedEarly(ctx: CliContext): number {
  ctx.log(`interrupted (${String(ctx.interrupt.reason)}) while starting`);
  return EXIT_INTERRUPTED;
}

/** After a download with --seed: upload until SIGINT/SIGTERM. */
async function seedUntilInterrupted(
  ctx: CliContext,
  swarm: Swarm,
  opts: DownloadCliOptions
): Promise<number> {
  const since = swarm.progress().uploaded;
  ctx.log(`seeding on TCP port ${swarm.port}; Ctrl-C to stop`);
  const status = new StatusLine(
    ctx,
    (width) => seedingLine(swarm.progress(), swarmView(swarm, opts, width), since),
    { plainIntervalMs: 10_000 }
  );
  status.start();
  await aborted(ctx.interrupt);
  status.stop();
  await swarm.stop();
  ctx.log(
    `stopped seeding (${String(ctx.interrupt.reason)}): uploaded ${formatBytes(swarm.progress().uploaded)} in all`
  );
  return EXIT_OK;
}

/** The metadata saved by an earlier run for this infohash, if any (checked against it). */
async function loadCachedMetadata(outDir: string, magnet: Magnet): Promise<TorrentInfo | undefined> {
  try {
    const bytes = await fsp.readFile(metadataCachePath(outDir, magnet.infoHash));
    const { info } = parseTorrentFile(bytes);
    return toHex(info.infoHash) === magnet.infoHashHex ? info : undefined;
  } catch {
    return undefined; // none, or unreadable: fetch it from peers again
  }
}

/** Keep the metadata next to the resume file (atomically), so a rerun needs no peer to start. */
async function saveMetadata(outDir: string, info: TorrentInfo): Promise<void> {
  const path = metadataCachePath(outDir, info.infoHash);
  await makeDirectory(dirname(path));
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await fsp.writeFile(tmp, toTorrentFile(info));
  await fsp.rename(tmp, path);
}
