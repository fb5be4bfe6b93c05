/**
 * `trackerless seed <path> [--bootstrap H:P ...] [--port P] [--upload-limit B/s]`: hash a file
 * or folder into a (v1) torrent, print its magnet link as the first stdout line, announce it
 * on the DHT (again every 20 minutes) and upload to whoever asks, until SIGINT/SIGTERM (exit 0).
 *
 * Nothing is written into the seeded folder. Hashing progress, the announce result and a
 * status line (upload rate, peers, bytes uploaded) go to stderr.
 */
import { InvalidArgumentError } from 'commander';
import { promises as fsp } from 'node:fs';
import { seed, toTorrentFile, type SeedResult } from '../../index.js';
import { EXIT_INTERRUPTED, EXIT_OK, UsageError, type CliCommand } from '../program.js';
import {
  aborted,
  addSwarmOptions,
  formatBytes,
  formatDuration,
  formatRate,
  StatusLine,
  swarmOptionsFrom,
  type SwarmCliOptions
} from '../transfer.js';

interface SeedCliOptions extends SwarmCliOptions {
  pieceLength?: number;
  torrent?: string;
  verbose?: boolean;
}

function pieceLengthParser(value: string): number {
  const kib = /^[0-9]{2,5}$/.test(value) ? Number(value) : NaN;
  if (!(kib >= 16 && kib <= 65536 && (kib & (kib - 1)) === 0)) {
    throw new InvalidArgumentError('expected a power of two in KiB, 16-65536.');
  }
  return kib * 1024;
}

export const seedCommand: CliCommand = {
  name: 'seed',
  configure(command) {
    command
      .description(
        'seed a file or folder: print its magnet link, announce it on the DHT, upload until interrupted'
      )
      .argument('<path>', 'the file or folder to share');
    addSwarmOptions(command)
      .option(
        '--piece-length <KiB>',
        'piece length in KiB, a power of two (default: chosen from the size)',
        pieceLengthParser
      )
      .option('--torrent <file>', 'also write the .torrent file here')
      .option('-v, --verbose', 'also print the warnings of the DHT and the engine')
      .addHelpText(
        'after',
        '\nExample:\n' +
          '  trackerless seed ./photos --port 6881 --bootstrap 127.0.0.1:6881 --upload-limit 2M\n' +
          '  (then, elsewhere: trackerless download "<the printed magnet link>" --bootstrap ...)'
      );
  },
  async run(ctx, args, options) {
    const path = String(args[0]);
    const opts = options as unknown as SeedCliOptions;
    // Fails early and clearly on a missing path.
    await fsp.stat(path).catch(() => {
      throw new UsageError(`cannot read ${path}: no such file or folder`);
    });
    const started = Date.now();
    let lastReport = started;
    const starting = new AbortController();
    const onInterrupt = (): void => starting.abort();
    ctx.interrupt.addEventListener('abort', onInterrupt, { once: true });
    let result: SeedResult;
    try {
      result = await seed(path, {
        ...swarmOptionsFrom(opts),
        signal: starting.signal,
        create: {
          ...(opts.pieceLength ? { pieceLength: opts.pieceLength } : {}),
          onProgress: (hashed, total) => {
            const now = Date.now();
            if (now - lastReport < 2_000 || hashed === total) return;
            lastReport = now;
            ctx.log(`hashing: ${formatBytes(hashed)} of ${formatBytes(total)}`);
          }
        }
      });
    } catch (err) {
      if (ctx.interrupt.aborted) {
        ctx.log(`interrupted (${String(ctx.interrupt.reason)}) while hashing`);
        return EXIT_INTERRUPTED;
      }
      throw err;
    } finally {
      ctx.interrupt.removeEventListener('abort', onInterrupt);
    }
    const { swarm, info, magnet } = result;
    ctx.print(magnet);
    if (opts.torrent) await fsp.writeFile(opts.torrent, toTorrentFile(info, { createdBy: 'trackerless' }));
    ctx.log(
      `seeding ${info.name}: ${formatBytes(info.length)}, ${info.pieceCount} pieces of ${formatBytes(info.pieceLength)} ` +
        `(hashed in ${formatDuration((Date.now() - started) / 1000)}); TCP port ${swarm.port}, DHT port ${swarm.dht?.address().port}; Ctrl-C to stop`
    );
    const status = new StatusLine(
      ctx,
      () => {
        const p = swarm.progress();
        return `seeding: up ${formatRate(p.upRate)}, ${p.peers} peer${p.peers === 1 ? '' : 's'}, uploaded ${formatBytes(p.uploaded)}`;
      },
      { plainIntervalMs: 10_000 }
    );
    swarm.on('announced', (storedOn) =>
      status.log(`announced on the DHT: stored on ${storedOn} node${storedOn === 1 ? '' : 's'}`)
    );
    if (opts.verbose) swarm.on('warning', (err) => status.log(`trackerless: warning: ${err.message}`));
    status.start();
    await aborted(ctx.interrupt);
    status.stop();
    await swarm.stop();
    ctx.log(
      `stopped (${String(ctx.interrupt.reason)}): uploaded ${formatBytes(swarm.progress().uploaded)} in ${formatDuration((Date.now() - started) / 1000)}`
    );
    return EXIT_OK;
  }
};
