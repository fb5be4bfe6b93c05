/**
 * What one idle DHT node keeps on the heap, by constructor (the fixed part per node in
 * docs/benchmarks.md). Starts `--nodes` nodes on 127.0.0.1 (bootstrap []) as warm-up, so code
 * compiled and shapes made by the first nodes are not counted, takes a heap snapshot, starts
 * `--nodes` more, takes another, and prints the growth per node of the self sizes, grouped by
 * (type, constructor name). (Totals per group, not object ids: the ids of Node's native objects
 * are not stable between snapshots.)
 *
 * Run in a private network namespace:
 *   unshare --net -- bash -c 'ip link set lo up; node --expose-gc dist/bench/dht-heap-breakdown.js --nodes 100'
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { DHT } from '../lib/index.js';
import { getGc } from './lib/gc.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const nodes = arg('nodes', 100);
const top = arg('top', 40);
const gc = getGc();

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** (type name) -> [count, self bytes] of every object in `snap`. */
function tally(snap: Snapshot): Map<string, [number, number]> {
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const nf = fields.length;
  const [ti, ni, si] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number
  ];
  const out = new Map<string, [number, number]>();
  for (let i = 0; i < snap.nodes.length; i += nf) {
    const type = types[snap.nodes[i + ti]!]!;
    const name =
      type.includes('string') || type === 'number' || type === 'code'
        ? ''
        : snap.strings[snap.nodes[i + ni]!]!;
    const key = `${type} ${name.slice(0, 50)}`;
    const e = out.get(key) ?? [0, 0];
    e[0]++;
    e[1] += snap.nodes[i + si]!;
    out.set(key, e);
  }
  return out;
}

async function start(count: number): Promise<DHT[]> {
  const out: DHT[] = [];
  for (let i = 0; i < count; i++) {
    const dht = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [] });
    dht.on('warning', () => {});
    out.push(dht);
  }
  return out;
}

const dir = await mkdtemp(join(tmpdir(), 'heap-breakdown-'));
try {
  const warm = await start(nodes);
  for (let i = 0; i < 4; i++) gc();
  // Both snapshots are read only once taken: a parsed one would be on the heap the next sees.
  const fileA = v8.writeHeapSnapshot(join(dir, 'a.heapsnapshot'));
  const measured = await start(nodes);
  for (let i = 0; i < 4; i++) gc();
  const fileB = v8.writeHeapSnapshot(join(dir, 'b.heapsnapshot'));
  const before = tally(JSON.parse(await readFile(fileA, 'utf8')) as Snapshot);
  const after = tally(JSON.parse(await readFile(fileB, 'utf8')) as Snapshot);
  const rows = [...after].map(([key, [count, bytes]]) => {
    const [count0, bytes0] = before.get(key) ?? [0, 0];
    return { key, count: (count - count0) / nodes, bytes: (bytes - bytes0) / nodes };
  });
  rows.sort((a, b) => b.bytes - a.bytes);
  const total = rows.reduce((sum, r) => sum + r.bytes, 0);
  console.log(`${nodes} idle nodes: ${Math.round(total)} B per node (self sizes in the heap snapshot)`);
  for (const r of rows.slice(0, top))
    console.log(`${r.bytes.toFixed(0).padStart(7)} B ${r.count.toFixed(2).padStart(6)} x  ${r.key}`);
  for (const d of [...warm, ...measured]) await d.destroy();
} finally {
  await rm(dir, { recursive: true, force: true });
}
