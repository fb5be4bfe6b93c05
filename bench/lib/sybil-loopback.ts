/**
 * The Sybil scenario on real UDP sockets (issue 8, scenario 2), loopback only: honest nodes
 * each on their own address in a different /24 of 127/8, a cloud of `sybils` ports on one
 * address with ids sharing `sharedBits` bits with X, a peer stored for X, and fresh nodes that
 * join and look X up. The nodes run with `exempt: 'none'` so the per-address protections apply
 * on loopback as they would on the internet (`node` adds options, e.g. protections off).
 * BEP 42 does not help here (127/8 is exempt): this isolates IP diversity. Used by
 * test/loopback/dht-sybil.test.ts and bench/dht-sybil-loopback.ts.
 */
import { DHT } from '../../lib/dht/dht.js';
import type { DhtOptions } from '../../lib/dht/options.js';
import { createUdpTransport } from '../../lib/net/udp-transport.js';
import { systemClock } from '../../lib/util/clock.js';
import { seededRandom } from '../../lib/util/random.js';
import { SybilCloud } from './sybil-cloud.js';

export interface LoopbackSybilOptions {
  honest: number;
  sybils: number;
  lookups: number;
  sharedBits: number;
  seed: number;
  node?: Omit<DhtOptions, 'host' | 'port' | 'bootstrap'>;
}

export interface LoopbackSybilResult {
  lookups: number;
  found: number;
  metSybils: number;
  /** Honest tables holding at least one Sybil when the lookups start. */
  tablesWithSybils: number;
}

const SYBIL_HOST = '127.66.0.1';

export async function runLoopbackSybil(o: LoopbackSybilOptions): Promise<LoopbackSybilResult> {
  const rnd = seededRandom(o.seed);
  const base: Partial<DhtOptions> = { exempt: 'none', queryTimeoutMs: 1000, ...o.node };
  const nodes: DHT[] = [];
  let cloud: SybilCloud | null = null;
  try {
    const first = await DHT.create({ ...base, host: '127.10.0.1', port: 0, bootstrap: [] });
    nodes.push(first);
    const boot = [first.address()];
    for (let i = 1; i < o.honest; i += 10) {
      const batch = Array.from({ length: Math.min(10, o.honest - i) }, (_, j) =>
        DHT.create({ ...base, host: `127.${10 + i + j}.0.1`, port: 0, bootstrap: boot })
      );
      nodes.push(...(await Promise.all(batch)));
    }
    const x = rnd.bytes(20);
    const announcer = nodes[1 + rnd.int(nodes.length - 1)]!;
    await announcer.announce(x, 40_000);
    const peer = { host: announcer.address().host, port: 40_000 };
    cloud = new SybilCloud({
      transports: await Promise.all(
        Array.from({ length: o.sybils }, () => createUdpTransport({ host: SYBIL_HOST, port: 0 }))
      ),
      target: x,
      sharedBits: o.sharedBits,
      random: rnd
    });
    await cloud.pingAll(
      nodes.map((n) => n.address()),
      systemClock,
      2000
    );
    await new Promise((r) => setTimeout(r, 1500)); // let the honest nodes verify them
    const tablesWithSybils = nodes.filter((n) => n.nodes().some((c) => c.host === SYBIL_HOST)).length;
    let found = 0;
    let metSybils = 0;
    for (let j = 0; j < o.lookups; j++) {
      const fresh = await DHT.create({
        ...base,
        host: `127.${100 + (j % 100)}.${Math.floor(j / 100)}.1`,
        port: 0,
        bootstrap: [nodes[rnd.int(nodes.length)]!.address()]
      });
      try {
        const before = cloud.answered;
        const r = await fresh.getPeers(x);
        if (r.peers.some((p) => p.host === peer.host && p.port === peer.port)) found++;
        if (cloud.answered > before) metSybils++;
      } finally {
        await fresh.destroy();
      }
    }
    return { lookups: o.lookups, found, metSybils, tablesWithSybils };
  } finally {
    await cloud?.close();
    await Promise.all(nodes.map((n) => n.destroy()));
  }
}
