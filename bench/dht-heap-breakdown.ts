/**
 * What one idle DHT node keeps on the heap, object by object (the fixed part per node in
 * docs/benchmarks.md). Starts `--nodes` nodes on 127.0.0.1 (bootstrap []) as warm-up, so code
 * compiled and shapes made by the first nodes are not counted, takes a heap snapshot, starts
 * `--nodes` more, takes another, and prints the self sizes of the objects new in the second
 * (by snapshot id) per node, grouped by type, constructor and what holds them: the first
 * retaining edge, e.g. `object RpcSocket <- NodeCore.rpc` (two levels for arrays, closures,
 * contexts and plain objects, whose own names say little). Node's native objects (type
 * `native`, outside the V8 heap, their ids not stable between snapshots) are left out.
 *
 * Run in a private network namespace, single-threaded so that no background compilation lands
 * between the snapshots:
 *   unshare --net -- bash -c 'ip link set lo up; node --expose-gc --single-threaded dist/bench/dht-heap-breakdown.js --nodes 100'
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
const top = arg('top', 50);
const gc = getGc();

interface Snapshot {
  snapshot: {
    meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** A parsed snapshot with what the grouping needs: labels, ids, sizes, first retainers. */
class Heap {
  readonly count: number;
  private readonly nf: number;
  private readonly f: Record<'type' | 'name' | 'id' | 'self_size', number>;
  /** Per node: the node that first retains it, and the edge's name (-1: none found). */
  private readonly retainer: Int32Array;
  private readonly retainerEdge: string[];

  constructor(private readonly snap: Snapshot) {
    const meta = snap.snapshot.meta;
    this.nf = meta.node_fields.length;
    this.count = snap.nodes.length / this.nf;
    const at = (k: string): number => meta.node_fields.indexOf(k);
    this.f = { type: at('type'), name: at('name'), id: at('id'), self_size: at('self_size') };
    const edgeCount = at('edge_count');
    const ef = meta.edge_fields.length;
    const [et, en, eto] = ['type', 'name_or_index', 'to_node'].map((k) => meta.edge_fields.indexOf(k)) as [
      number,
      number,
      number
    ];
    const edgeTypes = meta.edge_types[0];
    this.retainer = new Int32Array(this.count).fill(-1);
    this.retainerEdge = new Array<string>(this.count);
    let e = 0;
    for (let i = 0; i < this.count; i++) {
      const end = e + snap.nodes[i * this.nf + edgeCount]! * ef;
      for (; e < end; e += ef) {
        const type = edgeTypes[snap.edges[e + et]!]!;
        if (type === 'weak') continue;
        const to = snap.edges[e + eto]! / this.nf;
        if (this.retainer[to] !== -1) continue;
        this.retainer[to] = i;
        const n = snap.edges[e + en]!;
        this.retainerEdge[to] = type === 'element' || type === 'hidden' ? `[${n}]` : snap.strings[n]!;
      }
    }
  }

  type(i: number): string {
    return this.snap.snapshot.meta.node_types[0][this.snap.nodes[i * this.nf + this.f.type]!]!;
  }

  id(i: number): number {
    return this.snap.nodes[i * this.nf + this.f.id]!;
  }

  size(i: number): number {
    return this.snap.nodes[i * this.nf + this.f.self_size]!;
  }

  label(i: number): string {
    const type = this.type(i);
    if (type.includes('string') || type === 'number' || type === 'code') return type;
    return `${type} ${this.snap.strings[this.snap.nodes[i * this.nf + this.f.name]!]!.slice(0, 40)}`;
  }

  /** `label <- holder.edge`, two holders deep for objects whose own label says little. */
  key(i: number): string {
    const label = this.label(i);
    const vague = /^(array|closure|number|string|object (Object|Array|system \/ Context))/.test(label);
    let key = label;
    let at = i;
    for (let depth = vague ? 2 : 1; depth > 0 && this.retainer[at]! >= 0; depth--) {
      const holder = this.retainer[at]!;
      key += ` <- ${this.label(holder)}.${this.retainerEdge[at]}`;
      at = holder;
    }
    return key;
  }
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
  const before = new Heap(JSON.parse(await readFile(fileA, 'utf8')) as Snapshot);
  const seen = new Set<number>();
  for (let i = 0; i < before.count; i++) seen.add(before.id(i));
  const after = new Heap(JSON.parse(await readFile(fileB, 'utf8')) as Snapshot);
  const groups = new Map<string, [number, number]>();
  for (let i = 0; i < after.count; i++) {
    const type = after.type(i);
    if (seen.has(after.id(i)) || type === 'native' || type === 'synthetic') continue;
    const key = after.key(i);
    const g = groups.get(key) ?? [0, 0];
    g[0]++;
    g[1] += after.size(i);
    groups.set(key, g);
  }
  const rows = [...groups].map(([key, [count, bytes]]) => ({
    key,
    count: count / nodes,
    bytes: bytes / nodes
  }));
  rows.sort((a, b) => b.bytes - a.bytes);
  const total = rows.reduce((sum, r) => sum + r.bytes, 0);
  console.log(
    `${nodes} idle nodes: ${Math.round(total)} B per node (self sizes of new objects in the heap snapshot)`
  );
  for (const r of rows.slice(0, top))
    console.log(`${r.bytes.toFixed(0).padStart(6)} B ${r.count.toFixed(2).padStart(5)} x  ${r.key}`);
  for (const d of [...warm, ...measured]) await d.destroy();
} finally {
  await rm(dir, { recursive: true, force: true });
}
