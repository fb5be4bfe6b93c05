/**
 * `trackerless lookup <infohash|magnet>`: find peers for a torrent. Each peer is printed on
 * stdout as soon as a node returns it (`host:port`, or a JSON line with --json); a summary
 * goes to stderr. Exit 0 when the lookup ran (finding no peer is a valid answer), 1 when no
 * DHT node answered at all, 130 when interrupted.
 */
import { formatAddress } from '../../index.js';
import { parseTarget } from '../args.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, type CliCommand } from '../program.js';
import { addOneShotOptions, hex, queriesSent, seconds, withDht, type OneShotCliOptions } from '../session.js';

export const lookupCommand: CliCommand = {
  name: 'lookup',
  configure(command) {
    command
      .description('find peers for an infohash or magnet link; prints each peer as it is found')
      .argument('<infohash|magnet>', '40 hex or 32 base32 characters, or a magnet link', parseTarget);
    addOneShotOptions(command, 30, 'print each peer as a JSON line {"host","port"}').addHelpText(
      'after',
      '\nExample:\n  trackerless lookup 0123456789abcdef0123456789abcdef01234567 --bootstrap 127.0.0.1:6881'
    );
  },
  async run(ctx, args, options) {
    const infoHash = args[0] as Uint8Array;
    const opts = options as unknown as OneShotCliOptions;
    const started = ctx.clock.now();
    let found = 0;
    const { stopped: reason, stats } = await withDht(ctx, opts, async (dht, signal) => {
      for await (const peer of dht.findPeers(infoHash, { signal })) {
        found++;
        ctx.print(opts.json ? JSON.stringify({ host: peer.host, port: peer.port }) : formatAddress(peer));
      }
    });
    const ended =
      reason === 'timeout'
        ? `timed out after ${opts.timeout} s`
        : reason === 'interrupted'
          ? 'interrupted'
          : 'done';
    const figures = stats
      ? `, ${queriesSent(stats)} queries, ${stats.responsesIn} responses, ${stats.timeouts} timeouts`
      : '';
    ctx.log(
      `lookup ${hex(infoHash)}: ${found} peer${found === 1 ? '' : 's'} in ${seconds(ctx.clock.now() - started)} (${ended}${figures})`
    );
    if (reason === 'interrupted' && String(ctx.interrupt.reason) !== 'EPIPE') return EXIT_INTERRUPTED;
    if (reason !== 'interrupted' && (!stats || stats.responsesIn === 0)) {
      ctx.log('trackerless: error: no DHT node answered (check --bootstrap and the network)');
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  }
};
