/**
 * `trackerless node`: run a long-lived DHT node, e.g. as the bootstrap node of a private
 * network. Prints `listening <host:port> id <hex>` once joined, then a stats line every
 * --stats-interval seconds; stops cleanly (state saved) on SIGINT/SIGTERM.
 */
import { formatAddress, type DHT } from '../../index.js';
import { portParser, secondsParser } from '../args.js';
import { EXIT_OK, every, type CliCommand, type CliContext } from '../program.js';
import {
  addDhtOptions,
  dhtOptionsFrom,
  hex,
  queriesReceived,
  queriesSent,
  startDht,
  type DhtCliOptions
} from '../session.js';

/** Port a node binds when --port is not given: the customary BitTorrent DHT port. */
export const DEFAULT_NODE_PORT = 6881;

interface NodeOptions extends DhtCliOptions {
  port: number;
  statsInterval: number;
  verbose?: boolean;
}

export const nodeCommand: CliCommand = {
  name: 'node',
  configure(command) {
    command.description('run a DHT node (usable as a bootstrap node for others) until SIGINT/SIGTERM');
    addDhtOptions(command, { host: '0.0.0.0' })
      .option('-p, --port <port>', 'UDP port (0 = any free port)', portParser(true), DEFAULT_NODE_PORT)
      .option('--state <file>', 'load/save node id and routing table here (saved on exit)')
      .option(
        '--stats-interval <seconds>',
        'print a stats line this often (0 = never)',
        secondsParser(true),
        60
      )
      .option('-v, --verbose', 'also print each node added to the table and each announce received')
      .addHelpText(
        'after',
        '\nExamples:\n' +
          '  trackerless node --host 127.0.0.1 --port 6881 --no-bootstrap     first node of a local network\n' +
          '  trackerless node --port 6882 --bootstrap 127.0.0.1:6881 --state node.json'
      );
  },
  async run(ctx, _args, options) {
    const opts = options as unknown as NodeOptions;
    const dht = await startDht(ctx, dhtOptionsFrom(opts, opts.port), ctx.interrupt);
    if (!dht) return EXIT_OK; // stopped while joining
    ctx.print(`listening ${formatAddress(dht.address())} id ${hex(dht.nodeId)}`);
    if (opts.verbose) {
      dht.on('node', (n) => ctx.print(`node ${hex(n.id)} ${formatAddress(n)}`));
      dht.on('announce', (peer, ih, from) =>
        ctx.print(`announce ${hex(ih)} ${formatAddress(peer)} from ${formatAddress(from)}`)
      );
    }
    const timer =
      opts.statsInterval > 0 ? every(ctx.clock, opts.statsInterval * 1000, () => printStats(ctx, dht)) : null;
    await new Promise<void>((resolve) => {
      if (ctx.interrupt.aborted) resolve();
      else ctx.interrupt.addEventListener('abort', () => resolve(), { once: true });
    });
    timer?.cancel();
    ctx.log(`stopping (${String(ctx.interrupt.reason)})`);
    printStats(ctx, dht);
    await dht.destroy(); // saves the state file when --state is set
    if (opts.state) ctx.log(`state saved to ${opts.state}`);
    ctx.log('stopped');
    return EXIT_OK;
  }
};

function printStats(ctx: CliContext, dht: DHT): void {
  const s = dht.stats();
  ctx.print(
    `stats nodes=${s.nodes} good=${s.goodNodes} infohashes=${s.storedInfoHashes} peers=${s.storedPeers} items=${s.storedItems} ` +
      `queries-in=${queriesReceived(s)} replies=${s.repliesSent} queries-out=${queriesSent(s)} ` +
      `responses=${s.responsesIn} timeouts=${s.timeouts} bytes-in=${s.bytesIn} bytes-out=${s.bytesOut}`
  );
}
