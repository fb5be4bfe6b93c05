/**
 * Side-by-side scenario on real loopback UDP: two networks of N nodes (ours and the anchor)
 * live in this process at the same time, with the same node ids, the same join schedule and
 * the same seeded workload. Operations are interleaved (ours/anchor order alternates).
 *
 * Counting: a process-wide wrapper of dgram.Socket.prototype.send (send-counter.ts) counts
 * every datagram of both implementations the same way. "Queries per lookup" = KRPC queries
 * sent by the lookup's node while the operation runs (this includes the pings its routing
 * table decides to send meanwhile). Network-wide datagrams/bytes per operation (every node,
 * queries + replies, until traffic goes quiet) are reported too.
 */
import { compareDistance } from '../lib/id/node-id.js';
import { seededRandom } from '../lib/util/random.js';
import { toHex } from '../lib/util/bytes.js';
import { createNode, IMPLS, type BenchNode, type ImplName } from './lib/impls.js';
import { diffTotals, type SendCounter } from './lib/send-counter.js';
import { mapLimit, median, sleep, withTimeout } from './lib/stats.js';

export interface LoopbackOptions {
  nodes: number;
  reps: number;
  itemsPerRep: number;
  seed: number;
  joinBatch: number;
  counter: SendCounter;
  gc: (() => void) | null;
  log: (line: string) => void;
}

export interface OpSample {
  rep: number;
  item: number;
  /** Queries sent by the operating node during the operation. */
  queries: number;
  /** The implementation's own count (ours only). */
  reportedQueries: number;
  /** All nodes, all datagrams until quiet. */
  netDatagrams: number;
  netBytes: number;
  ms: number;
}

export interface AnnounceSample extends OpSample {
  storedOn: number;
  /** Nodes whose store grew by this announce (stats/_peers deltas). */
  storedCount: number;
  /** How many of them are among the true 8 closest to the infohash. */
  storedInTrue8: number;
}

export interface GetPeersSample extends OpSample {
  found: boolean;
  firstPeerMs: number;
}

export interface FindNodeSample extends OpSample {
  recall: number;
}

export interface PutSample extends OpSample {
  /** Nodes other than the putter whose item store grew. */
  storedCount: number;
  /** How many of them are among the true 8 closest to the target. */
  storedInTrue8: number;
}

export interface GetSample extends OpSample {
  found: boolean;
}

export interface ImplLoopbackResult {
  impl: ImplName;
  buildMs: number;
  joinQueriesPerNode: number;
  joinDatagramsPerNode: number;
  joinBytesPerNode: number;
  tableSizeMedian: number;
  heapPerNodeBytes: number;
  arrayBuffersPerNodeBytes: number;
  announce: AnnounceSample[];
  getPeers: GetPeersSample[];
  findNode: FindNodeSample[];
  /** BEP 44 immutable put by the announcer, get by the getter. */
  put: PutSample[];
  get: GetSample[];
}

interface WorkItem {
  infoHash: Uint8Array;
  announcer: number;
  getter: number;
  finder: number;
  target: Uint8Array;
  port: number;
}

const K = 8;
const OP_TIMEOUT_MS = 30_000;

export async function runLoopback(opts: LoopbackOptions): Promise<Record<ImplName, ImplLoopbackResult>> {
  const rnd = seededRandom(opts.seed);
  const ids = Array.from({ length: opts.nodes }, () => rnd.bytes(20));
  const items: WorkItem[][] = [];
  for (let r = 0; r < opts.reps; r++) {
    const rep: WorkItem[] = [];
    for (let i = 0; i < opts.itemsPerRep; i++) {
      const announcer = rnd.int(opts.nodes);
      let getter = rnd.int(opts.nodes);
      if (getter === announcer) getter = (getter + 1) % opts.nodes;
      rep.push({
        infoHash: rnd.bytes(20),
        announcer,
        getter,
        finder: rnd.int(opts.nodes),
        target: rnd.bytes(20),
        port: 20_000 + r * 1000 + i
      });
    }
    items.push(rep);
  }

  const nets: Partial<Record<ImplName, BenchNode[]>> = {};
  const results: Partial<Record<ImplName, ImplLoopbackResult>> = {};
  try {
    // Build both networks (same ids, same schedule). The order of the builds alternates with the seed.
    const order: ImplName[] = opts.seed % 2 === 0 ? ['ours', 'anchor'] : ['anchor', 'ours'];
    for (const impl of order) {
      nets[impl] = []; // filled as nodes join, so `finally` closes them even if the build fails
      const figures = await buildNetwork(impl, ids, nets[impl]!, opts);
      results[impl] = { impl, ...figures, announce: [], getPeers: [], findNode: [], put: [], get: [] };
    }
    await quiet(opts.counter, 2000);

    for (let r = 0; r < opts.reps; r++) {
      for (let i = 0; i < opts.itemsPerRep; i++) {
        const item = items[r]![i]!;
        const implOrder = (r + i) % 2 === 0 ? IMPLS : [...IMPLS].reverse();
        for (const impl of implOrder) {
          await runItem(nets[impl]!, ids, item, r, i, results[impl]!, opts);
        }
      }
      const line = (impl: ImplName): string => {
        const res = results[impl]!;
        return `${impl}: get_peers q=${median(res.getPeers.map((s) => s.queries))} found=${res.getPeers.filter((s) => s.found).length}/${res.getPeers.length} announce q=${median(res.announce.map((s) => s.queries))} stored=${median(res.announce.map((s) => s.storedCount))} find_node recall=${median(res.findNode.map((s) => s.recall))}`;
      };
      opts.log(`  rep ${r + 1}/${opts.reps}: ${line('ours')} | ${line('anchor')}`);
    }
  } finally {
    for (const impl of IMPLS) {
      const nodes = nets[impl];
      if (nodes) await mapLimit(nodes, 64, (n) => n.destroy().catch(() => {}));
    }
  }
  return results as Record<ImplName, ImplLoopbackResult>;
}

async function buildNetwork(impl: ImplName, ids: Uint8Array[], nodes: BenchNode[], opts: LoopbackOptions) {
  opts.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const abBefore = process.memoryUsage().arrayBuffers;
  const before = opts.counter.snapshot();
  const t0 = performance.now();
  const first = await createNode(impl, { id: ids[0]!, bootstrap: [] });
  nodes.push(first);
  const bootstrap = [{ host: '127.0.0.1', port: first.port }];
  for (let i = 1; i < ids.length; i += opts.joinBatch) {
    const batch = ids.slice(i, Math.min(ids.length, i + opts.joinBatch));
    const joining = batch.map((id) => createNode(impl, { id, bootstrap }));
    try {
      nodes.push(...(await withTimeout(Promise.all(joining), 120_000, `${impl} join batch`)));
    } catch (err) {
      // Keep whatever did start so the caller closes it; give stragglers a bounded wait.
      const settled = await withTimeout(Promise.allSettled(joining), 30_000, 'join stragglers').catch(
        () => []
      );
      for (const r of settled) if (r.status === 'fulfilled') nodes.push(r.value);
      throw err;
    }
    if ((i - 1) % 200 < opts.joinBatch)
      opts.log(
        `  ${impl}: ${nodes.length}/${ids.length} nodes joined (${((performance.now() - t0) / 1000).toFixed(1)} s)`
      );
  }
  await quiet(opts.counter, 5000);
  const buildMs = performance.now() - t0;
  const d = diffTotals(opts.counter.snapshot(), before);
  opts.gc?.();
  opts.gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  const abAfter = process.memoryUsage().arrayBuffers;
  const sizes = nodes.map((n) => n.tableSize());
  opts.log(
    `  ${impl}: built ${nodes.length} nodes in ${(buildMs / 1000).toFixed(1)} s, table size median ${median(sizes)}`
  );
  return {
    buildMs,
    joinQueriesPerNode: d.queries / ids.length,
    joinDatagramsPerNode: d.datagrams / ids.length,
    joinBytesPerNode: d.bytes / ids.length,
    tableSizeMedian: median(sizes),
    heapPerNodeBytes: opts.gc ? (heapAfter - heapBefore) / ids.length : NaN,
    arrayBuffersPerNodeBytes: opts.gc ? (abAfter - abBefore) / ids.length : NaN
  };
}

async function runItem(
  nodes: BenchNode[],
  ids: Uint8Array[],
  item: WorkItem,
  rep: number,
  index: number,
  res: ImplLoopbackResult,
  opts: LoopbackOptions
) {
  const counter = opts.counter;
  // announce
  {
    const node = nodes[item.announcer]!;
    const storedBefore = nodes.map((n) => n.storedPeers());
    const m = await measure(counter, node.port, () => node.announce(item.infoHash, item.port));
    const storedSet: number[] = [];
    nodes.forEach((n, idx) => {
      if (n.storedPeers() > storedBefore[idx]!) storedSet.push(idx);
    });
    const true8 = trueClosest(ids, item.infoHash, K, item.announcer);
    res.announce.push({
      rep,
      item: index,
      ...m.figures,
      reportedQueries: m.value.reportedQueries,
      storedOn: m.value.storedOn,
      storedCount: storedSet.length,
      storedInTrue8: storedSet.filter((i) => true8.has(i)).length
    });
  }
  // get_peers from another node
  {
    const node = nodes[item.getter]!;
    const m = await measure(counter, node.port, () =>
      node.getPeers(item.infoHash, { host: '127.0.0.1', port: item.port })
    );
    res.getPeers.push({
      rep,
      item: index,
      ...m.figures,
      reportedQueries: m.value.reportedQueries,
      found: m.value.found,
      firstPeerMs: m.value.firstPeerMs
    });
  }
  // BEP 44: an immutable item put by the announcer, read by the getter
  {
    const node = nodes[item.announcer]!;
    const value = Buffer.from(`bench item ${rep}/${index} ${toHex(item.infoHash)}`);
    const storedBefore = nodes.map((n) => n.storedItems());
    const m = await measure(counter, node.port, () => node.putImmutable(value));
    const stored: number[] = [];
    nodes.forEach((n, idx) => {
      if (idx !== item.announcer && n.storedItems() > storedBefore[idx]!) stored.push(idx);
    });
    const true8 = trueClosest(ids, m.value.target, K, item.announcer);
    res.put.push({
      rep,
      item: index,
      ...m.figures,
      reportedQueries: NaN,
      storedCount: stored.length,
      storedInTrue8: stored.filter((i) => true8.has(i)).length
    });
    const getter = nodes[item.getter]!;
    const g = await measure(counter, getter.port, () => getter.getImmutable(m.value.target, value));
    res.get.push({ rep, item: index, ...g.figures, reportedQueries: NaN, found: g.value });
  }
  // find_node recall of the true 8 closest
  {
    const node = nodes[item.finder]!;
    const m = await measure(counter, node.port, () => node.findNode(item.target, K));
    const truth = trueClosest(ids, item.target, K, item.finder);
    const hexToIndex = new Map(ids.map((id, i) => [toHex(id), i]));
    const hits = m.value.ids.filter((id) => truth.has(hexToIndex.get(toHex(id)) ?? -1)).length;
    res.findNode.push({
      rep,
      item: index,
      ...m.figures,
      reportedQueries: m.value.reportedQueries,
      recall: hits / K
    });
  }
}

async function measure<T>(counter: SendCounter, port: number, op: () => Promise<T>) {
  const pc = counter.port(port);
  const q0 = pc.queries;
  const before = counter.snapshot();
  const t0 = performance.now();
  const value = await withTimeout(op(), OP_TIMEOUT_MS, 'operation');
  const ms = performance.now() - t0;
  const queries = pc.queries - q0;
  await quiet(counter, 1000);
  const d = diffTotals(counter.snapshot(), before);
  return { value, figures: { queries, netDatagrams: d.datagrams, netBytes: d.bytes, ms } };
}

/** Wait until no datagram was sent for 3 polls of 20 ms (or `maxMs`). */
async function quiet(counter: SendCounter, maxMs: number): Promise<void> {
  const end = performance.now() + maxMs;
  let last = counter.totals.datagrams;
  let still = 0;
  while (performance.now() < end && still < 3) {
    await sleep(20);
    const now = counter.totals.datagrams;
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

/** Indices of the `k` node ids closest to `target` (exact XOR), excluding `self`. */
function trueClosest(ids: Uint8Array[], target: Uint8Array, k: number, self: number): Set<number> {
  const idx = ids.map((_, i) => i).filter((i) => i !== self);
  idx.sort((a, b) => compareDistance(target, ids[a]!, ids[b]!));
  return new Set(idx.slice(0, k));
}
