/**
 * Dead routing-table entries under continuous churn (issue 8), in virtual time: the soak's
 * population (bench/lib/continuous-churn.ts) replaces a share of its nodes every virtual minute
 * while announce-then-get_peers pairs run; after each minute it prints the share of the live
 * nodes' table entries that point at departed nodes, the lookups that found their peer and
 * the median table size.
 *
 *   node dist/bench/dht-dead-entries.js [--size 300] [--minutes 15] [--churn 0.05] [--lookups 20] [--seed 1]
 */
import { ContinuousChurn } from './lib/continuous-churn.js';
import { argvReader } from './lib/argv.js';
import { fmt, median } from './lib/stats.js';

const { num } = argvReader(process.argv.slice(2));
const size = num('size', 300);
const minutes = num('minutes', 15);
const churnPerMinute = num('churn', 0.05);
const lookupsPerMinute = num('lookups', 20);
const seed = num('seed', 1);

const churn = await ContinuousChurn.create({ size, seed, churnPerMinute, lookupsPerMinute });
const dead: number[] = [];
let found = 0;
let lookups = 0;
try {
  for (let m = 0; m < minutes; m++) {
    const r = await churn.round();
    dead.push(r.deadEntries);
    found += r.found;
    lookups += r.lookups;
    console.log(
      `minute ${r.minute}: dead entries ${fmt(r.deadEntries * 100, 1)}%, found ${r.found}/${r.lookups}, table median ${r.tableMedian}`
    );
  }
  const late = dead.slice(Math.min(4, dead.length - 1));
  console.log(
    `${size} nodes, ${fmt(churnPerMinute * 100, 0)}% replaced a minute: dead entries from minute ${dead.length - late.length + 1} on ${fmt(Math.min(...late) * 100, 1)}-${fmt(Math.max(...late) * 100, 1)}% (median ${fmt(median(late) * 100, 1)}%), found ${found}/${lookups}, reach ${fmt(churn.reachFraction(), 2)}`
  );
} finally {
  await churn.destroy();
}
