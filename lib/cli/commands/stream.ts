/**
 * `trackerless stream <magnet | .torrent | infohash> [--file N] [--port P] --bootstrap H:P`:
 * start downloading, serve the torrent's files over HTTP while they arrive, and print the URL
 * to open in a player (stdout, one line): the file's with --file (or for a single-file
 * torrent), else the root page listing every file. Players' Range requests get their bytes
 * first (piece deadlines); only verified bytes are served. Runs until SIGINT/SIGTERM (exit 130, like every command a signal stops).
 *
 * The HTTP server listens on 127.0.0.1 unless --http-host says otherwise: anyone who can
 * reach it can read the files. Peers and the DHT use --host / --peer-port as `download` does.
 */
import { InvalidArgumentError as CommanderArgumentError } from 'commander';
import { resolve } from 'node:path';
import { Swarm, toHex, type TorrentInfo } from '../../index.js';
import { StreamServer } from '../../http/stream-server.js';
import { collectBootstrap, parseBindHost, portParser } from '../args.js';
import { EXIT_INTERRUPTED, UsageError, type CliCommand } from '../program.js';
import { readTorrentInput, TORRENT_INPUT_HELP } from '../torrent-input.js';
import { awaitMetadata, describeTorrent } from '../metadata-wait.js';
import {
  aborted,
  parseRate,
  progressLine,
  StatusLine,
  swarmOptionsFrom,
  addStateOptions,
  type SwarmCliOptions
} from '../transfer.js';

interface StreamCliOptions extends Omit<SwarmCliOptions, 'port'> {
  out: string;
  file?: number;
  port: number;
  httpHost: string;
  peerPort: number;
  sequential?: boolean;
}

export const streamCommand: CliCommand = {
  name: 'stream',
  configure(command) {
    command
      .description('stream a torrent over HTTP while it downloads: prints the URL to open in a player')
      .argument('<torrent>', TORRENT_INPUT_HELP)
      .option(
        '--file <index>',
        "serve only this file (zero-based index into the torrent's file list)",
        fileIndex
      )
      .option('--port <port>', 'HTTP port (0 = any free port)', portParser(true), 8888)
      .option(
        '--http-host <ip>',
        'address the HTTP server binds (others than loopback expose the files)',
        parseBindHost,
        '127.0.0.1'
      )
      .option('-o, --out <dir>', 'directory to download into', '.')
      .option('--sequential', 'download pieces in order (whole-file playback) instead of rarest first')
      .option('--host <ip>', 'IP address for peers and the DHT node', parseBindHost, '0.0.0.0')
      .option(
        '-b, --bootstrap <host:port>',
        'DHT bootstrap node (repeatable, or comma-separated); default: the public BitTorrent routers',
        collectBootstrap
      )
      .option('--no-bootstrap', 'contact no bootstrap node (not even the public routers)')
      .option('--peer-port <port>', 'TCP port for incoming peers (0 = any free port)', portParser(true), 0)
      .option(
        '--dht-port <port>',
        'UDP port of the DHT node (default: the same number as --peer-port)',
        portParser(true)
      )
      .option(
        '--download-limit <rate>',
        'download cap in bytes/s, e.g. 512k or 2M (0 = unlimited)',
        parseRate
      )
      .option('--upload-limit <rate>', 'upload cap in bytes/s (0 = unlimited)', parseRate);
    addStateOptions(command).addHelpText(
      'after',
      '\nExample:\n' +
        "  trackerless stream 'magnet:?xt=urn:btih:...' --file 0 --bootstrap 127.0.0.1:6881\n" +
        '  mpv "$(trackerless stream movie.torrent | head -1)"'
    );
  },
  async run(ctx, args, options) {
    const opts = options as unknown as StreamCliOptions;
    const input = await readTorrentInput(String(args[0]));
    if (input.kind === 'torrent' && opts.file !== undefined) checkFile(input.info, opts.file);
    const begun = ctx.clock.now();
    let swarm: Swarm;
    try {
      swarm = await Swarm.create({
        ...swarmOptionsFrom({ ...opts, port: opts.peerPort }, ctx.stateDir),
        magnet: input.magnet,
        ...(input.kind === 'torrent' ? { torrent: input.info } : {}),
        // BEP 5: the DHT nodes a .torrent suggests help the join.
        ...(input.kind === 'torrent' && input.nodes.length > 0 ? { nodes: input.nodes } : {}),
        outDir: resolve(opts.out),
        seed: true,
        ...(opts.file !== undefined ? { selectFiles: [opts.file] } : {}),
        ...(opts.sequential ? { engineOptions: { sequential: true } } : {}),
        signal: ctx.interrupt
      });
    } catch (err) {
      if (!ctx.interrupt.aborted) throw err;
      ctx.log(`interrupted (${String(ctx.interrupt.reason)}) while starting`);
      return EXIT_INTERRUPTED;
    }
    let server: StreamServer | undefined;
    try {
      server = await StreamServer.listen({ torrents: () => [swarm], host: opts.httpHost, port: opts.port });
      ctx.log(`serving on ${server.origin}/ ; looking for peers of ${toHex(swarm.infoHash)} ...`);
      const info =
        input.kind === 'torrent'
          ? input.info
          : await awaitMetadata(ctx, swarm, opts, { signal: ctx.interrupt, started: begun });
      if (input.kind === 'torrent') ctx.log(`metadata: ${describeTorrent(info)}, from ${input.path}`);
      if (opts.file !== undefined) checkFile(info, opts.file);
      const files = swarm.files.filter((f) => !f.padding);
      const file =
        opts.file !== undefined ? swarm.files[opts.file] : files.length === 1 ? files[0] : undefined;
      ctx.print(file ? server.fileUrl(swarm.infoHash, file) : `${server.origin}/`);
      const started = ctx.clock.now();
      const status = new StatusLine(ctx, () => progressLine(swarm.progress(), ctx.clock.now() - started), {
        plainIntervalMs: 10_000
      });
      status.start();
      await aborted(ctx.interrupt);
      status.stop();
    } catch (err) {
      if (!ctx.interrupt.aborted) throw err;
    } finally {
      await server?.close();
      await swarm.stop();
    }
    ctx.log(`stopped (${String(ctx.interrupt.reason)})`);
    return EXIT_INTERRUPTED;
  }
};

function fileIndex(value: string): number {
  const n = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new CommanderArgumentError('expected a zero-based file index.');
  return n;
}

function checkFile(info: TorrentInfo, index: number): void {
  const f = info.files[index];
  if (!f || f.padding)
    throw new UsageError(
      `--file ${index}: the torrent has ${info.files.length} file(s) (indices 0-${info.files.length - 1})`
    );
}
