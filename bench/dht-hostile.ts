/**
 * Hostile-network scenarios on the simulated network (issue 8), ours only, in virtual time:
 *
 *   node dist/bench/dht-hostile.js [--scenario sybil,dead,churn] [--size 2000] [--seed 1]
 *       [--node-options '{"ipDiversity":false}']   # DHT options for every node (e.g. protections off)
 *
 *  - sybil: 100 ports on one IP with ids sharing 150 bits with an infohash X answer everything
 *    with each other and a token, never values; fresh nodes look X up (a peer is stored).
 *  - dead: get_peers time to first peer and to completion with RTTs of 20-300 ms, on the clean
 *    network and after 40% of the nodes went silent (the survivors' tables still list them).
 *  - churn: 30% of the nodes leave at once 100 ms into a batch of lookups; lookups that still
 *    find their peer, and the share of table entries pointing at departed nodes afterwards.
 *
 * Prints one table per scenario and a last line `BENCH_JSON {...}`.
 */
import { argvReader } from './lib/argv.js';
import { fmt, median, quantile, table } from './lib/stats.js';
import { runChurn, runDead, runSybil, type NodeOptions, type PhaseFigures } from './lib/hostile-sim.js';

const { value, num } = argvReader(process.argv.slice(2));
const scenarios = new Set((value('scenario') ?? 'sybil,dead,churn').split(','));
const size = num('size', 2000);
const seed = num('seed', 1);
const node = value('node-options') ? (JSON.parse(value('node-options')!) as NodeOptions) : undefined;
const out: Record<string, unknown> = { size, seed, node: node ?? null };
const log = (s: string): void => console.log(s);
const started = Date.now();

log(
  `hostile-network scenarios: ${size} simulated nodes, seed ${seed}, node options ${JSON.stringify(node ?? {})}`
);

if (scenarios.has('sybil')) {
  const r = await runSybil({
    size,
    seed,
    targets: num('targets', 3),
    lookupsPerTarget: num('lookups', 100),
    sybils: num('sybils', 100),
    sharedBits: num('shared-bits', 150),
    ...(node ? { node } : {})
  });
  out.sybil = r;
  log('\n== sybil: fresh nodes look up X next to a 100-port cloud on one IP ==');
  log(
    table(
      [
        'lookups',
        'found the peer',
        'met the cloud',
        'median queries',
        'honest tables holding a Sybil (per X)'
      ],
      [
        [
          `${r.lookups}`,
          `${r.found} (${fmt(r.foundRate * 100, 1)}%)`,
          `${r.metSybils}`,
          `${r.medianQueries}`,
          fmt(r.tablesWithSybils, 0)
        ]
      ]
    )
  );
}

const phaseRow = (name: string, p: PhaseFigures): string[] => [
  name,
  `${p.found}/${p.lookups}`,
  fmt(median(p.firstPeerMs), 0),
  fmt(quantile(p.firstPeerMs, 0.9), 0),
  fmt(median(p.durationMs), 0),
  fmt(quantile(p.durationMs, 0.9), 0),
  fmt(median(p.queries), 0),
  fmt(median(p.failures), 0)
];

if (scenarios.has('dead')) {
  const r = await runDead({
    size,
    seed,
    deadFraction: 0.4,
    lookups: num('dead-lookups', 100),
    ...(node ? { node } : {})
  });
  out.dead = {
    clean: summarize(r.clean),
    dead: summarize(r.dead),
    firstPeerRatio: median(r.dead.firstPeerMs) / median(r.clean.firstPeerMs),
    completionRatio: median(r.dead.durationMs) / median(r.clean.durationMs)
  };
  log('\n== dead: get_peers with RTT 20-300 ms, clean vs 40% of nodes silent (virtual ms) ==');
  log(
    table(
      ['network', 'found', 'first peer p50', 'p90', 'complete p50', 'p90', 'queries p50', 'timeouts p50'],
      [phaseRow('clean', r.clean), phaseRow('40% dead', r.dead)]
    )
  );
  log(
    `ratios dead/clean: first peer ${fmt(median(r.dead.firstPeerMs) / median(r.clean.firstPeerMs))}x, completion ${fmt(median(r.dead.durationMs) / median(r.clean.durationMs))}x`
  );
}

if (scenarios.has('churn')) {
  const r = await runChurn({
    size,
    seed,
    leaveFraction: 0.3,
    lookups: num('churn-lookups', 200),
    healMinutes: [0, 5, 15, 30],
    ...(node ? { node } : {})
  });
  out.churn = r;
  log('\n== churn: 30% leave at once during lookups ==');
  log(`lookups that found their peer: ${r.found}/${r.lookups} (${fmt(r.foundRate * 100, 1)}%)`);
  log(`median survivor table before the churn: ${r.tableBefore} nodes`);
  log(
    table(
      ['minutes after', 'table entries pointing at departed nodes', 'live entries per table (median)'],
      r.deadEntries.map((d) => [`${d.minutes}`, `${fmt(d.fraction * 100, 1)}%`, `${d.liveMedian}`])
    )
  );
}

log(`\nreal time ${fmt((Date.now() - started) / 1000, 0)} s`);
log(`BENCH_JSON ${JSON.stringify(out)}`);

function summarize(p: PhaseFigures): Record<string, number> {
  return {
    lookups: p.lookups,
    found: p.found,
    firstPeerP50: median(p.firstPeerMs),
    firstPeerP90: quantile(p.firstPeerMs, 0.9),
    completeP50: median(p.durationMs),
    completeP90: quantile(p.durationMs, 0.9),
    queriesP50: median(p.queries),
    timeoutsP50: median(p.failures)
  };
}
