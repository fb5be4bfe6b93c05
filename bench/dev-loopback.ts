import { runLoopback } from './loopback.js';
import { SendCounter } from './lib/send-counter.js';
import { getGc } from './lib/gc.js';
import { median } from './lib/stats.js';
const counter = new SendCounter();
counter.install();
const n = Number(process.argv[2] ?? 200);
const t0 = Date.now();
const res = await runLoopback({ nodes: n, reps: 2, itemsPerRep: 5, seed: 1, joinBatch: 20, counter, gc: getGc(), log: console.log });
for (const impl of ['ours', 'anchor'] as const) {
  const r = res[impl];
  console.log(impl, { build: r.buildMs, join: r.joinQueriesPerNode, table: r.tableSizeMedian, heap: r.heapPerNodeBytes,
    gp: r.getPeers.map((s) => [s.queries, s.reportedQueries, s.found, Math.round(s.firstPeerMs), s.netDatagrams]),
    an: r.announce.map((s) => [s.queries, s.reportedQueries, s.storedOn, s.storedCount, s.storedInTrue8]),
    fn: r.findNode.map((s) => [s.queries, s.reportedQueries, s.recall]) });
}
console.log('total', Date.now() - t0, median([1]));
counter.uninstall();
