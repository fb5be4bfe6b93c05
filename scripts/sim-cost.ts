import { SimTestnet } from '../lib/testing/testnet.js';
const n = Number(process.argv[2] ?? 1000);
const t0 = Date.now();
const net = await SimTestnet.create({ size: n, seed: 7, latencyMs: 20, jitterMs: 20, settleMs: 0 });
const joinSent = net.network.sent;
console.log(
  'built',
  n,
  'real ms',
  Date.now() - t0,
  'datagrams',
  joinSent,
  'per node',
  (joinSent / n).toFixed(1)
);
const q = net.nodes.reduce((s, d) => s + Object.values(d.stats().queriesOut).reduce((a, b) => a + b, 0), 0);
console.log('queries per node', (q / n).toFixed(1));

const byType: Record<string, number> = {};
for (const d of net.nodes)
  for (const [k, v] of Object.entries(d.stats().queriesOut)) byType[k] = (byType[k] ?? 0) + v;
console.log(Object.fromEntries(Object.entries(byType).map(([k, v]) => [k, (v / n).toFixed(1)])));
await net.destroy();
