/**
 * Lookups on a half-dead network, ours vs bittorrent-dht@11 on the same loopback network
 * (issue 8, scenario 4). Run it in a private network namespace:
 *
 *   unshare --net -- bash -c 'ip link set lo up; node dist/bench/dht-dead-loopback.js \
 *       [--nodes 100] [--dead 0.4] [--items 10] [--reps 3] [--netem "delay 60ms 50ms"]'
 *
 * --nodes of our nodes join on 127.0.0.1; then --dead of them are destroyed (their sockets
 * close, so they never answer, while the survivors' tables still list them), and live nodes
 * announce --items infohashes. In each rep, a fresh client of each implementation (interleaved)
 * joins through a live node and looks every infohash up: time to the first peer and to the end
 * of the lookup, median per implementation. The same runs on the network before the kill give
 * the clean baseline. With --netem, every datagram on lo is delayed by netem (e.g. 60 ms +-
 * 50 ms one way: RTTs of ~20-220 ms like the real DHT's); it is applied only inside a private
 * network namespace (one whose only interface is lo) and removed at the end.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { argvReader } from './lib/argv.js';
import { createNode, IMPLS, type BenchNode, type ImplName } from './lib/impls.js';
import { fmt, median, quantile, table } from './lib/stats.js';
import { seededRandom } from '../lib/util/random.js';

const { value, num } = argvReader(process.argv.slice(2));
const nodeCount = num('nodes', 100);
const deadFraction = Number(value('dead') ?? 0.4);
const items = num('items', 10);
const reps = num('reps', 3);
const netem = value('netem');
const rnd = seededRandom(num('seed', 1));

/**
 * True when this process's network namespace has no interface but `lo` (what `unshare --net`
 * gives): netem on lo there cannot touch any other traffic. /proc/self/net is per namespace,
 * unlike /sys/class/net and /proc/1 (often unreadable).
 */
function privateNamespace(): boolean {
  try {
    const names = readFileSync('/proc/self/net/dev', 'utf8')
      .split('\n')
      .slice(2)
      .map((l) => l.split(':')[0]!.trim())
      .filter((n) => n !== '');
    return names.length === 1 && names[0] === 'lo';
  } catch {
    return false;
  }
}

if (netem) {
  if (!privateNamespace()) throw new Error('--netem only inside a private network namespace (unshare --net)');
  execFileSync('tc', ['qdisc', 'add', 'dev', 'lo', 'root', 'netem', ...netem.split(/\s+/)]);
}

interface Figures {
  firstPeer: number[];
  complete: number[];
  found: number;
  lookups: number;
}
const empty = (): Figures => ({ firstPeer: [], complete: [], found: 0, lookups: 0 });

const nodes: BenchNode[] = [];
const clients: BenchNode[] = [];
try {
  nodes.push(await createNode('ours', { id: rnd.bytes(20), bootstrap: [] }));
  const boot = [{ host: '127.0.0.1', port: nodes[0]!.port }];
  for (let i = 1; i < nodeCount; i += 20) {
    const batch = Array.from({ length: Math.min(20, nodeCount - i) }, () =>
      createNode('ours', { id: rnd.bytes(20), bootstrap: boot })
    );
    nodes.push(...(await Promise.all(batch)));
  }
  console.log(`${nodes.length} nodes up${netem ? `, netem ${netem} on lo` : ''}`);

  const phase = async (live: BenchNode[], label: string): Promise<Record<ImplName, Figures>> => {
    const wanted: Array<{ ih: Uint8Array; peer: { host: string; port: number } }> = [];
    for (let i = 0; i < items; i++) {
      const ih = rnd.bytes(20);
      const port = 20_000 + wanted.length + (label === 'clean' ? 0 : 1000);
      await live[1 + rnd.int(live.length - 1)]!.announce(ih, port);
      wanted.push({ ih, peer: { host: '127.0.0.1', port } });
    }
    const out: Record<ImplName, Figures> = { ours: empty(), anchor: empty() };
    for (let rep = 0; rep < reps; rep++) {
      for (const impl of rep % 2 === 0 ? IMPLS : [...IMPLS].reverse()) {
        const entry = live[1 + rnd.int(live.length - 1)]!;
        const client = await createNode(impl, {
          id: rnd.bytes(20),
          bootstrap: [{ host: '127.0.0.1', port: entry.port }]
        });
        clients.push(client);
        for (const w of wanted) {
          const t0 = performance.now();
          const r = await client.getPeers(w.ih, w.peer);
          out[impl].lookups++;
          out[impl].complete.push(performance.now() - t0);
          if (r.found) {
            out[impl].found++;
            out[impl].firstPeer.push(r.firstPeerMs);
          }
        }
        await client.destroy();
        clients.splice(clients.indexOf(client), 1);
      }
    }
    return out;
  };

  const clean = await phase(nodes, 'clean');
  const doomed = new Set<BenchNode>();
  while (doomed.size < Math.floor(nodes.length * deadFraction))
    doomed.add(nodes[1 + rnd.int(nodes.length - 1)]!);
  await Promise.all([...doomed].map((n) => n.destroy()));
  const live = nodes.filter((n) => !doomed.has(n));
  console.log(`${doomed.size} nodes destroyed; ${live.length} live`);
  const dead = await phase(live, 'dead');

  const row = (impl: ImplName, label: string, f: Figures): string[] => [
    impl,
    label,
    `${f.found}/${f.lookups}`,
    fmt(median(f.firstPeer), 0),
    fmt(quantile(f.firstPeer, 0.9), 0),
    fmt(median(f.complete), 0),
    fmt(quantile(f.complete, 0.9), 0)
  ];
  console.log(
    `\nget_peers on ${nodeCount} loopback nodes${netem ? ` (netem ${netem})` : ''}, clean vs ${fmt(deadFraction * 100, 0)}% dead; ${reps} fresh clients x ${items} lookups per implementation (ms)`
  );
  console.log(
    table(
      ['impl', 'network', 'found', 'first peer p50', 'p90', 'complete p50', 'p90'],
      IMPLS.flatMap((impl) => [row(impl, 'clean', clean[impl]), row(impl, 'dead', dead[impl])])
    )
  );
  for (const impl of IMPLS) {
    console.log(
      `${impl}: dead/clean first peer ${fmt(median(dead[impl].firstPeer) / median(clean[impl].firstPeer))}x, completion ${fmt(median(dead[impl].complete) / median(clean[impl].complete))}x`
    );
  }
  console.log(
    `ours/anchor on the dead network: first peer ${fmt(median(dead.ours.firstPeer) / median(dead.anchor.firstPeer))}, completion ${fmt(median(dead.ours.complete) / median(dead.anchor.complete))}`
  );
  console.log(
    `BENCH_JSON ${JSON.stringify({ nodeCount, deadFraction, items, reps, netem: netem ?? null, clean, dead })}`
  );
} finally {
  await Promise.all([...clients, ...nodes].map((n) => n.destroy().catch(() => {})));
  if (netem && privateNamespace()) execFileSync('tc', ['qdisc', 'del', 'dev', 'lo', 'root']);
}
