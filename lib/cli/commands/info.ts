/**
 * `trackerless info <magnet | infohash | .torrent> [--json]`: what a torrent holds — name,
 * infohash, size, pieces, and its files with the zero-based indices `download --select` and a
 * magnet's `so=` use. A .torrent file is read without any network; for a magnet link or an
 * infohash the metadata is fetched from peers (BEP 9) through the DHT first, within --timeout.
 *
 * Output on stdout: a readable summary and a file table, or with --json one object
 * `{ infoHash, name, length, pieceLength, pieceCount, private, magnet, files: [{ index, path,
 * size }] }` with the files in torrent order (BEP 47 padding files carry `padding: true`).
 * Exit 0 with the metadata, 1 when it was not found in time, 2 on a bad argument.
 */
import { AbortError, Swarm, toMagnet, toHex, type TorrentInfo } from '../../index.js';
import { MemoryStorage } from '../../engine/storage/memory-storage.js';
import { secondsParser } from '../args.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, type CliCommand, type CliContext } from '../program.js';
import { TORRENT_INPUT_HELP, readTorrentInput } from '../torrent-input.js';
import { awaitMetadata } from '../metadata-wait.js';
import { addSwarmOptions, formatBytes, swarmOptionsFrom, type SwarmCliOptions } from '../transfer.js';

interface InfoCliOptions extends SwarmCliOptions {
  json?: boolean;
  timeout: number;
  verbose?: boolean;
}

/** One file of the listing. */
export interface InfoFile {
  index: number;
  /** Path where `download` puts it, relative to --out, '/'-separated (the torrent's name first). */
  path: string;
  size: number;
  padding?: true;
}

/** The --json document. */
export function infoJson(info: TorrentInfo): Record<string, unknown> {
  return {
    infoHash: toHex(info.infoHash),
    name: info.name,
    length: info.length,
    pieceLength: info.pieceLength,
    pieceCount: info.pieceCount,
    private: info.private,
    magnet: toMagnet({ infoHash: info.infoHash, name: info.name }),
    files: infoFiles(info)
  };
}

export function infoFiles(info: TorrentInfo): InfoFile[] {
  return info.files.map((f, index) => ({
    index,
    path: f.path.join('/'),
    size: f.length,
    ...(f.padding ? { padding: true as const } : {})
  }));
}

/** The readable form: a summary, then one line per file: index, size, path. */
export function infoTable(info: TorrentInfo): string[] {
  const files = infoFiles(info);
  const data = files.filter((f) => !f.padding).length;
  const lines = [
    `name:      ${info.name}`,
    `infohash:  ${toHex(info.infoHash)}`,
    `magnet:    ${toMagnet({ infoHash: info.infoHash, name: info.name })}`,
    `size:      ${formatBytes(info.length)} (${info.length} bytes) in ${data} file${data === 1 ? '' : 's'}`,
    `pieces:    ${info.pieceCount} of ${formatBytes(info.pieceLength)}`,
    `private:   ${info.private ? 'yes (BEP 27: no DHT, no PEX)' : 'no'}`,
    ''
  ];
  const indexWidth = Math.max(5, String(files.length - 1).length);
  const sizes = files.map((f) => formatBytes(f.size));
  const sizeWidth = Math.max(4, ...sizes.map((s) => s.length));
  lines.push(`${'index'.padStart(indexWidth)}  ${'size'.padStart(sizeWidth)}  path`);
  files.forEach((f, i) =>
    lines.push(
      `${String(f.index).padStart(indexWidth)}  ${sizes[i]!.padStart(sizeWidth)}  ${f.path}${f.padding ? '  (padding)' : ''}`
    )
  );
  return lines;
}

export const infoCommand: CliCommand = {
  name: 'info',
  configure(command) {
    command
      .description("show a torrent's files with their indices and sizes (fetches the metadata if needed)")
      .argument('<torrent>', TORRENT_INPUT_HELP)
      .option('--json', 'print one JSON object: { infoHash, name, ..., files: [{ index, path, size }] }')
      .option(
        '-t, --timeout <seconds>',
        'give up (exit 1) if the metadata is not fetched in this long',
        secondsParser(false),
        120
      );
    addSwarmOptions(command)
      .option('-v, --verbose', 'also print the warnings of the DHT and the engine')
      .addHelpText(
        'after',
        '\nExamples:\n' +
          '  trackerless info ubuntu.torrent --json\n' +
          "  trackerless info 'magnet:?xt=urn:btih:...' --bootstrap 127.0.0.1:6881"
      );
  },
  async run(ctx, args, options) {
    const opts = options as unknown as InfoCliOptions;
    const input = await readTorrentInput(String(args[0]));
    const info =
      input.kind === 'torrent' ? input.info : await fetchMetadata(ctx, input.magnet.infoHashHex, opts);
    if (info === 'interrupted') return EXIT_INTERRUPTED;
    if (info === 'timeout') return EXIT_FAILURE;
    if (opts.json) ctx.print(JSON.stringify(infoJson(info)));
    else for (const line of infoTable(info)) ctx.print(line);
    return EXIT_OK;
  }
};

/**
 * The metadata from peers: a swarm over memory storage (nothing is written to disk), stopped
 * as soon as the info dictionary is verified.
 */
async function fetchMetadata(
  ctx: CliContext,
  infoHashHex: string,
  opts: InfoCliOptions
): Promise<TorrentInfo | 'timeout' | 'interrupted'> {
  const started = ctx.clock.now();
  const signal = AbortSignal.any([ctx.interrupt, AbortSignal.timeout(Math.round(opts.timeout * 1000))]);
  ctx.log(`fetching the metadata of ${infoHashHex} from peers ...`);
  let swarm: Swarm;
  try {
    swarm = await Swarm.create({
      ...swarmOptionsFrom(opts, ctx.stateDir),
      magnet: `magnet:?xt=urn:btih:${infoHashHex}`,
      storage: (info) => new MemoryStorage(info),
      engineOptions: { resume: false },
      // Look, don't announce: we leave as soon as the metadata is verified.
      discovery: { announce: false },
      signal
    });
  } catch (err) {
    if (err instanceof AbortError && signal.aborted) return stopped(ctx, opts);
    throw err;
  }
  try {
    return await awaitMetadata(ctx, swarm, opts, { signal, started, verbose: opts.verbose ?? false });
  } catch (err) {
    if (err instanceof AbortError && signal.aborted) return stopped(ctx, opts, swarm);
    throw err;
  } finally {
    await swarm.destroy();
  }
}

function stopped(ctx: CliContext, opts: InfoCliOptions, swarm?: Swarm): 'timeout' | 'interrupted' {
  if (ctx.interrupt.aborted) {
    ctx.log(`interrupted (${String(ctx.interrupt.reason)})`);
    return 'interrupted';
  }
  const peers = swarm ? `${swarm.progress().peers} peers connected` : 'not started';
  const nodes = swarm?.dht ? `, ${swarm.dht.stats().nodes} DHT nodes known` : '';
  ctx.log(`trackerless: error: no metadata after ${opts.timeout} s (${peers}${nodes})`);
  return 'timeout';
}
