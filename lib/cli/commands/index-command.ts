/**
 * `trackerless index serve --db DB --port PORT`: serve an existing crawl database (SQLite
 * file, opened read-only so a crawler may keep writing it, or PostgreSQL) over HTTP without
 * crawling: the web page, the JSON API, Torznab and /metrics (lib/index-server/). Runs until
 * SIGINT/SIGTERM.
 */
import { Argument, type Command } from 'commander';
import { openStore } from '../../crawler/index.js';
import { IndexServer } from '../../index-server/index.js';
import { portParser } from '../args.js';
import { EXIT_OK, type CliCommand } from '../program.js';
import { dbOption } from './crawl.js';

interface IndexOptions {
  db: string;
  port: number;
  host: string;
  title?: string;
}

export const indexCommand: CliCommand = {
  name: 'index',
  configure(command: Command) {
    command
      .description('serve a crawl database over HTTP (web page, JSON API, Torznab, metrics) without crawling')
      .addArgument(new Argument('<action>', 'what to do').choices(['serve']))
      .addOption(dbOption())
      .requiredOption('-p, --port <port>', 'HTTP port (0 = any free port)', portParser(true))
      .option('--host <ip>', 'address to listen on', '127.0.0.1')
      .option('--title <text>', 'page title')
      .addHelpText(
        'after',
        '\nExamples:\n  trackerless index serve --db crawl.db --port 8080\n' +
          '  DATABASE_URL=postgres://reader@db/dht trackerless index serve --port 8080 --host 0.0.0.0'
      );
  },
  async run(ctx, _args, options) {
    const opts = options as unknown as IndexOptions;
    // shards 0: a server takes no crawler's shard; SQLite read-only: a crawler may be writing.
    const store = await openStore(opts.db, { shards: 0, readonly: true });
    let server: IndexServer;
    try {
      server = await IndexServer.listen({
        index: store,
        host: opts.host,
        port: opts.port,
        ...(opts.title ? { title: opts.title } : {})
      });
    } catch (err) {
      await store.close();
      throw err;
    }
    server.on('warning', (err) => ctx.warn(`http: ${err.message}`));
    ctx.log(`serving ${store.location} on ${server.url}/`);
    await new Promise<void>((resolve) => {
      if (ctx.interrupt.aborted) return resolve();
      ctx.interrupt.addEventListener('abort', () => resolve(), { once: true });
    });
    await server.close();
    await store.close();
    return EXIT_OK; // serving until told to stop is the normal end
  }
};
