/**
 * Child process of the memory scenario (run with --expose-gc; one implementation per process
 * so nothing else is on the heap). Prints one JSON line.
 *
 * 0. Warm-up: `--warmup` nodes (default: as many as are measured) made, filled, read and
 *    destroyed the way the measured ones are, with ids and contacts of their own. Without it
 *    the code compiled and optimised while the first nodes start, and other once-per-process
 *    costs, were charged to the measured nodes (~1.5 KB per node at 200 nodes, either
 *    implementation): the figure is now what one more node costs in a process that runs them.
 * 1. Heap per node: N idle nodes on 127.0.0.1 port 0 (bootstrap []), each routing table filled
 *    with exactly `--entries` constructed contacts (same ids for both implementations), then
 *    (heapUsed after - before) / N after full GCs. Sockets, timers, tables, stores: everything
 *    a node keeps. The contacts reach each table as that implementation's own wire decoder
 *    would hand them over: ours through decodeCompactNodes (ids copied into fresh 20-byte
 *    arrays), the anchor as k-rpc's parseNodes does (Buffer views into the compact `nodes`
 *    string, which they keep alive: counted in arrayBuffers/external, not heapUsed).
 * 2. Heap per stored peer: one node; `--peers` announces (`--infohashes` infohashes x distinct
 *    peer addresses) inserted through the storing step of each announce_peer handler (ours:
 *    the node's PeerStore.add; anchor: DHT._addPeer), delta / peers.
 */
import { AnchorDHT } from './lib/anchor.js';
import { DHT } from '../lib/index.js';
import { seededRandom } from '../lib/util/random.js';
import { constructedContacts, type Contact } from './lib/contacts.js';
import { decodeCompactNodes, encodeCompactNodes } from '../lib/krpc/compact.js';
import { injectContacts, peerStoreOf } from './lib/inject.js';
import { getGc, settledHeap } from './lib/gc.js';
import { mapLimit } from './lib/stats.js';

const get = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const impl = get('impl', 'ours');
const nodes = Number(get('nodes', '200'));
const entries = Number(get('entries', '64'));
const peers = Number(get('peers', '100000'));
const infohashes = Number(get('infohashes', '1000'));
const seed = Number(get('seed', '1'));
/** Nodes made, used and destroyed before the baseline (default: as many as are measured). */
const warmup = Number(get('warmup', String(nodes)));
const gc = getGc();

interface Handle {
  tableSize: () => number;
  addPeer: (ih: Uint8Array, host: string, port: number) => void;
  storedPeers: () => number;
  close: () => Promise<void>;
}

async function create(id: Uint8Array, fill: boolean, rnd: ReturnType<typeof seededRandom>): Promise<Handle> {
  const constructed = fill ? constructedContacts(id, entries, rnd) : [];
  // One compact `nodes` string per node, as a reply datagram would carry it.
  const compact = Buffer.from(encodeCompactNodes(constructed, 4));
  if (impl === 'ours') {
    const contacts: Contact[] = decodeCompactNodes(compact, 4) ?? [];
    const dht = await DHT.create({
      host: '127.0.0.1',
      port: 0,
      nodeId: id,
      bootstrap: [],
      maxStoredInfoHashes: 1_000_000,
      maxPeersPerInfoHash: 1_000_000
    });
    dht.on('warning', () => {});
    injectContacts(dht, contacts);
    const store = peerStoreOf(dht);
    return {
      tableSize: () => dht.nodes().length,
      addPeer: (ih, host, port) => void store.add(ih, { host, port }),
      storedPeers: () => dht.stats().storedPeers,
      close: () => dht.destroy()
    };
  }
  const dht = new AnchorDHT({ nodeId: Buffer.from(id), bootstrap: [], maxPeers: 10_000_000 });
  dht.on('warning', () => {});
  dht.on('error', () => {});
  const ready = new Promise<void>((resolve) => dht.once('ready', () => resolve()));
  await new Promise<void>((resolve) => dht.listen(0, '127.0.0.1', () => resolve()));
  await ready;
  for (let i = 0; i < compact.length; i += 26) {
    // k-rpc parseNodes: id = buf.slice(i, i + 20) (a view), host/port parsed from the next 6 bytes.
    const host = `${compact[i + 20]}.${compact[i + 21]}.${compact[i + 22]}.${compact[i + 23]}`;
    dht.addNode({ id: compact.slice(i, i + 20), host, port: compact.readUInt16BE(i + 24) });
  }
  const from = { host: '127.0.0.1', port: 1 };
  return {
    tableSize: () => dht.nodes.count(),
    addPeer: (ih, host, port) => dht._addPeer({ host, port }, Buffer.from(ih), from),
    storedPeers: () => dht._peers.size,
    close: () => new Promise((resolve) => dht.destroy(() => resolve()))
  };
}

const rnd = seededRandom(seed);
const ids = Array.from({ length: nodes }, () => rnd.bytes(20));
const contactRnd = seededRandom(seed + 1);

// 0. warm-up: the same life as a measured node (made, filled, read, destroyed), so that code
// compiled and optimised, shapes and other once-per-process costs are paid before the baseline.
// Other ids and contacts than the measured ones (their own seeds), and nothing kept.
async function warmUp(count: number): Promise<void> {
  const warmRnd = seededRandom(seed + 2);
  const warmIds = Array.from({ length: count }, () => warmRnd.bytes(20));
  const warm = await mapLimit(warmIds, 16, (id) => create(id, true, warmRnd));
  for (const h of warm) h.tableSize();
  await mapLimit(warm, 32, (h) => h.close());
}
await warmUp(warmup);
// What the destroyed nodes left for later turns of the event loop (socket close callbacks,
// cancelled timers) goes now, not during the measurement.
for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 20));

// 1. heap per node
const heap0 = settledHeap(gc);
const ext0 = process.memoryUsage().arrayBuffers;
const handles = await mapLimit(ids, 16, (id) => create(id, true, contactRnd));
const heap1 = settledHeap(gc);
const ext1 = process.memoryUsage().arrayBuffers;
const tableSizes = handles.length > 0 ? handles.map((h) => h.tableSize()) : [NaN];
await mapLimit(handles, 32, (h) => h.close());
handles.length = 0;

// 2. heap per stored peer
const one = await create(rnd.bytes(20), false, contactRnd);
const ihs = Array.from({ length: infohashes }, () => rnd.bytes(20));
const heap2 = settledHeap(gc);
for (let i = 0; i < peers; i++) {
  const n = i + 1;
  one.addPeer(
    ihs[i % infohashes]!,
    `10.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`,
    1024 + (i % 50_000)
  );
}
const heap3 = settledHeap(gc);
const stored = one.storedPeers();
await one.close();

process.stdout.write(
  `${JSON.stringify({
    impl,
    nodes,
    entries,
    tableSizeMin: Math.min(...tableSizes),
    tableSizeMax: Math.max(...tableSizes),
    heapPerNodeBytes: nodes > 0 ? (heap1 - heap0) / nodes : null,
    arrayBuffersPerNodeBytes: nodes > 0 ? (ext1 - ext0) / nodes : null,
    peers,
    infohashes,
    stored,
    heapPerPeerBytes: (heap3 - heap2) / peers
  })}\n`
);
