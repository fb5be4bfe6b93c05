/**
 * `trackerless lookup <infohash|magnet>`: find peers for a torrent. Each peer is printed on
 * stdout as soon as a node returns it (`host:port`, or a JSON line with --json); a summary
 * goes to stderr. Exit 0 when the lookup ran (finding no peer is a valid answer), 1 when no
 * DHT node answered at all, 130 when interrupted.
 */
import { AbortError, formatAddress, type DhtStats } from '../../index.js';
import { parseTarget, portParser, secondsParser } from '../args.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, type CliCommand } from '../program.js';
import {
  addDhtOptions,
  deadline,
  dhtOptionsFrom,
  hex,
  queriesSent,
  seconds,
  startDht,
  stopReason,
  type DhtCliOptions
} from '../session.js';

interface LookupOptions extends DhtCliOptions {
  dhtPort: number;
  timeout: number;
  json?: boolean;
}

export const lookupCommand: CliCommand = {
  name: 'lookup',
  configure(command) {
    command
      .description('find peers for an infohash or magnet link; prints each peer as it is found')
      .argument('<infohash|magnet>', '40 hex or 32 base32 characters, or a magnet link', parseTarget);
    addDhtOptions(command, { host: '0.0.0.0' })
      .option('--dht-port <port>', 'UDP port of the DHT socket (0 = any free port)', portParser(true), 0)
      .option(
        '-t, --timeout <seconds>',
        'give up after this long (joining included)',
        secondsParser(false),
        30
      )
      .option('--json', 'print each peer as a JSON line {"host","port"}')
      .addHelpText(
        'after',
        '\nExample:\n  trackerless lookup 0123456789abcdef0123456789abcdef01234567 --bootstrap 127.0.0.1:6881'
      );
  },
  async run(ctx, args, options) {
    const infoHash = args[0] as Uint8Array;
    const opts = options as unknown as LookupOptions;
    const started = Date.now();
    const stop = deadline(ctx, opts.timeout);
    const dht = await startDht(ctx, dhtOptionsFrom(opts, opts.dhtPort), stop);
    let found = 0;
    let stats: DhtStats | null = null;
    if (dht) {
      try {
        for await (const peer of dht.findPeers(infoHash, { signal: stop })) {
          found++;
          ctx.print(opts.json ? JSON.stringify({ host: peer.host, port: peer.port }) : formatAddress(peer));
        }
      } catch (err) {
        if (!(err instanceof AbortError)) throw err;
      } finally {
        stats = dht.stats();
        await dht.destroy();
      }
    }
    const reason = stopReason(ctx, stop);
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
      `lookup ${hex(infoHash)}: ${found} peer${found === 1 ? '' : 's'} in ${seconds(Date.now() - started)} (${ended}${figures})`
    );
    if (reason === 'interrupted' && String(ctx.interrupt.reason) !== 'EPIPE') return EXIT_INTERRUPTED;
    if (reason !== 'interrupted' && (!stats || stats.responsesIn === 0)) {
      ctx.log('trackerless: error: no DHT node answered (check --bootstrap and the network)');
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  }
};
