import { SimTestnet } from '../lib/testing/testnet.js';
import { compareDistance } from '../lib/id/node-id.js';
import { toHex } from '../lib/util/bytes.js';
import { seededRandom } from '../lib/util/random.js';
const n = Number(process.argv[2] ?? 2000);
const net = await SimTestnet.create({ size: n, seed: 7, latencyMs: 20, jitterMs: 20 });
const rnd = seededRandom(99);
let hits = 0,
  total = 0,
  q = 0;
for (let t = 0; t < 20; t++) {
  const target = rnd.bytes(20);
  const truth = net.nodes
    .map((d) => d.nodeId)
    .sort((a, b) => compareDistance(target, a, b))
    .slice(0, 8)
    .map(toHex);
  const r = await net.run(net.nodes[rnd.int(n)]!.findNode(target));
  const got = r.closest.map((c) => toHex(c.node.id));
  const h = got.filter((g) => truth.includes(g)).length;
  hits += h;
  total += 8;
  q += r.queries;
  if (t < 3) {
    console.log('recall', h, 'queries', r.queries, 'resp', r.responses, 'fail', r.failures, 'hops', r.hops);
    // do the true closest know each other?
    const tn = net.nodes.filter((d) => truth.includes(toHex(d.nodeId)));
    console.log(
      ' truth table sizes',
      tn.map((d) => d.stats().nodes),
      'known-of-truth',
      tn.map((d) => d.nodes().filter((x) => truth.includes(toHex(x.id))).length)
    );
  }
}
console.log('recall', hits / total, 'avg queries', q / 20);
await net.destroy();
