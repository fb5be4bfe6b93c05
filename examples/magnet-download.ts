/**
 * Download a torrent from its magnet link with the public API: the Swarm finds peers through
 * the DHT, fetches the metadata from them, then the pieces (each verified), into a folder.
 * Ctrl-C stops cleanly (the resume state is saved); run it again to resume.
 *
 *   node dist/examples/magnet-download.js '<magnet link>' [out-dir] [bootstrap host:port ...]
 *
 * Without bootstrap nodes it joins the public DHT through the usual routers; for an offline
 * test give your own, e.g. 127.0.0.1:6881 (`trackerless node --no-bootstrap` runs one).
 */
import { Swarm, parseMagnet } from '../lib/index.js';

const [link, outDir = '.', ...bootstrap] = process.argv.slice(2);
if (!link) {
  console.error('usage: magnet-download <magnet link> [out-dir] [bootstrap host:port ...]');
  process.exit(2);
}
const magnet = parseMagnet(link); // throws a clear InvalidArgumentError on a bad link

const swarm = await Swarm.create({ magnet, outDir, ...(bootstrap.length ? { bootstrap } : {}) });
let interrupted = false;
const stop = (): void => {
  interrupted = true;
  void swarm.stop(); // graceful: flush, save the resume state
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

swarm.on('metadata', (info) =>
  console.log(`${info.name}: ${info.length} bytes in ${info.pieceCount} pieces`)
);
swarm.on('progress', (p) => {
  if (p.totalBytes === 0) return console.log(`looking for peers... ${p.peers} connected`);
  const percent = ((100 * p.verifiedBytes) / p.totalBytes).toFixed(1);
  console.log(`${percent}%  ${(p.downRate / 1024).toFixed(0)} KiB/s from ${p.peers} peers`);
});

try {
  await swarm.done(); // every piece verified and flushed
  console.log(`done: ${outDir}/${swarm.info!.name}`);
} catch (err) {
  if (!interrupted) throw err;
  console.error('interrupted: state saved, run again to resume');
  process.exitCode = 130;
} finally {
  await swarm.stop();
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
}
