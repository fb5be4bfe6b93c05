/**
 * `trackerless seed <path> [--bootstrap H:P ...] [--port P] [--upload-limit B/s]`: hash a file
 * or folder into a (v1) torrent, print its magnet link as the first stdout line, announce it
 * on the DHT (again every 20 minutes) and upload to whoever asks, until SIGINT/SIGTERM (exit
 * 130, as every command stopped by a signal).
 *
 * `trackerless seed <x.torrent | magnet | infohash> --out DIR`: seed an existing torrent whose
 * data is in DIR (as `download --out DIR` left it): the data is verified first; pieces that
 * are missing or damaged are fetched from peers (a magnet or infohash: the metadata too).
 * A path ending in `.torrent` is read as a torrent, not shared as content.
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
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import {
  loadKeyPair,
  seed,
  toTorrentFile,
  type KeyPair,
  type SeedResult,
  type TorrentInfo
} from '../../index.js';
import { toMutableMagnet } from '../../magnet/magnet.js';
import { followMutableTorrent, publishMutableTorrent } from '../../mutable-torrent/mutable-torrent.js';
import { ITEM_REPUBLISH_MS } from '../../constants.js';
import { pieceLengthParser, saltParser } from '../args.js';
import { Swarm, type SwarmListeners } from '../../swarm/swarm.js';
import { TORRENT_INPUT_HELP, namesInfoHash, readTorrentInput, type TorrentInput } from '../torrent-input.js';
import { sleep } from '../../util/abort.js';
import { EXIT_INTERRUPTED, EXIT_OK, UsageError, type CliCommand, type CliContext } from '../program.js';
import { toHex } from '../../util/bytes.js';
import {
  aborted,
  addSwarmOptions,
  formatBytes,
  formatDuration,
  logJoin,
  peerSourceLogger,
  seedingLine,
  StatusLine,
  startInterruptibly,
  swarmOptionsFrom,
  swarmView,
  type SwarmCliOptions
} from '../transfer.js';

/** Puts of a new version while no node stores it, the first retry after PUBLISH_RETRY_MS (then doubling). */
const PUBLISH_TRIES = 6;
const PUBLISH_RETRY_MS = 5_000;

interface SeedCliOptions extends SwarmCliOptions {
  /** Where the data of a .torrent / magnet / infohash is. */
  out?: string;
  pieceLength?: number;
  torrent?: string;
  verbose?: boolean;
  publishKey?: string;
  publishSalt?: string;
}

export const seedCommand: CliCommand = {
  name: 'seed',
  configure(command) {
    command
      .description(
        'seed a file or folder: print its magnet link, announce it on the DHT, upload until interrupted'
      )
      .argument('<path>', `the file or folder to share; or ${TORRENT_INPUT_HELP} whose data is in --out`);
    addSwarmOptions(command)
      .option(
        '--piece-length <KiB>',
        'piece length in KiB, a power of two (default: chosen from the size)',
        pieceLengthParser
      )
      .option('--torrent <file>', 'also write the .torrent file here')
      .option(
        '-o, --out <dir>',
        'with a .torrent, magnet link or infohash: the directory holding its data (default: .)'
      )
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
    if (namesInfoHash(path) || /\.torrent$/i.test(path))
      return seedTorrent(ctx, await readTorrentInput(path), opts);
    if (opts.out !== undefined)
      throw new UsageError('--out is for seeding a .torrent, magnet link or infohash');
    const keyPair = opts.publishKey ? await loadKeyPair(opts.publishKey, { create: true }) : undefined;
    // Fails early and clearly on a missing path.
    await fsp.stat(path).catch(() => {
      throw new UsageError(`cannot read ${path}: no such file or folder`);
    });
    const started = ctx.clock.now();
    let lastReport = started;
    // The status line and the listeners exist before the swarm starts: the first announce
    // can finish during an await below (writing --torrent), and early warnings come during start.
    const running: { swarm?: SeedResult['swarm'] } = {};
    const status = new StatusLine(
      ctx,
      (width) => seedingLine(running.swarm!.progress(), swarmView(running.swarm!, opts, width)),
      { plainIntervalMs: 10_000 }
    );
    const result = await startInterruptibly(ctx, (signal) =>
      seed(path, {
        ...swarmOptionsFrom(opts, ctx.stateDir),
        signal,
        listeners: seedListeners(status, opts),
        create: {
          ...(opts.pieceLength !== undefined ? { pieceLength: opts.pieceLength } : {}),
          onProgress: (hashed, total) => {
            const now = ctx.clock.now();
            if (now - lastReport < 2_000 || hashed === total) return;
            lastReport = now;
            ctx.log(`hashing: ${formatBytes(hashed)} of ${formatBytes(total)}`);
          }
        }
      })
    );
    if (!result) {
      ctx.log(`interrupted (${String(ctx.interrupt.reason)}) while hashing`);
      return EXIT_INTERRUPTED;
    }
    const { swarm, info, magnet } = result;
    running.swarm = swarm;
    ctx.print(magnet);
    if (opts.torrent) await fsp.writeFile(opts.torrent, toTorrentFile(info, { createdBy: 'trackerless' }));
    ctx.log(
      `seeding ${info.name}: ${formatBytes(info.length)}, ${info.pieceCount} pieces of ${formatBytes(info.pieceLength)} ` +
        `(hashed in ${formatDuration((ctx.clock.now() - started) / 1000)}); TCP port ${swarm.port}, DHT port ${swarm.dht?.address().port}; Ctrl-C to stop`
    );
    return seedUntilStopped(ctx, swarm, status, opts, { keyPair, infoHash: info.infoHash, started });
  }
};

/**
 * Upload until SIGINT/SIGTERM: peer and join reports, BEP 46 publishing with a key, the
 * status line; then stop the swarm and say what was uploaded.
 */
async function seedUntilStopped(
  ctx: CliContext,
  swarm: Swarm,
  status: StatusLine,
  opts: SeedCliOptions,
  run: { keyPair: KeyPair | undefined; infoHash: Uint8Array; started: number }
): Promise<number> {
  logJoin(swarm, status);
  const publishing = run.keyPair
    ? publish(ctx, swarm, run.keyPair, run.infoHash, opts.publishSalt, (line) => status.log(line))
    : undefined;
  status.start();
  await aborted(ctx.interrupt);
  status.stop();
  await publishing?.stop();
  await swarm.stop();
  ctx.log(
    `stopped (${String(ctx.interrupt.reason)}): uploaded ${formatBytes(swarm.progress().uploaded)} in ${formatDuration((ctx.clock.now() - run.started) / 1000)}`
  );
  return EXIT_OK;
}

/**
 * Seed a torrent given by a .torrent file, magnet link or infohash from the data in --out:
 * verify what is there, fetch what is missing, upload until stopped.
 */
async function seedTorrent(ctx: CliContext, input: TorrentInput, opts: SeedCliOptions): Promise<number> {
  const outDir = resolve(opts.out ?? '.');
  const stat = await fsp.stat(outDir).catch(() => undefined);
  if (!stat?.isDirectory()) throw new UsageError(`--out ${outDir}: no such directory (where the data is)`);
  if (opts.pieceLength !== undefined || opts.torrent !== undefined)
    throw new UsageError('--piece-length and --torrent are for seeding a file or folder');
  const keyPair = opts.publishKey ? await loadKeyPair(opts.publishKey, { create: true }) : undefined;
  const started = ctx.clock.now();
  const known = input.kind === 'torrent' ? input.info : undefined;
  ctx.log(
    known
      ? `checking the data of ${known.name} in ${outDir} ...`
      : `looking for peers of ${input.magnet.infoHashHex} to get its metadata ...`
  );
  // The status line and the listeners exist before the swarm starts (see the seed of a path).
  const running: { swarm?: Swarm } = {};
  const status = new StatusLine(
    ctx,
    (width) => seedingLine(running.swarm!.progress(), swarmView(running.swarm!, opts, width)),
    { plainIntervalMs: 10_000 }
  );
  const swarm = await startInterruptibly(ctx, (signal) =>
    Swarm.create({
      ...swarmOptionsFrom(opts, ctx.stateDir),
      listeners: seedListeners(status, opts),
      magnet: input.magnet,
      ...(known ? { torrent: known } : {}),
      // BEP 5: the DHT nodes a .torrent suggests help the join.
      ...(input.kind === 'torrent' && input.nodes.length > 0 ? { nodes: input.nodes } : {}),
      outDir,
      seed: true,
      existing: 'verify',
      // Seeding a user's folder must not write `.trackerless/` into it.
      engineOptions: { resume: false },
      signal
    })
  );
  if (!swarm) {
    ctx.log(`interrupted (${String(ctx.interrupt.reason)}) while checking the data`);
    return EXIT_INTERRUPTED;
  }
  running.swarm = swarm;
  ctx.print(swarm.magnetLink());
  const complete = (info: TorrentInfo): void =>
    status.log(`all ${info.pieceCount} pieces of ${info.name} verified in ${outDir}: seeding`);
  if (swarm.info) {
    const p = swarm.progress();
    const missing = p.totalPieces - p.verifiedPieces;
    status.log(
      `seeding ${swarm.info.name}: ${p.verifiedPieces}/${p.totalPieces} pieces of ${formatBytes(swarm.info.pieceLength)} verified in ${outDir}` +
        (missing > 0 ? `; the ${missing} missing are fetched from peers` : '') +
        `; TCP port ${swarm.port}; Ctrl-C to stop`
    );
    if (missing > 0) void swarm.done().then(() => complete(swarm.info!), ignoreStop);
  } else {
    swarm.once('metadata', (info) =>
      status.log(
        `metadata: ${info.name}, ${formatBytes(info.length)}, from peers; checking the data in ${outDir} (TCP port ${swarm.port})`
      )
    );
    void swarm.done().then(() => complete(swarm.info!), ignoreStop);
  }
  return seedUntilStopped(ctx, swarm, status, opts, { keyPair, infoHash: input.magnet.infoHash, started });
}

/**
 * What a seed reports from the swarm's events: its announces, and with --verbose the warnings
 * and where each peer came from. Given to the swarm before it starts (SwarmOptions.listeners).
 */
function seedListeners(status: StatusLine, opts: SeedCliOptions): SwarmListeners {
  return {
    announced: (storedOn) =>
      status.log(`announced on the DHT: stored on ${storedOn} node${storedOn === 1 ? '' : 's'}`),
    ...(opts.verbose
      ? {
          warning: (err: Error) => status.log(`trackerless: warning: ${err.message}`),
          peer: peerSourceLogger(status)
        }
      : {})
  };
}

/** A wait on a swarm that ends because the swarm was stopped: nothing to report. */
function ignoreStop(): void {}

/**
 * BEP 46: once our DHT node is in the network, put `infoHash` under the key (the next seq) —
 * again after PUBLISH_RETRY_MS, doubling, while no node stored it — print the follow link, then
 * keep the item alive (re-put hourly) until stopped. A put before the join (a seed given no
 * bootstrap list joins from its state file, PORT messages or the LAN, which takes a moment)
 * would reach nobody.
 */
function publish(
  ctx: CliContext,
  swarm: Swarm,
  keyPair: KeyPair,
  infoHash: Uint8Array,
  saltText: string | undefined,
  log: (line: string) => void
): { stop(): Promise<void> } {
  const dht = swarm.dht!;
  const salt = new TextEncoder().encode(saltText ?? '');
  const stop = new AbortController();
  const running = (async () => {
    try {
      await swarm.dhtJoined(stop.signal);
      let put = await publishMutableTorrent(dht, { keyPair, salt, infoHash, signal: stop.signal });
      for (let attempt = 1; put.storedOn === 0 && attempt < PUBLISH_TRIES; attempt++) {
        const waitMs = PUBLISH_RETRY_MS * 2 ** (attempt - 1);
        log(`publishing: no node stored the item yet; trying again in ${waitMs / 1000} s`);
        await sleep(ctx.clock, waitMs, stop.signal);
        put = await publishMutableTorrent(dht, { keyPair, salt, infoHash, signal: stop.signal });
      }
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
