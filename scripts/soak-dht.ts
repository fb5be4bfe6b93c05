/**
 * Opt-in soak run (issue 8): a DHT under churn for a long time, memory and handles sampled.
 *
 *   npm run build && unshare --net -- bash -c 'ip link set lo up; \
 *     node --expose-gc dist/scripts/soak-dht.js [--minutes 30] [--sim-nodes 500] [--udp-nodes 20]'
 *
 * Two populations run side by side in this process:
 *  - a simulated network of --sim-nodes nodes in virtual time, where every virtual minute 5%
 *    of the nodes leave and as many fresh ones join, and lookups/announces run continuously
 *    (bench/lib/continuous-churn.ts);
 *  - --udp-nodes real UDP nodes on 127.0.0.1 (loopback only), one replaced every 5 s, each
 *    looking up and announcing now and then (real sockets and timers: the handle counts mean
 *    something here).
 * Every --sample-seconds: heap after a forced GC, RSS, and active handles by type. Fails (exit
 * 1) if the heap grows more than --max-growth-mib from the first sample (taken after warm-up)
 * to the last, or if the UDP handles ever differ from the number of live UDP nodes.
 */
import { ContinuousChurn, type ChurnRound } from '../bench/lib/continuous-churn.js';
import { DHT } from '../lib/dht/dht.js';
import { seededRandom } from '../lib/util/random.js';
import { argvReader } from '../bench/lib/argv.js';

const { num } = argvReader(process.argv.slice(2));
const minutes = num('minutes', 30);
const simNodes = num('sim-nodes', 500);
const udpNodes = num('udp-nodes', 20);
const sampleSeconds = num('sample-seconds', 60);
const maxGrowthMiB = num('max-growth-mib', 32);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const problems: string[] = [];
process.on('unhandledRejection', (r) => problems.push(`unhandled rejection: ${String(r)}`));
const rnd = seededRandom(42);
const endAt = Date.now() + minutes * 60_000;
const log = (s: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

// --- the simulated population -----------------------------------------------------------
const churn = await ContinuousChurn.create({
  size: simNodes,
  seed: 42,
  churnPerMinute: 0.05,
  lookupsPerMinute: 10
});
let simLookups = 0;
let simFound = 0;
let lastRound: ChurnRound | null = null;

async function simRound(): Promise<void> {
  lastRound = await churn.round();
  simLookups += lastRound.lookups;
  simFound += lastRound.found;
}

// --- the UDP population ------------------------------------------------------------------
const udp: DHT[] = [];
const udpOpts = { host: '127.0.0.1', port: 0, queryTimeoutMs: 500 };
udp.push(await DHT.create({ ...udpOpts, bootstrap: [] }));
const udpBoot = (): string[] => udp.slice(0, 3).map((d) => `127.0.0.1:${d.address().port}`);
while (udp.length < udpNodes) udp.push(await DHT.create({ ...udpOpts, bootstrap: udpBoot() }));
let udpLookups = 0;

async function udpRound(): Promise<void> {
  // Replace one node (never the first: it is everyone's bootstrap).
  const i = 1 + rnd.int(udp.length - 1);
  await udp[i]!.destroy();
  udp[i] = await DHT.create({ ...udpOpts, bootstrap: udpBoot() });
  const ih = rnd.bytes(20);
  await udp[rnd.int(udp.length)]!.announce(ih, 6881).catch(() => {});
  await udp[rnd.int(udp.length)]!.getPeers(ih).catch(() => {});
  udpLookups++;
}

// --- sampling ----------------------------------------------------------------------------
interface Sample {
  at: number;
  heapMiB: number;
  rssMiB: number;
  handles: Record<string, number>;
}
const samples: Sample[] = [];
function sample(): void {
  gc!();
  const handles: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) handles[r] = (handles[r] ?? 0) + 1;
  const m = process.memoryUsage();
  const s = { at: Date.now(), heapMiB: m.heapUsed / 2 ** 20, rssMiB: m.rss / 2 ** 20, handles };
  samples.push(s);
  if ((handles.UDPWrap ?? 0) !== udp.length)
    problems.push(`UDP handles ${handles.UDPWrap} != ${udp.length} nodes`);
  log(
    `heap ${s.heapMiB.toFixed(1)} MiB, rss ${s.rssMiB.toFixed(0)} MiB, handles ${JSON.stringify(handles)}, ` +
      `sim: ${churn.size} nodes, ${lastRound?.minute ?? 0} virtual min, ${simFound}/${simLookups} lookups found, ` +
      `${((lastRound?.deadEntries ?? 0) * 100).toFixed(1)}% dead table entries, ${(churn.reachFraction() * 100).toFixed(1)}% of the nodes reach the network; ` +
      `udp: ${udpLookups} rounds`
  );
}

log(`soak: ${minutes} min, ${simNodes} simulated nodes, ${udpNodes} UDP nodes`);
let nextSample = Date.now() + sampleSeconds * 1000;
let nextUdp = Date.now();
while (Date.now() < endAt) {
  await simRound();
  if (Date.now() >= nextUdp) {
    await udpRound();
    nextUdp = Date.now() + 5000;
  }
  if (Date.now() >= nextSample) {
    sample();
    nextSample = Date.now() + sampleSeconds * 1000;
  }
}
sample();
await churn.destroy();
await Promise.all(udp.map((d) => d.destroy()));

const first = samples[Math.min(1, samples.length - 1)]!; // after warm-up
const last = samples.at(-1)!;
if (last.heapMiB - first.heapMiB > maxGrowthMiB)
  problems.push(`heap grew ${(last.heapMiB - first.heapMiB).toFixed(1)} MiB`);
if (simLookups > 0 && simFound / simLookups < 0.95)
  problems.push(`only ${simFound}/${simLookups} sim lookups found`);
if (problems.length > 0) {
  console.log(`FAIL\n${problems.slice(0, 20).join('\n')}`);
  process.exit(1);
}
console.log(
  `OK: ${minutes} min, heap ${first.heapMiB.toFixed(1)} -> ${last.heapMiB.toFixed(1)} MiB, ` +
    `${simFound}/${simLookups} sim lookups found, ${udpLookups} UDP rounds, handles flat`
);
