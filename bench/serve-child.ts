/**
 * Child process of the replies/s scenario: one DHT node (ours or the anchor) on 127.0.0.1
 * port 0 with a routing table of exactly `--entries` constructed contacts (8 per bucket, the
 * same ids for both implementations), serving whatever the parent's load generator sends.
 * Talks to the parent over IPC: 'ready' {port}, then answers 'cpu' with process.cpuUsage(),
 * and exits on 'stop' after closing its socket.
 */
import { AnchorDHT } from './lib/anchor.js';
import { DHT } from '../lib/index.js';
import { seededRandom } from '../lib/util/random.js';
import { constructedContacts } from './lib/contacts.js';
import { injectContacts } from './lib/inject.js';

interface Args {
  impl: 'ours' | 'anchor';
  entries: number;
  seed: number;
}

function parseArgs(): Args {
  const get = (name: string, dflt: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1]! : dflt;
  };
  const impl = get('impl', 'ours');
  if (impl !== 'ours' && impl !== 'anchor') throw new Error(`bad --impl ${impl}`);
  return { impl, entries: Number(get('entries', '160')), seed: Number(get('seed', '1')) };
}

const args = parseArgs();
const rnd = seededRandom(args.seed);
const id = rnd.bytes(20);
const contacts = constructedContacts(id, args.entries, rnd);

let close: () => Promise<void>;
let port: number;
let tableSize: number;
let stats: () => Record<string, unknown>;
if (args.impl === 'ours') {
  // Capacity is measured with the inbound limits and the outbound budget off: they cap
  // serving by design (2,000 unsolicited datagrams/s, 256 KiB/s; docs/security.md).
  const dht = await DHT.create({
    host: '127.0.0.1',
    port: 0,
    nodeId: id,
    bootstrap: [],
    inboundLimits: false,
    maxBytesPerSecond: 0
  });
  dht.on('warning', () => {});
  injectContacts(dht, contacts);
  port = dht.address().port;
  tableSize = dht.nodes().length;
  close = () => dht.destroy();
  stats = () => {
    const s = dht.stats();
    return { repliesSent: s.repliesSent, bytesOut: s.bytesOut, queriesOut: s.queriesOut };
  };
} else {
  const dht = new AnchorDHT({ nodeId: Buffer.from(id), bootstrap: [] });
  dht.on('warning', () => {});
  dht.on('error', () => {});
  const ready = new Promise<void>((resolve) => dht.once('ready', () => resolve()));
  await new Promise<void>((resolve) => dht.listen(0, '127.0.0.1', () => resolve()));
  await ready;
  for (const c of contacts) dht.addNode({ id: Buffer.from(c.id), host: c.host, port: c.port });
  port = dht.address().port;
  tableSize = dht.nodes.count();
  close = () => new Promise((resolve) => dht.destroy(() => resolve()));
  stats = () => ({});
}

process.on('message', (msg: { type: string }) => {
  if (msg.type === 'cpu') process.send!({ type: 'cpu', cpu: process.cpuUsage(), stats: stats() });
  if (msg.type === 'stop') {
    void close().then(() => {
      process.send!({ type: 'stopped' }, () => process.disconnect());
    });
  }
});
process.send!({ type: 'ready', port, tableSize });
