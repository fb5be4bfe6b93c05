// Index the DHT with BEP 51 sample_infohashes into SQLite, politely, with the public API.
// Usage:
//   node dist/examples/dht-crawler.js <db-file> <seconds> [bootstrap host:port ...]
// With no bootstrap given, the DHT joins through the public BitTorrent routers. Run it again
// on the same database and it continues where it stopped (no node is asked again early).
import { createDhtCrawler, SqliteCrawlerStore } from '../lib/crawler/index.js';
import { DHT, toHex } from '../lib/index.js';

const [db = 'crawl.db', seconds = '60', ...bootstrap] = process.argv.slice(2);

const dht = await DHT.create(bootstrap.length > 0 ? { bootstrap } : {});
const store = SqliteCrawlerStore.open(db);
// 10 queries/s overall, at most 1/s per IP; each node's BEP 51 interval is always honoured.
const crawler = createDhtCrawler(dht, { store, queriesPerSecond: 10 });
crawler.on('infohash', (infoHash, source) => console.log(`${toHex(infoHash)} ${source}`));
await crawler.start();
await new Promise((resolve) => setTimeout(resolve, Number(seconds) * 1000));
await crawler.stop(); // flushes the records and saves the crawl state
const s = crawler.stats();
console.error(
  `${s.nodesVisited} nodes visited, ${s.samples} samples, ${s.newInfoHashes} new infohashes, ${(await store.summary()).torrents} in ${db}`
);
await store.close();
await dht.destroy();
