import { SimTestnet } from '../lib/testing/testnet.js';
const n = Number(process.argv[2] ?? 200);
const t0 = Date.now();
const net = await SimTestnet.create({ size: n, seed: 7, latencyMs: 20, jitterMs: 20 });
console.log('built', n, 'in', Date.now() - t0, 'ms real; virtual', net.network.clock.now());
const sizes = net.nodes.map((d) => d.stats().nodes).sort((a, b) => a - b);
console.log(
  'table sizes p10/p50/p90',
  sizes[Math.floor(n * 0.1)],
  sizes[Math.floor(n / 2)],
  sizes[Math.floor(n * 0.9)]
);
const ih = new Uint8Array(20).fill(7);
const a = await net.run(net.nodes[5]!.announce(ih, 1234));
console.log('announce', a.storedOn, a.targets, a.queries, 'hops', a.lookup.hops);
const g = await net.run(net.nodes[n - 3]!.getPeers(ih));
console.log('getPeers', g.peers, g.lookup.queries, 'hops', g.lookup.hops);
await net.destroy();
console.log('total real', Date.now() - t0);
