/**
 * Opt-in peer wire fuzzing (issue 8): a million fuzzed inbound streams into our engines and
 * mutated MSE handshakes into our responder (bench/lib/wire-fuzz.ts), with the heap sampled.
 *
 *   npm run build && node --expose-gc dist/scripts/fuzz-wire.js [--cases 1000000] [--mse 20000] [--seed 1]
 *     [--heap-snapshots DIR]
 *
 * With --heap-snapshots, a V8 heap snapshot is written to DIR at the first and the last heap
 * sample (after a GC), to compare what the heap holds after the run with what it held early.
 * Prints progress with heap samples (after a GC when --expose-gc), then the totals. Exit 1 on a
 * throw, an unhandled rejection, an unsettled handshake or a connection left open.
 */
import { fuzzEngines, fuzzMse } from '../bench/lib/wire-fuzz.js';
import { argvReader } from '../bench/lib/argv.js';
import { writeHeapSnapshot } from 'node:v8';
import { join } from 'node:path';

const { num, value } = argvReader(process.argv.slice(2));
const snapshotDir = value('heap-snapshots');
const cases = num('cases', 1_000_000);
const mseCases = num('mse', 20_000);
const seed = num('seed', 1);

const rejections: unknown[] = [];
process.on('unhandledRejection', (reason) => rejections.push(reason));

const heapMiB = (): number => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};

const started = Date.now();
const samples: number[] = [];
const sampleEvery = Math.max(1, Math.floor(cases / 20));
const wire = await fuzzEngines({
  seed,
  cases,
  sampleEvery,
  onSample: (done) => {
    const heap = heapMiB();
    samples.push(heap);
    if (snapshotDir && (samples.length === 1 || done + sampleEvery > cases))
      console.log(`heap snapshot: ${writeHeapSnapshot(join(snapshotDir, `wire-${done}.heapsnapshot`))}`);
    console.log(
      `${done} cases, ${((Date.now() - started) / 1000).toFixed(0)} s, heap ${heap.toFixed(1)} MiB`
    );
  }
});
console.log(
  `wire: ${wire.cases} cases in ${((Date.now() - started) / 1000).toFixed(0)} s; closed by the engines ${wire.closedByEngine}, ` +
    `bans ${wire.bannedEvents}, thrown ${wire.thrown.length}, peers left ${wire.peersLeft}; ` +
    `heap first/min/max/last sample ${[samples[0], Math.min(...samples), Math.max(...samples), samples.at(-1)].map((x) => x?.toFixed(1)).join('/')} MiB`
);
const mseStarted = Date.now();
const mse = await fuzzMse(seed + 1, mseCases);
console.log(
  `mse: ${mse.cases} handshakes in ${((Date.now() - mseStarted) / 1000).toFixed(0)} s; accepted ${mse.accepted}, rejected ${mse.rejected}, unsettled ${mse.unsettled}; heap ${heapMiB().toFixed(1)} MiB`
);
console.log(`unhandled rejections: ${rejections.length}`);
for (const t of wire.thrown.slice(0, 10)) console.log(`thrown: ${t}`);
process.exitCode = wire.thrown.length || rejections.length || mse.unsettled || wire.peersLeft ? 1 : 0;
