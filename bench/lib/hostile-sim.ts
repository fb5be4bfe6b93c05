/**
 * Hostile-network scenarios on the simulated network, in virtual time (issue 8): a Sybil cloud
 * around an infohash, a network where 40% of the nodes are dead, and 30% of the nodes leaving
 * at once during lookups. Shared by the benchmark (bench/dht-hostile.ts, full size) and the
 * tests (test/sim/hostile-sim.test.ts, smaller runs with asserted bounds).
 */
import { SimTestnet } from '../../lib/testing/testnet.js';
import type { DhtOptions } from '../../lib/dht/options.js';
import type { DHT } from '../../lib/dht/dht.js';
import type { Address } from '../../lib/net/address.js';
import { seededRandom, type RandomSource } from '../../lib/util/random.js';
import { SybilCloud } from './sybil-cloud.js';
import { bytesEqual } from '../../lib/util/bytes.js';

export type NodeOptions = Omit<DhtOptions, 'transport' | 'clock' | 'bootstrap'>;

/**
 * One-way delay between two simulated hosts: each host has an access delay drawn once in
 * [10, 150] ms (from a hash of its address), and a path costs the mean of both ends. Round
 * trips then spread over 20-300 ms like the real DHT's, and a node stays slow or fast.
 */
export function accessLatency(from: Address, to: Address): number {
  return (hostDelay(from.host) + hostDelay(to.host)) / 2;
}

/** Addresses in 66/8 are the attacker's: a well-connected server answering in a few ms. */
function hostDelay(host: string): number {
  if (host.startsWith('66.')) return 2;
  let h = 0x811c9dc5;
  for (let i = 0; i < host.length; i++) h = Math.imul(h ^ host.charCodeAt(i), 0x01000193);
  return 10 + ((h >>> 0) % 141);
}

interface LookupFigures {
  found: boolean;
  /** Virtual ms from the start of the lookup to the first peer (null if none). */
  firstPeerMs: number | null;
  durationMs: number;
  queries: number;
  failures: number;
}

/** A get_peers lookup from `node` timed in virtual time, with its first peer's arrival. */
async function timedLookup(
  net: SimTestnet,
  node: DHT,
  infoHash: Uint8Array,
  expect: Address
): Promise<LookupFigures> {
  const start = net.network.clock.now();
  let firstPeerMs: number | null = null;
  let found = false;
  const onPeer = (p: Address, ih: Uint8Array): void => {
    if (!bytesEqual(ih, infoHash)) return;
    if (firstPeerMs === null) firstPeerMs = net.network.clock.now() - start;
    if (p.host === expect.host && p.port === expect.port) found = true;
  };
  node.on('peer', onPeer);
  try {
    const { lookup } = await node.getPeers(infoHash);
    return {
      found,
      firstPeerMs,
      durationMs: lookup.durationMs,
      queries: lookup.queries,
      failures: lookup.failures
    };
  } finally {
    node.off('peer', onPeer);
  }
}

// ---- Sybil --------------------------------------------------------------------------------

export interface SybilOptions {
  size: number;
  seed: number;
  /** Infohashes attacked, one cloud each. */
  targets: number;
  /** Fresh nodes that join and look each target up. */
  lookupsPerTarget: number;
  sybils: number;
  sharedBits: number;
  node?: NodeOptions;
}

export interface SybilResult {
  lookups: number;
  found: number;
  foundRate: number;
  /** Fresh lookups that queried at least one Sybil. */
  metSybils: number;
  medianQueries: number;
  /** Honest routing tables holding at least one Sybil when the lookups start. */
  tablesWithSybils: number;
}

export async function runSybil(opts: SybilOptions): Promise<SybilResult> {
  const net = await SimTestnet.create({
    size: opts.size,
    seed: opts.seed,
    latencyMs: accessLatency,
    ...(opts.node ? { node: opts.node } : {})
  });
  const rnd = seededRandom(opts.seed * 31 + 7);
  // The network's own nodes: the fresh ones added below join net.nodes and are destroyed after
  // their lookup, so they must never be picked as announcer or bootstrap node.
  const members = [...net.nodes];
  let lookups = 0;
  let found = 0;
  let metSybils = 0;
  let tablesWithSybils = 0;
  const queries: number[] = [];
  try {
    for (let t = 0; t < opts.targets; t++) {
      const x = rnd.bytes(20);
      const announcer = members[rnd.int(members.length)]!;
      const peer = { host: announcer.address().host, port: 20_000 + t };
      await net.run(announcer.announce(x, peer.port), 120_000);
      // The cloud: `sybils` ports on one address outside the honest ranges.
      const attackerHost = `66.${t}.0.1`;
      const cloud = new SybilCloud({
        transports: Array.from({ length: opts.sybils }, (_, i) =>
          net.network.createTransport(attackerHost, 1000 + i)
        ),
        target: x,
        sharedBits: opts.sharedBits,
        random: rnd
      });
      const honest = members.map((n) => n.address());
      await net.run(cloud.pingAll(honest, net.network.clock, 30_000), 120_000);
      await net.network.runFor(30_000);
      tablesWithSybils += members.filter((n) => n.nodes().some((c) => c.host === attackerHost)).length;
      for (let i = 0; i < opts.lookupsPerTarget; i += 10) {
        const batch = Array.from({ length: Math.min(10, opts.lookupsPerTarget - i) }, async () => {
          const entry = net.addNode([honest[rnd.int(honest.length)]!], rnd.int(2 ** 30), opts.node);
          const fresh = entry.dht;
          try {
            await fresh.ready;
            const before = cloud.answered;
            const r = await timedLookup(net, fresh, x, peer);
            lookups++;
            if (r.found) found++;
            if (cloud.answered > before) metSybils++;
            queries.push(r.queries);
          } finally {
            await fresh.destroy();
          }
        });
        await net.run(Promise.all(batch), 600_000);
      }
      await cloud.close();
    }
  } finally {
    await net.destroy();
  }
  queries.sort((a, b) => a - b);
  return {
    lookups,
    found,
    foundRate: lookups ? found / lookups : 0,
    metSybils,
    medianQueries: queries[Math.floor(queries.length / 2)] ?? 0,
    tablesWithSybils: tablesWithSybils / Math.max(1, opts.targets)
  };
}

// ---- dead nodes ---------------------------------------------------------------------------

export interface DeadOptions {
  size: number;
  seed: number;
  /** Fraction of nodes that stop answering. */
  deadFraction: number;
  lookups: number;
  node?: NodeOptions;
}

export interface PhaseFigures {
  lookups: number;
  found: number;
  firstPeerMs: number[];
  durationMs: number[];
  queries: number[];
  failures: number[];
}

export interface DeadResult {
  clean: PhaseFigures;
  dead: PhaseFigures;
}

/** Announce `n` infohashes from live nodes, then look each up from another live node. */
async function lookupPhase(
  net: SimTestnet,
  live: DHT[],
  n: number,
  rnd: RandomSource
): Promise<PhaseFigures> {
  const out: PhaseFigures = {
    lookups: 0,
    found: 0,
    firstPeerMs: [],
    durationMs: [],
    queries: [],
    failures: []
  };
  for (let i = 0; i < n; i += 10) {
    const batch = Array.from({ length: Math.min(10, n - i) }, async (_, j) => {
      const ih = rnd.bytes(20);
      const announcer = live[rnd.int(live.length)]!;
      const seeker = live[rnd.int(live.length)]!;
      const peer = { host: announcer.address().host, port: 30_000 + i + j };
      await announcer.announce(ih, peer.port);
      const r = await timedLookup(net, seeker, ih, peer);
      out.lookups++;
      if (r.found) out.found++;
      if (r.firstPeerMs !== null) out.firstPeerMs.push(r.firstPeerMs);
      out.durationMs.push(r.durationMs);
      out.queries.push(r.queries);
      out.failures.push(r.failures);
    });
    await net.run(Promise.all(batch), 600_000);
  }
  return out;
}

export async function runDead(opts: DeadOptions): Promise<DeadResult> {
  const net = await SimTestnet.create({
    size: opts.size,
    seed: opts.seed,
    latencyMs: accessLatency,
    ...(opts.node ? { node: opts.node } : {})
  });
  const rnd = seededRandom(opts.seed * 17 + 3);
  try {
    const clean = await lookupPhase(net, net.nodes, opts.lookups, rnd);
    const order = shuffled(net.nodes.length, rnd);
    const deadCount = Math.floor(net.nodes.length * opts.deadFraction);
    const dead = new Set(order.slice(0, deadCount));
    await Promise.all([...dead].map((i) => net.nodes[i]!.destroy()));
    const live = net.nodes.filter((_, i) => !dead.has(i));
    const deadPhase = await lookupPhase(net, live, opts.lookups, rnd);
    return { clean, dead: deadPhase };
  } finally {
    await net.destroy();
  }
}

// ---- churn --------------------------------------------------------------------------------

export interface ChurnOptions {
  size: number;
  seed: number;
  /** Fraction of nodes leaving at once. */
  leaveFraction: number;
  lookups: number;
  /** Virtual minutes after the churn at which tables are inspected. */
  healMinutes: number[];
  node?: NodeOptions;
}

export interface ChurnResult {
  lookups: number;
  found: number;
  foundRate: number;
  /** Median survivor table size just before the churn. */
  tableBefore: number;
  /**
   * At each checkpoint: the fraction of survivors' table entries that point at departed nodes,
   * and the median number of live entries per survivor table (refilled by refreshes).
   */
  deadEntries: Array<{ minutes: number; fraction: number; liveMedian: number }>;
}

export async function runChurn(opts: ChurnOptions): Promise<ChurnResult> {
  const net = await SimTestnet.create({
    size: opts.size,
    seed: opts.seed,
    latencyMs: accessLatency,
    ...(opts.node ? { node: opts.node } : {})
  });
  const rnd = seededRandom(opts.seed * 13 + 5);
  try {
    const order = shuffled(net.nodes.length, rnd);
    const leaving = new Set(order.slice(0, Math.floor(net.nodes.length * opts.leaveFraction)));
    const survivors = net.nodes.filter((_, i) => !leaving.has(i));
    const gone = new Set([...leaving].map((i) => key(net.nodes[i]!.address())));
    const tableBefore = medianOf(survivors.map((s) => s.nodes().length));
    // Announced before the churn, from any node: the stored peers outlive their announcer.
    const items: Array<{ ih: Uint8Array; peer: Address }> = [];
    for (let i = 0; i < opts.lookups; i += 20) {
      const batch = Array.from({ length: Math.min(20, opts.lookups - i) }, async (_, j) => {
        const ih = rnd.bytes(20);
        const announcer = net.nodes[rnd.int(net.nodes.length)]!;
        const peer = { host: announcer.address().host, port: 40_000 + i + j };
        items.push({ ih, peer });
        await announcer.announce(ih, peer.port);
      });
      await net.run(Promise.all(batch), 600_000);
    }
    let found = 0;
    const lookups = items.map(async ({ ih, peer }) => {
      const seeker = survivors[rnd.int(survivors.length)]!;
      const r = await timedLookup(net, seeker, ih, peer);
      if (r.found) found++;
    });
    // Everyone leaves 100 virtual ms into the lookups.
    await net.network.runFor(100);
    await Promise.all([...leaving].map((i) => net.nodes[i]!.destroy()));
    await net.run(Promise.all(lookups), 600_000);
    const deadEntries: ChurnResult['deadEntries'] = [];
    let elapsed = 0;
    for (const minutes of opts.healMinutes) {
      await net.network.runFor((minutes - elapsed) * 60_000);
      elapsed = minutes;
      let total = 0;
      let stale = 0;
      const live: number[] = [];
      for (const s of survivors) {
        const entries = s.nodes();
        const dead = entries.filter((c) => gone.has(key(c))).length;
        total += entries.length;
        stale += dead;
        live.push(entries.length - dead);
      }
      deadEntries.push({ minutes, fraction: total ? stale / total : 0, liveMedian: medianOf(live) });
    }
    return {
      lookups: items.length,
      found,
      foundRate: items.length ? found / items.length : 0,
      tableBefore,
      deadEntries
    };
  } finally {
    await net.destroy();
  }
}

function shuffled(n: number, rnd: RandomSource): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rnd.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function key(a: Address): string {
  return `${a.host}:${a.port}`;
}
