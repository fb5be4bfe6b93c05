/**
 * `npm run demo:dht`, the DHT-only demo (`npm run demo` is the swarm demo): a private DHT of
 * our own nodes on 127.0.0.1 (real UDP sockets, port 0), offline. One node announces a random
 * infohash, another one finds it; the figures of both lookups and of the whole network are
 * printed. Exits 0 when the peer was found.
 *
 *   node dist/examples/dht-demo.js [nodes]      (default 50, at most 500)
 *
 * Nothing leaves the machine: every socket is bound to 127.0.0.1 and node 0 is started with
 * `bootstrap: []`, every other node bootstraps from node 0 only.
 */
import { randomBytes } from 'node:crypto';
import { DHT, formatAddress, toHex, type DhtStats } from '../lib/index.js';

const HOST = '127.0.0.1';
/** Nodes joining at once: the network grows in waves, like a real one. */
const JOIN_BATCH = 10;
/** The TCP port we announce. Nothing has to listen on it: the DHT only stores the address. */
const ANNOUNCED_PORT = 6881;
/** The whole demo must finish well within this, ms (it takes about a second). */
const WATCHDOG_MS = 30_000;

const size = Math.min(500, Math.max(3, Number(process.argv[2] ?? 50) || 50));
const t0 = performance.now();
const elapsed = (since = t0): string => `${Math.round(performance.now() - since)} ms`;
const watchdog = setTimeout(() => {
  console.error(`demo: still running after ${WATCHDOG_MS / 1000} s, giving up`);
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

console.log(`trackerless demo: ${size} DHT nodes on ${HOST} (real UDP, loopback only, offline)\n`);

const nodes: DHT[] = [];
let ok = false;
try {
  // 1. Build the network: node 0 alone, then waves of nodes bootstrapping from node 0.
  nodes.push(await DHT.create({ host: HOST, port: 0, bootstrap: [] }));
  const entry = formatAddress(nodes[0]!.address());
  for (let i = 1; i < size; i += JOIN_BATCH) {
    const wave = Array.from({ length: Math.min(JOIN_BATCH, size - i) }, () =>
      DHT.create({ host: HOST, port: 0, bootstrap: [entry] })
    );
    nodes.push(...(await Promise.all(wave)));
  }
  await new Promise((resolve) => setTimeout(resolve, 200)); // let queriers' verification pings land
  const tables = nodes.map((n) => n.stats().nodes).sort((a, b) => a - b);
  console.log(`joined ${size} nodes via ${entry} in ${elapsed()}`);
  console.log(
    `routing tables: min ${tables[0]} / median ${tables[tables.length >> 1]} / max ${tables[tables.length - 1]} nodes\n`
  );

  // 2. One node announces a random infohash.
  const infoHash = toHex(randomBytes(20));
  const announcer = nodes[1 + Math.floor(Math.random() * (size - 1))]!;
  let finder = announcer;
  while (finder === announcer || finder === nodes[0]) finder = nodes[Math.floor(Math.random() * size)]!;
  console.log(`infohash ${infoHash}`);
  let t = performance.now();
  const a = await announcer.announce(infoHash, ANNOUNCED_PORT);
  console.log(
    `announce from ${formatAddress(announcer.address())}: stored on ${a.storedOn} of ${a.targets} closest nodes ` +
      `(${a.queries} queries, ${a.lookup.hops} hops, ${elapsed(t)})`
  );

  // 3. Another node looks it up.
  t = performance.now();
  let firstPeerAt = '';
  finder.once('peer', () => (firstPeerAt = elapsed(t)));
  const found = await finder.getPeers(infoHash);
  const peers = found.peers.map(formatAddress);
  console.log(
    `lookup   from ${formatAddress(finder.address())}: found ${peers.join(', ') || 'nothing'}` +
      `${firstPeerAt ? ` after ${firstPeerAt}` : ''} ` +
      `(${found.lookup.queries} queries, ${found.lookup.hops} hops, converged in ${elapsed(t)})\n`
  );
  ok = peers.includes(`${HOST}:${ANNOUNCED_PORT}`);

  // 4. Summary over the whole network.
  const all = nodes.map((n) => n.stats());
  const sum = (f: (s: DhtStats) => number): number => all.reduce((acc, s) => acc + f(s), 0);
  const queries = sum((s) => Object.values(s.queriesOut).reduce((x, y) => x + y, 0));
  console.log(
    `summary: ${size} nodes, ${queries} queries sent, ${sum((s) => s.repliesSent)} replies, ` +
      `${sum((s) => s.timeouts)} timeouts, ${(sum((s) => s.bytesOut) / 1024).toFixed(1)} KiB sent, ` +
      `peer stored on ${all.filter((s) => s.storedPeers > 0).length} nodes`
  );
  // The CPU as well as the time: on a busy machine the time is mostly waiting for a core.
  const cpu = process.cpuUsage();
  const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
  console.log(
    ok
      ? `ok: the announced peer was found, ${elapsed()} in all (${cpuMs} ms of CPU)`
      : 'FAILED: the announced peer was not found'
  );
} finally {
  await Promise.all(nodes.map((n) => n.destroy()));
  clearTimeout(watchdog);
}
process.exitCode = ok ? 0 : 1;
