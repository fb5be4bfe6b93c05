/**
 * Routing-table hot paths, per call, ours only (no network): what a node spends on each
 * find_node / get_peers reply it serves and on each answer it receives.
 *
 *   node dist/bench/routing-micro.js [--entries 160] [--reps 5] [--ms 200]
 *
 * One table of `--entries` constructed contacts (8 per bucket, as the serve scenario's), then
 * `--reps` rounds; each round times every operation in turn (interleaved, so load drifts hit
 * them alike) for about `--ms` ms of CPU after a warm-up, and the medians over rounds are
 * printed as one JSON line (ns of CPU per call, process.cpuUsage: user + system):
 * - closest: `closest(target, 8, isNotBad)`, what a reply's nodes are (random targets);
 * - encode: writeResponse of a find_node reply of those 8 contacts (nodes chosen beforehand);
 * - reply: both, as the server does them;
 * - get: `get(id)` of an id in the table (a fresh copy, as a decoded message's id is);
 * - seen: `nodeSeen` of a known node (every answer we receive);
 * - handout: plain NodeInfos of those 8 contacts, as `nodes()` and a lookup's seeds hand
 *   them out (each contact's id, host and port).
 * It uses only the table's public API (its owner passed both ways the table has taken it), so
 * the same file runs against earlier trees: compare trees by alternating whole runs.
 */
import {
  RoutingTable,
  isNotBad,
  type Contact,
  type RoutingTableOptions
} from '../lib/routing/routing-table.js';
import { writeResponse } from '../lib/krpc/response-writer.js';
import { seededRandom } from '../lib/util/random.js';
import { randomId } from '../lib/id/node-id.js';
import { constructedContacts } from './lib/contacts.js';
import { argvReader } from './lib/argv.js';
import { median, round } from './lib/stats.js';

const { num } = argvReader(process.argv.slice(2));
const entries = num('entries', 160);
const reps = num('reps', 5);
const msPerOp = num('ms', 200);
/** Calls per timed batch; batches repeat until the op has used `msPerOp` of CPU (bounded). */
const BATCH = 2000;
const MAX_BATCHES = 10_000;
const TARGETS = 256;

const rnd = seededRandom(1);
const localId = randomId(rnd);
const now = (): number => 1_000;
// Two generations of the constructor: `owner` now, a `now` closure before e97bdf7.
const table = new RoutingTable({ localId, owner: { now }, now } as unknown as RoutingTableOptions);
const contacts = constructedContacts(localId, entries, rnd);
for (const c of contacts) table.nodeSeen({ id: c.id, host: c.host, port: c.port });
if (table.size() !== entries) throw new Error(`table holds ${table.size()} of ${entries} contacts`);

const targets = Array.from({ length: TARGETS }, () => randomId(rnd));
const known = contacts.map((c) => ({ id: c.id.slice(), host: c.host, port: c.port }));
const replies: Contact[][] = targets.map((t) => table.closest(t, 8, isNotBad));
const tid = new Uint8Array([1, 2]);
let sink = 0;

const ops: Record<string, (i: number) => void> = {
  closest: (i) => {
    sink += table.closest(targets[i % TARGETS]!, 8, isNotBad).length;
  },
  encode: (i) => {
    sink += writeResponse(tid, { id: localId, nodes: replies[i % TARGETS]! }).length;
  },
  reply: (i) => {
    const nodes = table.closest(targets[i % TARGETS]!, 8, isNotBad);
    sink += writeResponse(tid, { id: localId, nodes }).length;
  },
  get: (i) => {
    sink += table.get(known[i % entries]!.id) ? 1 : 0;
  },
  seen: (i) => {
    sink += table.nodeSeen(known[i % entries]!).kind.length;
  },
  handout: (i) => {
    sink += replies[i % TARGETS]!.map((c) => ({ id: c.id, host: c.host, port: c.port })).length;
  }
};

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** ns of CPU per call of `op`, over batches until `ms` of CPU is used. */
function time(op: (i: number) => void, ms: number): number {
  let calls = 0;
  const start = cpuNs();
  let used = 0;
  for (let b = 0; b < MAX_BATCHES && used < ms * 1e6; b++) {
    for (let i = 0; i < BATCH; i++) op(calls + i);
    calls += BATCH;
    used = cpuNs() - start;
  }
  return used / calls;
}

for (const op of Object.values(ops)) time(op, msPerOp); // warm-up: every op compiled first
const samples: Record<string, number[]> = {};
for (let r = 0; r < reps; r++) {
  for (const [name, op] of Object.entries(ops)) (samples[name] ??= []).push(time(op, msPerOp));
}
const out: Record<string, number> = {};
for (const [name, v] of Object.entries(samples)) out[name] = round(median(v), 1);
console.log(JSON.stringify({ entries, reps, ns: out, spread: spreadOf(samples), sink: sink > 0 }));

function spreadOf(s: Record<string, number[]>): Record<string, [number, number]> {
  const o: Record<string, [number, number]> = {};
  for (const [name, v] of Object.entries(s)) o[name] = [round(Math.min(...v), 1), round(Math.max(...v), 1)];
  return o;
}
