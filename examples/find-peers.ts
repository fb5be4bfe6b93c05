// Find peers for an infohash with the public API. Usage:
//   node dist/examples/find-peers.js <infohash> [bootstrap host:port ...]
// With no bootstrap given, the DHT joins through the public BitTorrent routers.
import { AbortError, DHT, formatAddress } from '../lib/index.js';

const [infoHash, ...bootstrap] = process.argv.slice(2);
if (!infoHash) throw new Error('usage: find-peers <infohash> [host:port ...]');

const dht = await DHT.create(bootstrap.length > 0 ? { bootstrap } : {});
try {
  for await (const peer of dht.findPeers(infoHash, { signal: AbortSignal.timeout(30_000) })) {
    console.log(formatAddress(peer));
  }
} catch (err) {
  if (!(err instanceof AbortError)) throw err; // a timeout just ends the search
} finally {
  await dht.destroy();
}
