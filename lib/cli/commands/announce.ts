/**
 * `trackerless announce <infohash|magnet> --port P`: tell the DHT that a peer for this torrent
 * listens on TCP port P of this machine. Runs a get_peers lookup, then announce_peer to the
 * k closest nodes that gave a token. Prints `stored on N of M nodes` (or a JSON object with
 * --json). Exit 0 when at least one node stored it, 1 otherwise, 130 when interrupted.
 *
 * Announces expire on the nodes after 30 minutes or so: a real seeder re-announces
 * periodically (see `trackerless node` or the library's DHT.announce in a loop).
 */
import { parseTarget, portParser } from '../args.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, UsageError, type CliCommand } from '../program.js';
import { addOneShotOptions, hex, seconds, withDht, type OneShotCliOptions } from '../session.js';

interface AnnounceCliOptions extends OneShotCliOptions {
  /** The announced TCP port (the DHT's own UDP port is --dht-port). */
  port?: number;
  impliedPort?: boolean;
}

export const announceCommand: CliCommand = {
  name: 'announce',
  configure(command) {
    command
      .description('announce that a peer for an infohash listens on TCP --port of this host')
      .argument('<infohash|magnet>', '40 hex or 32 base32 characters, or a magnet link', parseTarget)
      .option(
        '-p, --port <port>',
        'TCP port where the peer accepts BitTorrent connections',
        portParser(false)
      );
    addOneShotOptions(command, 60, 'print the result as one JSON object')
      .option('--implied-port', 'BEP 5 implied_port: nodes record our UDP source port instead of --port')
      .addHelpText(
        'after',
        '\nExample:\n  trackerless announce 0123456789abcdef0123456789abcdef01234567 --port 6881 --bootstrap 127.0.0.1:6881'
      );
  },
  async run(ctx, args, options) {
    const infoHash = args[0] as Uint8Array;
    const opts = options as unknown as AnnounceCliOptions;
    if (opts.port === undefined && !opts.impliedPort) {
      throw new UsageError(
        'announce needs --port <port> (the TCP port peers should connect to), or --implied-port'
      );
    }
    const started = ctx.clock.now();
    const { result, stopped: reason } = await withDht(ctx, opts, (dht, signal) =>
      dht.announce(infoHash, opts.port, { impliedPort: opts.impliedPort ?? false, signal })
    );
    if (!result) {
      ctx.log(
        `announce ${hex(infoHash)}: ${reason === 'timeout' ? `timed out after ${opts.timeout} s` : 'interrupted'}`
      );
      return reason === 'timeout' ? EXIT_FAILURE : EXIT_INTERRUPTED;
    }
    const { storedOn, targets, queries, lookup } = result;
    if (opts.json) {
      ctx.print(
        JSON.stringify({
          infoHash: hex(infoHash),
          port: opts.port ?? null,
          impliedPort: opts.impliedPort ?? false,
          storedOn,
          targets,
          queries,
          hops: lookup.hops,
          peersFound: result.peers.length,
          durationMs: ctx.clock.now() - started
        })
      );
    } else {
      ctx.print(`stored on ${storedOn} of ${targets} nodes`);
    }
    ctx.log(
      `announce ${hex(infoHash)}: ${queries} queries, ${lookup.hops} hops, ` +
        `${result.peers.length} other peers seen, ${seconds(ctx.clock.now() - started)}`
    );
    if (storedOn === 0) {
      ctx.log('trackerless: error: no node stored the announce (check --bootstrap and the network)');
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  }
};
