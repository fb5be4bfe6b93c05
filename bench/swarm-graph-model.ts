/**
 * An in-memory model of a swarm's peer graph under churn, built by one of four discovery
 * schemes, then measured (connectivity, diameter, spectral gap) and used to distribute a file.
 * Reproducible from a seed: every random choice comes from one seeded source.
 *
 * Time runs in one-minute ticks (PEX's send interval, BEP 11). One seed stays for the whole
 * run. Peers arrive at a steady rate until the swarm holds `peers`, then each leaves with
 * probability `churnPerMinute` every minute and as many newcomers arrive on average (mean
 * session 1/churn minutes). Every peer keeps at most `maxConnections` connections and dials at
 * most `dialsPerMinute` candidates a minute, picked at random from what discovery gave it. A
 * dial to a departed peer fails and the address is forgotten; a full peer refuses (the address
 * stays a candidate), except that it makes room for a peer with no connection at all by
 * closing a random connection at least two minutes old (as libtorrent's peer turnover does).
 *
 * Discovery schemes:
 * - tracker: on arrival and every 30 min, `trackerPeers` (50) live peers chosen uniformly.
 * - dht: get_peers on arrival and every 5 min answers up to `dhtValues` (100) peers chosen
 *   uniformly from the announces stored in the last 30 min (a peer announces on arrival and
 *   every 15 min); departed peers stay listed until their announce expires (BEP 5 stores).
 * - pex: a newcomer knows one peer already in the swarm (a magnet link's x.pe hint: the seed
 *   or a peer with a connection) and dials it; after that
 *   only PEX: each minute every peer tells each neighbour the connections it opened since its
 *   last message (a new neighbour gets its whole list, at most 50: BEP 11's cap).
 * - pex+walk: pex, plus the engine's random walk, through the very functions the engine calls
 *   (lib/engine/peers/walk-policy.ts, with DEFAULT_RANDOM_WALK's interval and least age): once
 *   a minute ask a random neighbour for a random neighbour (a peer from that neighbour's PEX
 *   list); below the cap dial it; at the cap (only through a neighbour connected at least two
 *   minutes) dial it first and close the neighbour walked through only if that dial connected.
 *   A full peer accepts up to two incoming connections over its cap, then closes connections
 *   it can spare (another neighbour names the peer, which names at least three) until back
 *   at the cap. A step does not redial the last 64 neighbours it closed.
 *   The model reads the neighbour's current connections, which is what its PEX messages
 *   describe up to a minute's lag (keeping per-neighbour lists as the engine does, for 5,000
 *   peers x 50 neighbours x 50 entries, would not fit this shared machine's memory).
 *
 * Distribution: on the graph at the end (frozen: no churn while it runs), the seed has all
 * `pieces`; in each round every peer uploads one piece to one neighbour that lacks a piece it
 * has (a random such neighbour, a random useful piece), downloads unlimited. The time is the
 * number of rounds until every peer that can be reached from the seed has every piece; a peer
 * outside the seed's component never finishes. Lower bound: `pieces` rounds (the seed has to
 * upload every piece once), about `pieces + log2(peers)` in practice.
 */
import { DEFAULT_RANDOM_WALK } from '../lib/engine/peers/random-walk.js';
import { WALK_POLICY, type WalkNeighbour, type WalkPolicy } from '../lib/engine/peers/walk-policy.js';
import type { RandomSource } from '../lib/util/random.js';
import { components, diameter, largestComponent, spectralGap, type Adjacency } from './lib/graph-metrics.js';

export type Scheme = 'tracker' | 'dht' | 'pex' | 'pex+walk';
export const SCHEMES: readonly Scheme[] = ['tracker', 'dht', 'pex', 'pex+walk'];

export interface ModelOptions {
  peers: number;
  scheme: Scheme;
  /** Minutes simulated before the graph is measured. */
  minutes: number;
  /** Minutes over which the swarm first fills up. */
  fillMinutes: number;
  churnPerMinute: number;
  maxConnections: number;
  dialsPerMinute: number;
  trackerPeers: number;
  dhtValues: number;
  /** Candidate addresses a peer remembers (a random one is forgotten beyond it). */
  maxCandidates: number;
  pieces: number;
  /** The random walk's rules (pex+walk): the engine's own, unless a test substitutes them. */
  walkPolicy?: WalkPolicy;
}

export const DEFAULT_MODEL: Omit<ModelOptions, 'peers' | 'scheme'> = {
  minutes: 120,
  fillMinutes: 30,
  churnPerMinute: 0.02,
  maxConnections: 50,
  dialsPerMinute: 10,
  trackerPeers: 50,
  dhtValues: 100,
  maxCandidates: 500,
  pieces: 100
};

const PEX_MAX = 50;
const TRACKER_INTERVAL = 30;
const DHT_LOOKUP_INTERVAL = 5;
const DHT_ANNOUNCE_INTERVAL = 15;
const DHT_TTL = 30;
/** A full peer's turnover closes only connections at least this old (minutes). */
const TURNOVER_MIN_AGE = 2;
const MINUTE_MS = 60_000;

interface Peer {
  id: number;
  joined: number;
  alive: boolean;
  /** Neighbour id -> minute the connection opened. */
  links: Map<number, number>;
  candidates: number[];
  /** Neighbours connected since the last PEX round (sent to old neighbours). */
  addedSincePex: number[];
  /** pex+walk: when the last walk step ran (ms), and the neighbours it closed lately (oldest first). */
  lastStepAt: number;
  walkDropped: Set<number>;
}

export interface GraphMeasure {
  scheme: Scheme;
  peers: number;
  /** Peers alive at the end (the seed included). */
  alive: number;
  components: number;
  /** Share of the live peers in the largest component. */
  largestShare: number;
  diameter: number;
  diameterExact: boolean;
  spectralGap: number;
  meanDegree: number;
  /** Dials that hit a departed peer, per peer alive at the end. */
  deadDialsPerPeer: number;
  /** Rounds until every peer reachable from the seed has the file; share that finished. */
  distributionRounds: number;
  finishedShare: number;
}

export function runModel(opts: ModelOptions, random: RandomSource): GraphMeasure {
  const o = opts;
  const rnd = (): number => random.int(1 << 30) / (1 << 30);
  const all: Peer[] = [];
  const live = new Set<number>();
  const liveList = (): number[] => [...live];
  // DHT store: peer id -> minute of its last announce.
  const announced = new Map<number, number>();
  let deadDials = 0;

  const makePeer = (now: number): Peer => {
    const p: Peer = {
      id: all.length,
      joined: now,
      alive: true,
      links: new Map(),
      candidates: [],
      addedSincePex: [],
      lastStepAt: -Infinity,
      walkDropped: new Set()
    };
    all.push(p);
    live.add(p.id);
    return p;
  };
  const addCandidates = (p: Peer, ids: Iterable<number>): void => {
    // A full peer with a full list has no use for more (and skipping them keeps 5,000 peers fast).
    if (p.links.size >= o.maxConnections && p.candidates.length >= o.maxCandidates) return;
    for (const id of ids) {
      if (id === p.id || p.links.has(id)) continue;
      if (p.candidates.length >= o.maxCandidates) p.candidates[random.int(p.candidates.length)] = id;
      else p.candidates.push(id);
    }
  };
  const sample = (ids: number[], k: number): number[] => {
    if (k * 4 < ids.length) {
      // Few from many: distinct random indices, no copy.
      const picked = new Set<number>();
      while (picked.size < k) picked.add(random.int(ids.length));
      return [...picked].map((i) => ids[i]!);
    }
    const copy = [...ids];
    const out: number[] = [];
    for (let i = 0; i < k && copy.length > 0; i++) {
      const j = random.int(copy.length);
      out.push(copy[j]!);
      copy[j] = copy[copy.length - 1]!;
      copy.pop();
    }
    return out;
  };
  const walkOn = o.scheme === 'pex+walk';
  const policy = o.walkPolicy ?? WALK_POLICY;
  /**
   * `a` dials `b`: 'full' when `b` refuses for lack of room (worth a retry later). `replacing`:
   * a walk move, which may take `a` one over its cap until it closes the neighbour it replaces.
   */
  const connect = (a: Peer, b: Peer, now: number, replacing = false): 'ok' | 'dead' | 'full' | 'no' => {
    if (!b.alive) {
      deadDials++;
      return 'dead';
    }
    if (a === b || a.links.has(b.id) || a.links.size >= o.maxConnections + (replacing ? 1 : 0)) return 'no';
    if (
      !(walkOn
        ? policy.acceptsIncoming(b.links.size, o.maxConnections, true)
        : b.links.size < o.maxConnections)
    ) {
      // A full peer makes room for one that has no connection at all (libtorrent's peer
      // turnover does the like): it closes a random connection at least two minutes old.
      const old = a.links.size === 0 ? [...b.links].filter(([, at]) => now - at >= TURNOVER_MIN_AGE) : [];
      if (old.length === 0) return 'full';
      disconnect(b, all[old[random.int(old.length)]![0]]!);
    }
    a.links.set(b.id, now);
    b.links.set(a.id, now);
    a.addedSincePex.push(b.id);
    b.addedSincePex.push(a.id);
    // A new neighbour gets our whole list at once (BEP 11's first message), capped.
    if (o.scheme === 'pex' || o.scheme === 'pex+walk') {
      pexTo(a, b, sample([...a.links.keys()], PEX_MAX));
      pexTo(b, a, sample([...b.links.keys()], PEX_MAX));
    }
    return 'ok';
  };
  const disconnect = (a: Peer, b: Peer): void => {
    a.links.delete(b.id);
    b.links.delete(a.id);
  };
  /** `from` tells `to` about `ids` (its neighbours). */
  const pexTo = (_from: Peer, to: Peer, ids: number[]): void => addCandidates(to, ids);
  const leave = (p: Peer): void => {
    p.alive = false;
    live.delete(p.id);
    for (const n of [...p.links.keys()]) disconnect(p, all[n]!);
    p.candidates = [];
  };
  // The DHT's stored peers, computed once a minute.
  let stored: { at: number; ids: number[] } = { at: -1, ids: [] };
  const discover = (p: Peer, now: number): void => {
    const age = now - p.joined;
    if (o.scheme === 'tracker' && age % TRACKER_INTERVAL === 0) {
      addCandidates(p, sample(liveList(), o.trackerPeers + 1));
    } else if (o.scheme === 'dht') {
      if (age % DHT_ANNOUNCE_INTERVAL === 0) announced.set(p.id, now);
      if (age % DHT_LOOKUP_INTERVAL === 0) {
        if (stored.at !== now) stored = { at: now, ids: [...announced.keys()] };
        addCandidates(p, sample(stored.ids, o.dhtValues));
      }
    }
  };
  const dial = (p: Peer, now: number): void => {
    const retry: number[] = [];
    for (let d = 0; d < o.dialsPerMinute && p.links.size < o.maxConnections && p.candidates.length > 0; d++) {
      const j = random.int(p.candidates.length);
      const id = p.candidates[j]!;
      p.candidates[j] = p.candidates[p.candidates.length - 1]!;
      p.candidates.pop();
      if (connect(p, all[id]!, now) === 'full') retry.push(id);
    }
    // A peer that was full stays a candidate (clients retry), a departed one does not.
    addCandidates(p, retry);
  };
  /** What neighbour `id` names in PEX: its current connections (see the header). */
  const named = (id: number): ReadonlyMap<number, number> => all[id]!.links;
  /** One walk step of `p`, decided by the engine's policy. */
  const walk = (p: Peer, now: number): void => {
    const ms = now * MINUTE_MS;
    if (!policy.stepDue(p.lastStepAt, ms, DEFAULT_RANDOM_WALK.intervalMs) || p.links.size === 0) return;
    p.lastStepAt = ms;
    const neighbours: WalkNeighbour<number>[] = [...p.links].map(([id, at]) => ({
      key: id,
      since: at * MINUTE_MS,
      named: named(id)
    }));
    const full = p.links.size >= o.maxConnections;
    const dialable = (id: number): boolean => id !== p.id && !p.links.has(id) && !p.walkDropped.has(id);
    const step = policy.chooseStep(neighbours, full, ms, DEFAULT_RANDOM_WALK.minAgeMs, dialable, random);
    if (!step) return;
    const target = all[step.dial]!;
    if (!step.move) {
      connect(p, target, now);
      return;
    }
    // Dial first; the neighbour walked through is closed only once the new connection is up.
    p.walkDropped.add(step.via.key);
    if (p.walkDropped.size > DEFAULT_RANDOM_WALK.recentlyDroppedLimit)
      p.walkDropped.delete(p.walkDropped.values().next().value!);
    if (connect(p, target, now, true) === 'ok' && p.links.has(step.via.key))
      disconnect(p, all[step.via.key]!);
  };
  /** Back to the cap after accepting into the slack: close connections `p` can spare. */
  const shed = (p: Peer): void => {
    const neighbourNamed = (id: number): ReadonlyMap<number, number> | undefined =>
      p.links.has(id) ? named(id) : undefined;
    while (policy.surplus(p.links.size, o.maxConnections, 0) > 0) {
      let spared: number | undefined;
      for (const id of p.links.keys())
        if (policy.canSpare(id, p.links.keys(), neighbourNamed)) {
          spared = id;
          break;
        }
      if (spared === undefined) return;
      disconnect(p, all[spared]!);
    }
  };

  const seed = makePeer(0);
  if (o.scheme === 'dht') announced.set(seed.id, 0);
  const fillRate = (o.peers - 1) / o.fillMinutes;
  let arrivalsOwed = 0;
  for (let now = 0; now < o.minutes; now++) {
    // Departures (never the seed), then arrivals.
    if (now >= o.fillMinutes) {
      for (const id of liveList()) {
        if (id !== seed.id && rnd() < o.churnPerMinute) leave(all[id]!);
      }
      arrivalsOwed += Math.max(0, o.peers - live.size);
    } else arrivalsOwed += fillRate;
    // The one peer a newcomer knows (its magnet link's x.pe hint) is in the swarm already:
    // the seed or a peer with a connection.
    const members = liveList().filter((id) => id === seed.id || all[id]!.links.size > 0);
    while (arrivalsOwed >= 1) {
      arrivalsOwed--;
      const p = makePeer(now);
      if (o.scheme === 'pex' || o.scheme === 'pex+walk')
        addCandidates(p, [members[random.int(members.length)]!]);
    }
    // Discovery and dials, in a random order of peers.
    const order = sample(liveList(), live.size);
    for (const id of order) discover(all[id]!, now);
    for (const id of order) dial(all[id]!, now);
    if (walkOn) {
      for (const id of order) walk(all[id]!, now);
      for (const id of order) shed(all[id]!);
    }
    // A PEX round: each peer tells its older neighbours what it connected to since the last one.
    if (o.scheme === 'pex' || o.scheme === 'pex+walk') {
      for (const id of order) {
        const p = all[id]!;
        const added = p.addedSincePex.filter((n) => p.links.has(n)).slice(-PEX_MAX);
        p.addedSincePex = [];
        if (added.length === 0) continue;
        for (const n of p.links.keys())
          pexTo(
            p,
            all[n]!,
            added.filter((a) => a !== n)
          );
      }
    }
    if (o.scheme === 'dht') {
      for (const [id, at] of announced) if (now - at >= DHT_TTL) announced.delete(id);
    }
  }

  // Measure the live graph.
  const ids = liveList();
  const index = new Map(ids.map((id, i) => [id, i]));
  const adj: number[][] = ids.map((id) => [...all[id]!.links.keys()].map((n) => index.get(n)!));
  const comps = components(adj);
  const lcc = largestComponent(adj);
  const d = diameter(lcc.adj, random);
  const gap = spectralGap(lcc.adj, random);
  const dist = distribute(adj, index.get(seed.id)!, o.pieces, random);
  return {
    scheme: o.scheme,
    peers: o.peers,
    alive: ids.length,
    components: comps.sizes.length,
    largestShare: Math.max(...comps.sizes) / ids.length,
    diameter: d.diameter,
    diameterExact: d.exact,
    spectralGap: gap,
    meanDegree: adj.reduce((s, a) => s + a.length, 0) / ids.length,
    deadDialsPerPeer: deadDials / ids.length,
    distributionRounds: dist.rounds,
    finishedShare: dist.finished / ids.length
  };
}

/** Rounds of the piece-distribution model above; every peer reachable from `seed` finishes. */
export function distribute(
  adj: Adjacency,
  seed: number,
  pieces: number,
  random: RandomSource,
  maxRounds = 50 * pieces
): { rounds: number; finished: number } {
  const n = adj.length;
  const words = Math.ceil(pieces / 32);
  const have = new Uint32Array(n * words);
  const count = new Int32Array(n);
  for (let w = 0; w < words; w++)
    have[seed * words + w] = w === words - 1 && pieces % 32 ? (1 << (pieces % 32)) - 1 : 0xffffffff;
  count[seed] = pieces;
  const reachable = components(adj);
  const target = reachable.sizes[reachable.of[seed]!]!;
  let finished = 1;
  let rounds = 0;
  const gifts: [number, number][] = [];
  while (finished < target && rounds < maxRounds) {
    rounds++;
    gifts.length = 0;
    for (let v = 0; v < n; v++) {
      if (count[v] === 0) continue;
      const nb = adj[v]!;
      // A random neighbour that lacks something we have: scan from a random start.
      const start = nb.length > 0 ? random.int(nb.length) : 0;
      for (let k = 0; k < nb.length; k++) {
        const w = nb[(start + k) % nb.length]!;
        if (count[w] === pieces) continue;
        const useful: number[] = [];
        for (let i = 0; i < words; i++) {
          const bits = have[v * words + i]! & ~have[w * words + i]!;
          if (bits === 0) continue;
          for (let b = 0; b < 32; b++) if (bits & (1 << b)) useful.push(i * 32 + b);
        }
        if (useful.length === 0) continue;
        gifts.push([w, useful[random.int(useful.length)]!]);
        break;
      }
    }
    for (const [w, piece] of gifts) {
      const slot = w * words + (piece >> 5);
      const bit = 1 << (piece & 31);
      if (have[slot]! & bit) continue;
      have[slot] = (have[slot]! | bit) >>> 0;
      if (++count[w]! === pieces) finished++;
    }
  }
  return { rounds: finished >= target ? rounds : Infinity, finished };
}
