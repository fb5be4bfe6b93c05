/**
 * Child process of the simulated-network scaling scenario (ours only: the anchor cannot run
 * on the in-memory network). Builds a SimTestnet of `--nodes` nodes with the same join
 * schedule as SimTestnet.create (node 0 alone, then batches of 50 bootstrapping from node 0,
 * then `--settle-ms` of maintenance), logging progress to stderr, then runs `--items`
 * seeded work items (announce, get_peers from another node, find_node recall of the true 8
 * closest) and prints one JSON line on stdout. Bounded: `--max-minutes` of real time for the
 * build; when exceeded it reports how far it got.
 *
 * `--build warm` builds the network as a warm restart instead (WarmTestnet: every node starts
 * from the routing table a converged network gives it, then joins as a restarted node does):
 * the same nodes and lookups without the history of N staggered joins, for sizes the joined
 * build cannot reach in reasonable time; `--stagger-ms` spreads its joins over virtual time.
 * Say which build a figure comes from. Progress lines give each phase's real and CPU time.
 */
import { SimTestnet, WarmTestnet } from '../lib/testing/index.js';
import { compareDistance } from '../lib/id/node-id.js';
import { seededRandom } from '../lib/util/random.js';
import { toHex } from '../lib/util/bytes.js';
import { median, quantile } from './lib/stats.js';
import { getGc } from './lib/gc.js';
import { peerStoreOf } from './lib/inject.js';

const get = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const size = Number(get('nodes', '1000'));
const items = Number(get('items', '10'));
const seed = Number(get('seed', '7'));
const maxMinutes = Number(get('max-minutes', '30'));
const build = get('build', 'join');
if (build !== 'join' && build !== 'warm') throw new Error(`--build must be join or warm, got ${build}`);
const joinBatch = 50;
/**
 * Virtual time of maintenance after the build, before the lookups: 3 minutes after the joined
 * build; 30 s (three liveness rounds after the last join) after the warm one, whose tables are
 * converged from the start: at 10,000 nodes its lookup figures were the same after 3 minutes
 * (docs/benchmarks.md), and the 3 minutes of pings cost 70 % of its CPU.
 */
const settleMs = Number(get('settle-ms', String(build === 'warm' ? 30_000 : 3 * 60_000)));
/**
 * Warm build: the nodes' joins spread over this many virtual ms (every node answers from the
 * start), so a few percent of the network's lookup state is live at a time, not all of it.
 */
const staggerMs = Number(get('stagger-ms', '10000'));
const K = 8;

const log = (s: string): void => void process.stderr.write(`  [sim ${size}] ${s}\n`);
const t0 = performance.now();
const elapsed = (): number => (performance.now() - t0) / 1000;
const mem = (): number => Math.round(process.memoryUsage().heapUsed / 1e6);
/** CPU seconds of this process (user + system): the figure that load on the machine does not inflate. */
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Where the build's time goes: real, CPU, virtual seconds, heap and datagrams so far. */
const phase = (): string =>
  `${elapsed().toFixed(0)} s real, ${cpu().toFixed(1)} s CPU, heap ${mem()} MB` +
  (net ? `, ${(net.network.clock.now() / 1000).toFixed(1)} s virtual, ${net.network.sent} datagrams` : '');

const latency = { latencyMs: 20, jitterMs: 20 };
let net: Pick<SimTestnet, 'nodes' | 'network' | 'run' | 'destroy'> | undefined;
let joined = 1;
let complete = true;
let joinSent = 0;
if (build === 'warm') {
  log(`warm build of ${size} nodes`);
  net = await WarmTestnet.create({
    size,
    seed,
    ...latency,
    readyTimeoutMs: 600_000,
    staggerMs,
    log: (s) => log(`${s}, ${phase()}`)
  });
  log(`all ready, ${phase()}`);
  joined = net.nodes.length;
  joinSent = net.network.sent;
} else {
  const joinNet = await SimTestnet.create({ size: 1, seed, ...latency, settleMs: 0 });
  net = joinNet;
  const bootstrap = [joinNet.nodes[0]!.address()];
  let nextLog = 0;
  for (let i = 1; i < size; i += joinBatch) {
    const batch: Array<{ settled: boolean }> = [];
    for (let j = i; j < Math.min(size, i + joinBatch); j++)
      batch.push(joinNet.addNode(bootstrap, seed * 1_000_003 + j));
    await net.network.runUntil(() => batch.every((n) => n.settled), 60_000);
    joined += batch.length;
    if (elapsed() >= nextLog) {
      log(
        `${joined}/${size} joined, ${elapsed().toFixed(0)} s real, ${cpu().toFixed(0)} s CPU, ${(net.network.clock.now() / 1000).toFixed(0)} s virtual, heap ${mem()} MB`
      );
      nextLog = elapsed() + 30;
    }
    if (elapsed() > maxMinutes * 60) {
      complete = false;
      log(`stopping the build after ${maxMinutes} min real: ${joined}/${size} joined`);
      break;
    }
  }
  joinSent = net.network.sent;
}
await net.network.runFor(settleMs);
log(`settled ${settleMs / 1000} s virtual, ${phase()}`);
const buildSeconds = elapsed();
const buildCpuSeconds = cpu();
getGc()(); // a full GC, so the figure is live data rather than garbage
const heapAfterBuildMB = mem();
const n = net.nodes.length;
const sizes = net.nodes.map((d) => d.stats().nodes);
log(`built ${n} nodes in ${buildSeconds.toFixed(0)} s real, heap ${mem()} MB; running ${items} items`);

const rnd = seededRandom(seed * 31 + 1);
const stores = net.nodes.map((d) => peerStoreOf(d));
const ids = net.nodes.map((d) => d.nodeId);
const res = {
  getPeersQueries: [] as number[],
  getPeersHops: [] as number[],
  getPeersMs: [] as number[],
  getPeersDatagrams: [] as number[],
  found: 0,
  announceQueries: [] as number[],
  storedOn: [] as number[],
  storedInTrue8: [] as number[],
  findNodeQueries: [] as number[],
  findNodeHops: [] as number[],
  recall: [] as number[]
};
const t1 = performance.now();
for (let i = 0; i < items; i++) {
  const ih = rnd.bytes(20);
  const announcer = rnd.int(n);
  let getter = rnd.int(n);
  if (getter === announcer) getter = (getter + 1) % n;
  const port = 20_000 + i;
  // The store's own count (bench-only access): DHT.stats() copies every counter and walks the
  // table, which per node and item made the items take minutes at 100k nodes.
  const before = stores.map((st) => st.peerCount());
  const a = await net.run(net.nodes[announcer]!.announce(ih, port));
  res.announceQueries.push(a.queries);
  const stored = stores.map((st, idx) => (st.peerCount() > before[idx]! ? idx : -1)).filter((x) => x >= 0);
  const true8 = closest(ih, K, announcer);
  res.storedOn.push(stored.length);
  res.storedInTrue8.push(stored.filter((x) => true8.has(x)).length);
  const announcerHost = net.nodes[announcer]!.address().host;
  // The getter's datagrams only (sent or received): the rest of the network keeps pinging.
  const me = net.nodes[getter]!.address();
  let datagrams = 0;
  net.network.onSend = (from, to) => {
    if ((from.host === me.host && from.port === me.port) || (to.host === me.host && to.port === me.port))
      datagrams++;
  };
  const g = await net.run(net.nodes[getter]!.getPeers(ih));
  delete net.network.onSend;
  res.getPeersDatagrams.push(datagrams);
  res.getPeersQueries.push(g.lookup.queries);
  res.getPeersHops.push(g.lookup.hops);
  res.getPeersMs.push(g.lookup.durationMs);
  if (g.peers.some((p) => p.host === announcerHost && p.port === port)) res.found++;
  const finder = rnd.int(n);
  const target = rnd.bytes(20);
  const f = await net.run(net.nodes[finder]!.findNode(target));
  const truth = closest(target, K, finder);
  const index = new Map(ids.map((id, idx) => [toHex(id), idx]));
  res.findNodeQueries.push(f.queries);
  res.findNodeHops.push(f.hops);
  res.recall.push(
    f.closest.slice(0, K).filter((c) => truth.has(index.get(toHex(c.node.id)) ?? -1)).length / K
  );
}
const workSeconds = (performance.now() - t1) / 1000;
await net.destroy();

process.stdout.write(
  `${JSON.stringify({
    requested: size,
    nodes: n,
    complete,
    build,
    buildSeconds,
    buildCpuSeconds,
    workSeconds,
    heapAfterBuildMB,
    joinDatagramsPerNode: joinSent / n,
    tableSizeMedian: median(sizes),
    items,
    getPeersQueriesMedian: median(res.getPeersQueries),
    getPeersQueriesP90: quantile(res.getPeersQueries, 0.9),
    getPeersHopsMedian: median(res.getPeersHops),
    getPeersVirtualMsMedian: median(res.getPeersMs),
    getPeersDatagramsMedian: median(res.getPeersDatagrams),
    successRate: res.found / items,
    announceQueriesMedian: median(res.announceQueries),
    storedOnMedian: median(res.storedOn),
    storedInTrue8Median: median(res.storedInTrue8),
    findNodeQueriesMedian: median(res.findNodeQueries),
    findNodeHopsMedian: median(res.findNodeHops),
    recallMean: res.recall.reduce((x, y) => x + y, 0) / items
  })}\n`
);

function closest(target: Uint8Array, k: number, self: number): Set<number> {
  // Partial selection: keep the k best in a small sorted array (n can be 100k).
  const best: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (i === self) continue;
    if (best.length === k && compareDistance(target, ids[i]!, ids[best[k - 1]!]!) >= 0) continue;
    let pos = best.length;
    while (pos > 0 && compareDistance(target, ids[i]!, ids[best[pos - 1]!]!) < 0) pos--;
    best.splice(pos, 0, i);
    if (best.length > k) best.pop();
  }
  return new Set(best);
}
