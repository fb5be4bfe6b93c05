/**
 * DHT benchmark: trackerless vs the anchor bittorrent-dht@11.0.12, side by side in one run.
 *
 *   npm run bench:dht                      # default run (~10 min on 2 shared cores)
 *   node dist/bench/dht-bench.js --quick   # smoke run (~2 min)
 *   node dist/bench/dht-bench.js --sim-100k  # also the 100,000-node simulation (slow, opt-in)
 *
 * Scenarios (all on 127.0.0.1 or in memory; every loop bounded; every socket closed):
 *  1. loopback: two 1,000-node UDP networks in this process (same ids, same join schedule,
 *     same seeded workload, interleaved): queries per get_peers lookup and success, time to
 *     first peer, queries per announce and the nodes storing it, find_node recall of the true
 *     8 closest, BEP 44 put/get of an immutable item (queries, nodes storing it, read back),
 *     join cost. Counting wraps dgram.Socket.prototype.send for the whole process.
 *  2. memory: fresh `node --expose-gc --single-threaded` children: heap per node at an equal
 *     routing-table size (the marginal cost of a node, after a warm-up), heap per stored peer.
 *  3. serve: replies/s one node serves on one core (server in a child, load generator here).
 *  4. sim: ours only, SimTestnet at 1k / 10k (/ 100k) nodes: queries and hops per lookup vs N
 *     (`--sim-build warm`: the network built as a warm restart, WarmTestnet, see sim-child.ts).
 *
 * Prints tables and, last, one line `BENCH_JSON {...}` (also written to --json FILE).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { runLoopback, type ImplLoopbackResult } from './loopback.js';
import { runMemory, type MemoryResult } from './memory.js';
import { runServe, type ServeResult } from './serve.js';
import { runSim, type SimResult } from './sim.js';
import { SendCounter } from './lib/send-counter.js';
import { getGc } from './lib/gc.js';
import { fmt, mean, median, quantile, ratio, round, table } from './lib/stats.js';
import { IMPLS, type ImplName } from './lib/impls.js';
import { argvReader } from './lib/argv.js';

interface Options {
  nodes: number;
  reps: number;
  items: number;
  seed: number;
  serveReps: number;
  serveSeconds: number;
  serveEntries: number[];
  memoryReps: number;
  memoryNodes: number;
  /** Routing-table sizes measured (heap per entry = the slope between the smallest and largest). */
  memoryEntries: number[];
  simSizes: number[];
  simItems: number;
  simMaxMinutes: number;
  simBuild: 'join' | 'warm';
  skip: Set<string>;
  json: string | null;
}

function parseOptions(argv: string[]): Options {
  const { flag, value, num } = argvReader(argv);
  const quick = flag('quick');
  const simSizes = (value('sim-sizes') ?? (quick ? '1000' : '1000,10000'))
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
  if (flag('sim-100k') && !simSizes.includes(100_000)) simSizes.push(100_000);
  return {
    nodes: num('nodes', quick ? 300 : 1000),
    reps: num('reps', quick ? 2 : 3),
    items: num('items', quick ? 5 : 10),
    seed: num('seed', 1),
    serveReps: num('serve-reps', quick ? 1 : 3),
    serveSeconds: num('serve-seconds', quick ? 2 : 4),
    serveEntries: (value('serve-entries') ?? '160,48')
      .split(',')
      .map(Number)
      .filter((n) => n > 0),
    memoryReps: num('memory-reps', quick ? 1 : 2),
    memoryNodes: num('memory-nodes', quick ? 100 : 200),
    memoryEntries: [
      ...new Set(
        (value('memory-entries') ?? '0,64')
          .split(',')
          .map(Number)
          .filter((n) => Number.isInteger(n) && n >= 0)
          .concat(64)
      )
    ].sort((a, b) => a - b),
    simSizes,
    simItems: num('sim-items', 10),
    simMaxMinutes: num('sim-max-minutes', 60),
    simBuild: value('sim-build') === 'warm' ? 'warm' : 'join',
    skip: new Set((value('skip') ?? '').split(',').filter(Boolean)),
    json: value('json') ?? null
  };
}

const log = (s: string): void => console.log(s);

interface Row {
  metric: string;
  ours: number;
  anchor: number;
  ratio: number;
  target?: string;
  pass?: boolean;
  unit?: string;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
  log(`DHT benchmark: trackerless vs bittorrent-dht@11.0.12 — ${machine}`);
  log(`options: ${JSON.stringify({ ...opts, skip: [...opts.skip] })}`);
  const rows: Row[] = [];
  const summary: Record<string, unknown> = {
    machine,
    options: { ...opts, skip: [...opts.skip] },
    startedAt: new Date(started).toISOString()
  };

  // 1. loopback ----------------------------------------------------------------------------
  if (!opts.skip.has('loopback')) {
    log(
      `\n== 1. loopback UDP: ${opts.nodes} nodes per implementation, ${opts.reps} reps x ${opts.items} items, interleaved ==`
    );
    const counter = new SendCounter();
    counter.install();
    let res: Record<ImplName, ImplLoopbackResult>;
    try {
      res = await runLoopback({
        nodes: opts.nodes,
        reps: opts.reps,
        itemsPerRep: opts.items,
        seed: opts.seed,
        joinBatch: 20,
        counter,
        gc: getGc(),
        log
      });
    } finally {
      counter.uninstall();
    }
    const o = res.ours;
    const a = res.anchor;
    const med = (r: ImplLoopbackResult, f: (x: ImplLoopbackResult) => number[]): number => median(f(r));
    const success = (r: ImplLoopbackResult): number =>
      r.getPeers.filter((s) => s.found).length / r.getPeers.length;
    const add = (
      metric: string,
      f: (r: ImplLoopbackResult) => number,
      unit = '',
      target?: string,
      pass?: (o: number, a: number) => boolean
    ): void => {
      const ov = f(o);
      const av = f(a);
      rows.push({
        metric,
        ours: ov,
        anchor: av,
        ratio: ratio(ov, av),
        unit,
        ...(target ? { target, pass: pass!(ov, av) } : {})
      });
    };
    add(
      'get_peers: queries per lookup (median)',
      (r) => med(r, (x) => x.getPeers.map((s) => s.queries)),
      '',
      '<= 0.5x',
      (x, y) => x <= 0.5 * y
    );
    add('get_peers: queries per lookup (p90)', (r) =>
      quantile(
        r.getPeers.map((s) => s.queries),
        0.9
      )
    );
    add('get_peers: success rate (announced peer found)', success, '', '>= anchor', (x, y) => x >= y);
    add('get_peers: datagrams per lookup, all nodes (median)', (r) =>
      med(r, (x) => x.getPeers.map((s) => s.netDatagrams))
    );
    add(
      'get_peers: bytes per lookup, all nodes (median)',
      (r) => med(r, (x) => x.getPeers.map((s) => s.netBytes)),
      'B'
    );
    add(
      'get_peers: time to first peer (median)',
      (r) => med(r, (x) => x.getPeers.filter((s) => s.found).map((s) => s.firstPeerMs)),
      'ms'
    );
    add(
      'get_peers: time to first peer (p90)',
      (r) =>
        quantile(
          r.getPeers.filter((s) => s.found).map((s) => s.firstPeerMs),
          0.9
        ),
      'ms'
    );
    add('get_peers: lookup duration (median)', (r) => med(r, (x) => x.getPeers.map((s) => s.ms)), 'ms');
    add('announce: queries (get_peers + announce_peer, median)', (r) =>
      med(r, (x) => x.announce.map((s) => s.queries))
    );
    add(
      'announce: nodes storing the peer (median)',
      (r) => med(r, (x) => x.announce.map((s) => s.storedCount)),
      '',
      '8 closest',
      (x) => x === 8
    );
    add(
      'announce: of them among the true 8 closest (median)',
      (r) => med(r, (x) => x.announce.map((s) => s.storedInTrue8)),
      '',
      '8',
      (x) => x === 8
    );
    add('announce: bytes, all nodes (median)', (r) => med(r, (x) => x.announce.map((s) => s.netBytes)), 'B');
    add('BEP 44 put (immutable): queries (get walk + puts, median)', (r) =>
      med(r, (x) => x.put.map((s) => s.queries))
    );
    add('BEP 44 put: nodes storing the item (median)', (r) => med(r, (x) => x.put.map((s) => s.storedCount)));
    add('BEP 44 put: of them among the true 8 closest (median)', (r) =>
      med(r, (x) => x.put.map((s) => s.storedInTrue8))
    );
    add('BEP 44 put: bytes, all nodes (median)', (r) => med(r, (x) => x.put.map((s) => s.netBytes)), 'B');
    add('BEP 44 get: queries per get (median)', (r) => med(r, (x) => x.get.map((s) => s.queries)));
    add(
      'BEP 44 get: success rate (item read back)',
      (r) => r.get.filter((s) => s.found).length / r.get.length,
      '',
      '>= anchor',
      (x, y) => x >= y
    );
    add('BEP 44 get: duration (median)', (r) => med(r, (x) => x.get.map((s) => s.ms)), 'ms');
    add('find_node: queries per lookup (median)', (r) => med(r, (x) => x.findNode.map((s) => s.queries)));
    add('find_node: recall of the true 8 closest (mean)', (r) => mean(r.findNode.map((s) => s.recall)));
    add('join: queries sent per node while the network is built', (r) => r.joinQueriesPerNode);
    add('join: bytes sent per node while the network is built', (r) => r.joinBytesPerNode, 'B');
    add('routing table entries per node (median)', (r) => r.tableSizeMedian);
    add('heap per node in the built network (own tables, see entries)', (r) => r.heapPerNodeBytes, 'B');
    add(
      'arrayBuffers per node in the built network (pinned datagrams)',
      (r) => r.arrayBuffersPerNodeBytes,
      'B'
    );
    add(
      'heap + arrayBuffers per node in the built network',
      (r) => r.heapPerNodeBytes + r.arrayBuffersPerNodeBytes,
      'B',
      '<= 0.5x',
      (x, y) => x <= 0.5 * y
    );
    const selfCheck = o.getPeers.filter((s) => s.queries !== s.reportedQueries).length;
    if (selfCheck > 0)
      log(
        `  note: ${selfCheck} get_peers lookups sent more queries than the lookup itself counted (routing-table pings during the lookup)`
      );
    summary.loopback = res;
  }

  // 2. memory --------------------------------------------------------------------------------
  if (!opts.skip.has('memory')) {
    const sizes = opts.memoryEntries;
    log(
      `\n== 2. memory: fresh --expose-gc --single-threaded processes, ${opts.memoryReps} reps, interleaved, tables of ${sizes.join(', ')} entries ==`
    );
    // Both implementations get the same warm-up in a rep; it grows by 50 nodes from rep to rep.
    // A child's figure is exact for its configuration, but depends on it (how much the heap
    // already holds: +-1.5 % between warm-ups of 200 and 400 nodes, in the same direction for
    // both implementations), so the reps sample it instead of repeating one configuration.
    const warmupOf = (r: number): number => opts.memoryNodes + 50 * r;
    const blank = (): Record<ImplName, MemoryResult[]> => ({ ours: [], anchor: [] });
    const bySize = new Map<number, Record<ImplName, MemoryResult[]>>(sizes.map((e) => [e, blank()]));
    const dense = blank();
    const sparse = blank();
    for (let r = 0; r < opts.memoryReps; r++) {
      for (const impl of r % 2 === 0 ? IMPLS : [...IMPLS].reverse()) {
        for (const entries of sizes) {
          // The per-peer figures come with the 64-entry run (one 100k-peer fill per rep).
          const withPeers = entries === 64;
          const m = await runMemory({
            impl,
            nodes: opts.memoryNodes,
            entries,
            peers: withPeers ? 100_000 : 0,
            infohashes: 1000,
            seed: opts.seed + r,
            warmup: warmupOf(r)
          });
          bySize.get(entries)![impl].push(m);
          if (withPeers) dense[impl].push(m);
          log(
            `  ${impl}: ${entries} entries: ${fmt(m.heapPerNodeBytes)} B heap/node + ${fmt(m.arrayBuffersPerNodeBytes)} B arrayBuffers (table ${m.tableSizeMin}-${m.tableSizeMax})` +
              (withPeers ? `, ${fmt(m.heapPerPeerBytes)} B/peer (1,000 x 100)` : '')
          );
        }
        const s = await runMemory({
          impl,
          nodes: 0,
          entries: 0,
          peers: 100_000,
          infohashes: 100_000,
          seed: opts.seed + r,
          warmup: 0
        });
        sparse[impl].push(s);
        log(`  ${impl}: ${fmt(s.heapPerPeerBytes)} B/peer (100,000 x 1)`);
      }
    }
    const add = (
      metric: string,
      src: Record<ImplName, MemoryResult[]>,
      f: (m: MemoryResult) => number,
      target?: string
    ): void => {
      const ov = median(src.ours.map(f));
      const av = median(src.anchor.map(f));
      rows.push({
        metric,
        ours: ov,
        anchor: av,
        ratio: ratio(ov, av),
        unit: 'B',
        ...(target ? { target, pass: ov <= 0.5 * av } : {})
      });
    };
    // Spread of the reps: min / median / max of each implementation, and of the ratio per rep
    // (ours and the anchor of one rep share seed and warm-up).
    const logSpread = (
      what: string,
      src: Record<ImplName, MemoryResult[]>,
      f: (m: MemoryResult) => number
    ): void => {
      const o = src.ours.map(f);
      const a = src.anchor.map(f);
      const r = o.map((v, i) => ratio(v, a[i]!));
      const mmm = (v: number[], d?: number): string =>
        [Math.min(...v), median(v), Math.max(...v)].map((x) => fmt(x, d)).join(' / ');
      log(
        `  spread, ${what} (min / median / max): ours ${mmm(o)} B, anchor ${mmm(a)} B, ratio per rep ${mmm(r, 3)}`
      );
    };
    const heap = (m: MemoryResult): number => m.heapPerNodeBytes;
    const total = (m: MemoryResult): number => m.heapPerNodeBytes + m.arrayBuffersPerNodeBytes;
    for (const entries of sizes) {
      const src = bySize.get(entries)!;
      const target = entries === 64 ? '<= 0.5x' : undefined;
      add(
        `heap per node, ${opts.memoryNodes} idle nodes with ${entries} table entries each`,
        src,
        heap,
        target
      );
      add(`heap + arrayBuffers per node, ${entries} entries`, src, total, target);
      logSpread(`${entries} entries, heap`, src, heap);
      logSpread(`${entries} entries, heap + arrayBuffers`, src, total);
    }
    // Per entry: the slope between the smallest and the largest table, per rep, then the median.
    const lo = sizes[0]!;
    const hi = sizes[sizes.length - 1]!;
    if (hi > lo) {
      const slope = (f: (m: MemoryResult) => number): Record<ImplName, MemoryResult[]> => {
        const out = blank();
        for (const impl of IMPLS) {
          const a = bySize.get(lo)![impl];
          const b = bySize.get(hi)![impl];
          out[impl] = b.map((m, i) => ({ ...m, heapPerNodeBytes: (f(m) - f(a[i]!)) / (hi - lo) }));
        }
        return out;
      };
      add(`heap per routing-table entry (slope ${lo} -> ${hi} entries)`, slope(heap), heap);
      add(`heap + arrayBuffers per routing-table entry (slope ${lo} -> ${hi})`, slope(total), heap);
    }
    add('heap per stored peer, 100k peers on 1,000 infohashes', dense, (m) => m.heapPerPeerBytes, '<= 0.5x');
    add('heap per stored peer, 100k peers on 100k infohashes', sparse, (m) => m.heapPerPeerBytes, '<= 0.5x');
    summary.memory = { bySize: Object.fromEntries(bySize), sparse };
  }

  // 3. serve ----------------------------------------------------------------------------------
  if (!opts.skip.has('serve')) {
    log(
      `\n== 3. replies/s of one node on one core: ${opts.serveReps} reps x ${opts.serveSeconds} s, table sizes ${opts.serveEntries.join(', ')} ==`
    );
    const all: ServeResult[] = [];
    for (const entries of opts.serveEntries) {
      for (let r = 0; r < opts.serveReps; r++) {
        for (const impl of r % 2 === 0 ? IMPLS : [...IMPLS].reverse()) {
          const s = await runServe({
            impl,
            entries,
            seed: opts.seed + r,
            durationMs: opts.serveSeconds * 1000,
            warmupMs: 1000,
            maxQueries: 400_000,
            sockets: 2,
            window: 64
          });
          all.push(s);
          log(
            `  ${impl} (${entries} entries): ${fmt(s.repliesPerSec)} replies/s, ${fmt(s.repliesPerCpuSec)} per server CPU-s (server at ${(s.serverCpuShare * 100).toFixed(0)}% of a core), ${fmt(s.bytesPerReply)} B/reply, lost ${s.lost}`
          );
        }
      }
      const pick = (impl: ImplName, f: (s: ServeResult) => number): number =>
        median(all.filter((s) => s.impl === impl && s.entries === entries).map(f));
      const add = (
        metric: string,
        f: (s: ServeResult) => number,
        unit: string,
        target?: string,
        pass?: (o: number, a: number) => boolean
      ): void => {
        const ov = pick('ours', f);
        const av = pick('anchor', f);
        rows.push({
          metric,
          ours: ov,
          anchor: av,
          ratio: ratio(ov, av),
          unit,
          ...(target ? { target, pass: pass!(ov, av) } : {})
        });
      };
      add(
        `serve (${entries} table entries): replies/s (wall)`,
        (s) => s.repliesPerSec,
        '/s',
        '>= 3x',
        (x, y) => x >= 3 * y
      );
      add(
        `serve (${entries} table entries): replies per server CPU-second`,
        (s) => s.repliesPerCpuSec,
        '/s',
        '>= 3x',
        (x, y) => x >= 3 * y
      );
      add(
        `serve (${entries} table entries): bytes per reply`,
        (s) => s.bytesPerReply,
        'B',
        '<= 1024',
        (x) => x <= 1024
      );
    }
    summary.serve = all;
  }

  // 4. sim ------------------------------------------------------------------------------------
  const sims: SimResult[] = [];
  if (!opts.skip.has('sim')) {
    log(
      `\n== 4. simulated network (ours only): ${opts.simSizes.join(', ')} nodes, ${opts.simItems} items each ==`
    );
    for (const n of opts.simSizes) {
      try {
        sims.push(await runSim(n, opts.simItems, 7, opts.simMaxMinutes, log, opts.simBuild));
      } catch (err) {
        log(`  sim ${n}: ${(err as Error).message}`);
      }
    }
    summary.sim = sims;
  }

  // report ------------------------------------------------------------------------------------
  if (rows.length > 0) {
    log('\n== side by side (medians; ratio = ours / anchor) ==');
    log(
      table(
        ['metric', 'ours', 'anchor', 'ratio', 'target', 'met'],
        rows.map((r) => [
          r.metric,
          fmt(r.ours) + (r.unit && r.unit !== '/s' ? ` ${r.unit}` : ''),
          fmt(r.anchor) + (r.unit && r.unit !== '/s' ? ` ${r.unit}` : ''),
          fmt(r.ratio),
          r.target ?? '',
          r.pass === undefined ? '' : r.pass ? 'yes' : 'NO'
        ])
      )
    );
  }
  if (sims.length > 0) {
    log('\n== simulated network scaling (ours; medians over items; 20 ms +- 20 ms one-way latency) ==');
    log(
      table(
        [
          'nodes',
          'build',
          'build (real s)',
          'build (CPU s)',
          'heap MB',
          'table',
          'get_peers queries (p50/p90)',
          'hops',
          'virtual ms',
          'found',
          'announce queries',
          'stored in true 8',
          'find_node queries',
          'hops',
          'recall'
        ],
        sims.map((s) => [
          `${s.nodes.toLocaleString('en-US')}${s.complete ? '' : ` of ${s.requested.toLocaleString('en-US')}`}`,
          s.build,
          fmt(s.buildSeconds),
          fmt(s.buildCpuSeconds),
          fmt(s.heapAfterBuildMB),
          fmt(s.tableSizeMedian),
          `${fmt(s.getPeersQueriesMedian)} / ${fmt(s.getPeersQueriesP90)}`,
          fmt(s.getPeersHopsMedian),
          fmt(s.getPeersVirtualMsMedian),
          fmt(s.successRate),
          fmt(s.announceQueriesMedian),
          fmt(s.storedInTrue8Median),
          fmt(s.findNodeQueriesMedian),
          fmt(s.findNodeHopsMedian),
          fmt(s.recallMean)
        ])
      )
    );
  }
  const elapsedS = (Date.now() - started) / 1000;
  // Everything must be closed by now: report what is still open (timers of this report aside).
  // (libuv frees closed handles in its next closing phase: give it a few loop turns.)
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setTimeout(resolve, 50));
  const open = process
    .getActiveResourcesInfo()
    .filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap' && r !== 'Timeout');
  log(
    `\ntotal ${elapsedS.toFixed(0)} s; handles still open: ${open.length === 0 ? 'none' : open.join(', ')}`
  );
  summary.openHandlesAtEnd = open;
  const json = {
    ...summary,
    elapsedSeconds: round(elapsedS),
    table: rows.map((r) => ({ ...r, ours: round(r.ours), anchor: round(r.anchor), ratio: round(r.ratio) })),
    simTable: sims
  };
  const compact = {
    machine,
    elapsedSeconds: round(elapsedS),
    openHandlesAtEnd: open,
    table: json.table,
    simTable: sims
  };
  if (opts.json) writeFileSync(opts.json, `${JSON.stringify(json, null, 2)}\n`);
  log(`BENCH_JSON ${JSON.stringify(compact)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
