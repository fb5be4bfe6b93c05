/**
 * The Sybil scenario on loopback UDP, protections on vs off (issue 8, scenario 2). Run it in a
 * private network namespace:
 *
 *   unshare --net -- bash -c 'ip link set lo up; node dist/bench/dht-sybil-loopback.js \
 *       [--honest 40] [--sybils 100] [--lookups 60] [--reps 2]'
 *
 * `off` = IP diversity off (BEP 42 exempts 127/8 anyway): the state before issue 8.
 */
import { argvReader } from './lib/argv.js';
import { fmt, table } from './lib/stats.js';
import { runLoopbackSybil, type LoopbackSybilResult } from './lib/sybil-loopback.js';

const { num } = argvReader(process.argv.slice(2));
const honest = num('honest', 40);
const sybils = num('sybils', 100);
const lookups = num('lookups', 60);
const reps = num('reps', 2);
const results: Record<'on' | 'off', LoopbackSybilResult[]> = { on: [], off: [] };
for (let rep = 0; rep < reps; rep++) {
  for (const mode of rep % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
    const r = await runLoopbackSybil({
      honest,
      sybils,
      lookups,
      sharedBits: 150,
      seed: 10 + rep,
      ...(mode === 'off' ? { node: { ipDiversity: false } } : {})
    });
    results[mode].push(r);
    console.log(`rep ${rep + 1} ${mode}: ${JSON.stringify(r)}`);
  }
}
const sum = (rs: LoopbackSybilResult[], f: (r: LoopbackSybilResult) => number): number =>
  rs.reduce((s, r) => s + f(r), 0);
console.log(
  `\nSybil on loopback: ${honest} honest nodes, ${sybils} Sybil ports on one address, ${reps} x ${lookups} fresh lookups`
);
console.log(
  table(
    ['protections', 'found the peer', 'honest tables holding a Sybil (mean)'],
    (['off', 'on'] as const).map((m) => {
      const n = sum(results[m], (r) => r.lookups);
      const f = sum(results[m], (r) => r.found);
      return [
        m,
        `${f}/${n} (${fmt((f / n) * 100, 1)}%)`,
        fmt(sum(results[m], (r) => r.tablesWithSybils) / reps, 1)
      ];
    })
  )
);
console.log(`BENCH_JSON ${JSON.stringify({ honest, sybils, lookups, reps, results })}`);
