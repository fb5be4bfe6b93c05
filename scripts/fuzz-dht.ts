/**
 * Opt-in long fuzz run (issue 8): the KRPC codec and a DHT node's inbound path, with the heap
 * sampled after a forced GC every --every cases. Fails (exit 1) on any codec contract breach,
 * an unhandled rejection, a datagram above 1024 bytes, a node that stops answering, or a heap
 * that grows by more than --max-growth-mib between the first and the last sample (for the
 * node, the first sample is taken after --every datagrams, once the rig is built).
 *
 *   npm run build && node --expose-gc dist/scripts/fuzz-dht.js [--cases 1000000] [--seed 1]
 *       [--sources 20000] [--every 100000] [--max-growth-mib 16]
 */
import { checkCodec, fuzzDatagram, fuzzNode, validDatagrams } from '../bench/lib/krpc-fuzz.js';
import { argvReader } from '../bench/lib/argv.js';
import { seededRandom } from '../lib/util/random.js';

const { num } = argvReader(process.argv.slice(2));
const cases = num('cases', 1_000_000);
const seed = num('seed', 1);
const sources = num('sources', 20_000);
const every = num('every', 100_000);
const maxGrowthMiB = num('max-growth-mib', 16);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const problems: string[] = [];
process.on('unhandledRejection', (reason) => problems.push(`unhandled rejection: ${String(reason)}`));

function heapMiB(): number {
  gc!();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

function report(label: string, samples: Array<[number, number]>): void {
  console.log(
    `${label} heap MiB after GC: ${samples.map(([n, mib]) => `${n}: ${mib.toFixed(1)}`).join(', ')}`
  );
  const growth = samples.at(-1)![1] - samples[0]![1];
  if (growth > maxGrowthMiB) problems.push(`${label}: heap grew ${growth.toFixed(1)} MiB`);
}

const started = Date.now();

// 1. The codec alone.
{
  const rnd = seededRandom(seed);
  const seeds = validDatagrams(rnd);
  const samples: Array<[number, number]> = [[0, heapMiB()]];
  for (let i = 1; i <= cases; i++) {
    const data = fuzzDatagram(rnd, seeds);
    const problem = checkCodec(data);
    if (problem && problems.length < 20)
      problems.push(`codec case ${i}: ${problem}: ${Buffer.from(data).toString('hex')}`);
    if (i % every === 0) samples.push([i, heapMiB()]);
  }
  report('codec', samples);
  console.log(`codec: ${cases} cases in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

// 2. A node's inbound path, limits on (many public sources) and exempt (everything decoded).
for (const limits of ['on', 'exempt'] as const) {
  const t0 = Date.now();
  // Samples start after the first `every` datagrams: the rig (sources, the node's table) is built by then.
  const samples: Array<[number, number]> = [];
  const r = await fuzzNode({
    seed: seed + (limits === 'on' ? 10 : 20),
    cases,
    sources,
    limits,
    every,
    progress: (done) => samples.push([done, heapMiB()])
  });
  report(`node (limits ${limits})`, samples);
  const s = r.stats;
  console.log(
    `node (limits ${limits}): ${cases} datagrams in ${((Date.now() - t0) / 1000).toFixed(0)} s; ` +
      `replies ${s.repliesSent}, bad arguments ${s.badArguments}, malformed ${s.malformed}, ` +
      `dropped (rate ${s.droppedRateLimited}, banned ${s.droppedBanned}, overloaded ${s.droppedOverloaded}), ` +
      `largest datagram sent ${r.largestSent} B, table ${s.nodes}, stored infohashes ${s.storedInfoHashes}`
  );
  if (!r.aliveAfter) problems.push(`node (limits ${limits}) stopped answering`);
  if (r.largestSent > 1024) problems.push(`node (limits ${limits}) sent ${r.largestSent} bytes`);
}

if (problems.length > 0) {
  console.log(`FAIL\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(
  `OK: ${cases} codec cases and 2 x ${cases} datagrams, no crash, no unhandled rejection, heap flat`
);
