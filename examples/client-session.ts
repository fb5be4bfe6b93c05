/**
 * A download session that survives restarts, with the public Client API: the torrents given on
 * the command line are added to the session kept in <state-dir>, the ones saved there by an
 * earlier run resume, and the program exits once every torrent is complete. Kill it at any
 * moment (even with SIGKILL) and run it again: nothing verified is downloaded twice.
 *
 *   node dist/examples/client-session.js <state-dir> <out-dir> [magnet | infohash | .torrent ...]
 *     [--bootstrap host:port]... [--host ip] [--limit bytes-per-second]
 *
 * Prints one line per event: `added <id>`, `progress <id> <verified bytes> <total bytes>`,
 * `done <id>`, `all done`.
 */
import { Client, type ClientTorrent } from '../lib/index.js';

const args = process.argv.slice(2);
const [stateDir, outDir] = args;
if (!stateDir || !outDir) {
  console.error(
    'usage: client-session <state-dir> <out-dir> [torrent ...] [--bootstrap host:port]... [--host ip] [--limit B/s]'
  );
  process.exit(2);
}
const bootstrap: string[] = [];
const inputs: string[] = [];
let limit = 0;
let host: string | undefined;
for (let i = 2; i < args.length; i++) {
  if (args[i] === '--bootstrap') bootstrap.push(args[++i]!);
  else if (args[i] === '--host') host = args[++i]!;
  else if (args[i] === '--limit') limit = Number(args[++i]);
  else inputs.push(args[i]!);
}

const client = await Client.create({
  stateDir,
  outDir,
  downloadLimit: limit,
  ...(bootstrap.length ? { bootstrap } : {}),
  ...(host ? { dhtOptions: { host }, listen: { host } } : {})
});
const stop = (): void => void client.destroy(); // graceful: resume state and session saved
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

client.on('progress', (t, p) => console.log(`progress ${t.id} ${p.verifiedBytes} ${p.totalBytes}`));
for (const input of inputs) {
  try {
    const t = await client.add(input);
    console.log(`added ${t.id}`);
  } catch (err) {
    // Already in the saved session: it resumed on its own.
    if ((err as { code?: string }).code !== 'ERR_DUPLICATE_TORRENT') throw err;
  }
}
const waitFor = async (t: ClientTorrent): Promise<void> => {
  await t.done();
  console.log(`done ${t.id}`);
};
try {
  await Promise.all(
    client
      .list()
      .filter((t) => !t.paused)
      .map(waitFor)
  );
  console.log('all done');
} finally {
  await client.destroy();
}
