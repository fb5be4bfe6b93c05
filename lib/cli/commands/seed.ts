/**
 * `trackerless seed <path> [--bootstrap H:P ...] [--port P] [--upload-limit B/s]`: hash a file
 * or folder into a (v1) torrent, print its magnet link as the first stdout line, announce it
 * on the DHT (again every 20 minutes) and upload to whoever asks, until SIGINT/SIGTERM (exit 0).
 *
 * Nothing is written into the seeded folder. Hashing progress, the announce result and a
 * status line (upload rate, peers, bytes uploaded) go to stderr.
 *
 * With --publish-key FILE (BEP 46) the torrent is also published as the current version of a
 * mutable torrent under the ed25519 key in FILE (created when missing) and --publish-salt;
 * the `xs=urn:btpk:` link that follows it is the second stdout line. Seeding a new version
 * with the same key and salt publishes it with the next seq, and followers switch to it. The
 * item is re-put every hour while seeding so it does not expire.
 */
import { InvalidArgumentError } from 'commander';
import { promises as fsp } from 'node:fs';
import { loadKeyPair, seed, toTorrentFile, type KeyPair, type SeedResult } from '../../index.js';
import { toMutableMagnet } from '../../magnet/magnet.js';
import { followMutableTorrent, publishMutableTorrent } from '../../mutable-torrent/mutable-torrent.js';
import { ITEM_REPUBLISH_MS } from '../../constants.js';
import { saltParser } from '../args.js';
import type { DHT } from '../../dht/dht.js';
import { EXIT_INTERRUPTED, EXIT_OK, UsageError, type CliCommand, type CliContext } from '../program.js';
import { toHex } from '../../util/bytes.js';
import {
  aborted,
  addSwarmOptions,
  formatBytes,
  formatDuration,
  formatRate,
  logJoin,
  logPeerSources,
  StatusLine,
  swarmOptionsFrom,
  type SwarmCliOptions
} from '../transfer.js';

interface SeedCliOptions extends SwarmCliOptions {
  pieceLength?: number;
  torrent?: string;
  verbose?: boolean;
  publishKey?: string;
  publishSalt?: string;
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
      .option(
        '--publish-key <file>',
        'BEP 46: publish this torrent as the current version under the ed25519 key in FILE (created if missing)'
      )
      .option('--publish-salt <text>', 'BEP 46: the salt of the mutable torrent (up to 64 bytes)', saltParser)
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
    if (opts.publishSalt !== undefined && !opts.publishKey)
      throw new UsageError('--publish-salt needs --publish-key FILE');
    const keyPair = opts.publishKey ? await loadKeyPair(opts.publishKey, { create: true }) : undefined;
    // Fails early and clearly on a missing path.
    await fsp.stat(path).catch(() => {
      throw new UsageError(`cannot read ${path}: no such file or folder`);
    });
    const started = Date.now();
    let lastReport = started;
    // The status line and the listeners exist before the swarm starts: the first announce
    // can finish during an await below (writing --torrent), and early warnings come during start.
    const running: { swarm?: SeedResult['swarm'] } = {};
    const status = new StatusLine(
      ctx,
      () => {
        const p = running.swarm!.progress();
        return `seeding: up ${formatRate(p.upRate)}, ${p.peers} peer${p.peers === 1 ? '' : 's'}, uploaded ${formatBytes(p.uploaded)}`;
      },
      { plainIntervalMs: 10_000 }
    );
    const starting = new AbortController();
    const onInterrupt = (): void => starting.abort();
    ctx.interrupt.addEventListener('abort', onInterrupt, { once: true });
    let result: SeedResult;
    try {
      result = await seed(path, {
        ...swarmOptionsFrom(opts),
        signal: starting.signal,
        listeners: {
          announced: (storedOn) =>
            status.log(`announced on the DHT: stored on ${storedOn} node${storedOn === 1 ? '' : 's'}`),
          ...(opts.verbose
            ? { warning: (err: Error) => status.log(`trackerless: warning: ${err.message}`) }
            : {})
        },
        create: {
          ...(opts.pieceLength !== undefined ? { pieceLength: opts.pieceLength } : {}),
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
    running.swarm = swarm;
    ctx.print(magnet);
    if (opts.torrent) await fsp.writeFile(opts.torrent, toTorrentFile(info, { createdBy: 'trackerless' }));
    ctx.log(
      `seeding ${info.name}: ${formatBytes(info.length)}, ${info.pieceCount} pieces of ${formatBytes(info.pieceLength)} ` +
        `(hashed in ${formatDuration((Date.now() - started) / 1000)}); TCP port ${swarm.port}, DHT port ${swarm.dht?.address().port}; Ctrl-C to stop`
    );
    if (opts.verbose) logPeerSources(swarm, status);
    logJoin(swarm, status);
    const publishing = keyPair
      ? publish(ctx, swarm.dht!, keyPair, info.infoHash, opts.publishSalt, (line) => status.log(line))
      : undefined;
    status.start();
    await aborted(ctx.interrupt);
    status.stop();
    await publishing?.stop();
    await swarm.stop();
    ctx.log(
      `stopped (${String(ctx.interrupt.reason)}): uploaded ${formatBytes(swarm.progress().uploaded)} in ${formatDuration((Date.now() - started) / 1000)}`
    );
    return EXIT_OK;
  }
};

/**
 * BEP 46: put `infoHash` under the key (the next seq), print the follow link, then keep the
 * item alive (re-put hourly) until stopped.
 */
function publish(
  ctx: CliContext,
  dht: DHT,
  keyPair: KeyPair,
  infoHash: Uint8Array,
  saltText: string | undefined,
  log: (line: string) => void
): { stop(): Promise<void> } {
  const salt = new TextEncoder().encode(saltText ?? '');
  const stop = new AbortController();
  const running = (async () => {
    try {
      const put = await publishMutableTorrent(dht, { keyPair, salt, infoHash, signal: stop.signal });
      ctx.print(toMutableMagnet({ publicKey: keyPair.publicKey, salt }));
      log(
        `published as version ${put.seq} of ${toHex(keyPair.publicKey)}: stored on ${put.storedOn} of ${put.targets} nodes`
      );
      const key = { publicKey: keyPair.publicKey, salt };
      for await (const v of followMutableTorrent(dht, key, {
        intervalMs: ITEM_REPUBLISH_MS,
        signal: stop.signal,
        onError: (err) => log(`trackerless: warning: republishing: ${err.message}`)
      }))
        if (v.seq > (put.seq ?? 0)) log(`a newer version ${v.seq} was published under this key`);
    } catch (err) {
      if (!stop.signal.aborted) log(`trackerless: error: publishing failed: ${(err as Error).message}`);
    }
  })();
  return {
    stop: async () => {
      stop.abort();
      await running;
    }
  };
}
