/**
 * A large simulated DHT built cheaply: a "warm restart" of a whole network.
 *
 * SimTestnet.create joins nodes one batch at a time; each join runs a self lookup plus one
 * refresh lookup per sparse bucket (~200 datagrams per node), which makes 5,000+ nodes cost
 * minutes of CPU. Here every node instead starts from the routing table it would converge to
 * (`knownNodes`, taken as a restarted node takes its state file's): up to k nodes at every
 * prefix depth plus its closest neighbours, computed from the global view. The nodes then
 * start normally (self lookup, sparse-bucket refresh), so nothing about DHT behaviour changes:
 * only the history before the restart is skipped. `staggerMs` spreads those joins over
 * virtual time (every node answers queries from the start).
 *
 * One difference remains, the one any restart has: restored contacts start "questionable"
 * (never heard from). A query from a node they do not know makes a node verify the querier,
 * then ping a questionable contact of the full bucket, whose owner in turn verifies the pinger,
 * and so on: measured on 1,000 nodes, ~59 datagrams in the network per crawler query here vs
 * ~2 on a SimTestnet-joined network. Use it for query counts, coverage and timing, not for
 * network-wide datagram counts.
 *
 * Addresses and ids are chosen up front (10.x.y.z on the default port, seeded ids) so the
 * tables can name them.
 */
import { SimNetwork, SIM_DEFAULT_PORT, type SimNetworkOptions } from './sim-network.js';
import { DHT } from '../dht/dht.js';
import type { DhtOptions } from '../dht/options.js';
import type { NodeInfo } from '../krpc/types.js';
import { seededRandom } from '../util/random.js';
import { K } from '../constants.js';
import { RpcSocket } from '../rpc/rpc-socket.js';
import { compareDistance } from '../id/node-id.js';

export interface WarmTestnetOptions extends SimNetworkOptions {
  size: number;
  /** Extra options for every node (clock, transport, bootstrap, id and statePath are set here). */
  node?: Omit<DhtOptions, 'transport' | 'clock' | 'bootstrap' | 'nodeId' | 'statePath'>;
  /** Max virtual ms for every node to become ready (default 60 s). */
  readyTimeoutMs?: number;
  /**
   * Spread the nodes' joins evenly over this many virtual ms (node i waits i/size of it; every
   * node answers queries from the start). Default 0: all join at once, so the whole network's
   * lookup state is live together, which on big networks costs the GC more than the lookups.
   */
  staggerMs?: number;
  /** Progress lines (benchmarks log where the build's time goes). */
  log?: (line: string) => void;
}

export class WarmTestnet {
  readonly network: SimNetwork;
  readonly nodes: DHT[] = [];
  /** Every node's id and address, sorted by id (the global view used to place data). */
  private sorted: NodeInfo[] = [];

  private constructor(network: SimNetwork) {
    this.network = network;
  }

  static async create(opts: WarmTestnetOptions): Promise<WarmTestnet> {
    const net = new WarmTestnet(new SimNetwork({ yieldPer: 'instant', ...opts }));
    const seed = opts.seed ?? 1;
    const rnd = seededRandom(seed * 7_919 + 13);
    const infos: NodeInfo[] = [];
    for (let i = 0; i < opts.size; i++)
      infos.push({ id: rnd.bytes(20), host: simHost(i + 1), port: SIM_DEFAULT_PORT });
    net.sorted = [...infos].sort((a, b) => compareBytes(a.id, b.id));
    const tables = idealTables(infos, K);
    const stagger = opts.staggerMs ?? 0;
    for (let i = 0; i < infos.length; i++) {
      const info = infos[i]!;
      net.nodes.push(
        new DHT({
          ...opts.node,
          transport: net.network.createTransport(info.host, info.port),
          clock: net.network.clock,
          random: seededRandom(seed * 1_000_003 + i),
          nodeId: info.id,
          knownNodes: tables[i]!,
          bootstrap: [],
          ...(stagger > 0 ? { joinDelayMs: Math.floor((i * stagger) / infos.length) } : {})
        })
      );
      tables[i] = []; // the node has its table now
    }
    // Starting is asynchronous even with nothing to read: a node is bound once it has its table.
    await Promise.all(net.nodes.map((d) => d.listening));
    opts.log?.(`${net.nodes.length} nodes took their tables`);
    let ready = 0;
    for (const d of net.nodes)
      d.ready.then(
        () => ready++,
        () => ready++
      );
    await net.network.runUntil(() => ready === net.nodes.length, opts.readyTimeoutMs ?? 60_000);
    return net;
  }

  /**
   * Store every infohash on its `replicas` closest nodes, as the end of an announce does
   * (get_peers for a token, then announce_peer), from a read-only helper socket that is not
   * one of the nodes. The lookup phase is skipped: the closest nodes are known here. Resolves
   * with, per infohash, the number of nodes that accepted it.
   */
  async storeInfoHashes(
    infoHashes: Uint8Array[],
    opts: { replicas?: number; port?: number; seed?: number } = {}
  ): Promise<number[]> {
    const rpc = new RpcSocket({
      transport: this.network.createTransport(),
      clock: this.network.clock,
      random: seededRandom(opts.seed ?? 5),
      readOnly: true,
      maxInflight: 4096,
      maxQueriesPerSecond: 1_000_000
    });
    const helperId = seededRandom((opts.seed ?? 5) + 1).bytes(20);
    const port = opts.port ?? 6881;
    const store = async (ih: Uint8Array): Promise<number> => {
      const targets = closestInSorted(this.sorted, ih, opts.replicas ?? K);
      const results = await Promise.allSettled(
        targets.map(async (node) => {
          const r = await rpc.query(node, { method: 'get_peers', id: helperId, infoHash: ih });
          const token = r.response.body.token;
          if (!token) throw new Error('no token');
          await rpc.query(node, {
            method: 'announce_peer',
            id: helperId,
            infoHash: ih,
            port,
            token,
            impliedPort: false
          });
        })
      );
      return results.filter((x) => x.status === 'fulfilled').length;
    };
    const out: number[] = [];
    try {
      for (let i = 0; i < infoHashes.length; i += 500) {
        out.push(...(await this.run(Promise.all(infoHashes.slice(i, i + 500).map(store)), 600_000)));
      }
    } finally {
      rpc.close();
    }
    return out;
  }

  /** Run `work` while driving virtual time until it settles (or `maxMs` virtual ms pass). */
  run<T>(work: Promise<T>, maxMs = 120_000): Promise<T> {
    return this.network.runWork(work, maxMs);
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.destroy()));
  }
}

/** The address SimNetwork would hand out n-th, in the same 10/8 layout (skips .0 and .255). */
function simHost(n: number): string {
  // Like SimNetwork's automatic addresses: consecutive nodes in different /24s, last octet 1..254.
  return `10.${n & 0xff}.${(n >>> 8) & 0xff}.${(n >>> 16) + 1}`;
}

/**
 * For every node, the table a converged Kademlia node holds: at each prefix depth d, up to k
 * random nodes whose id shares exactly d leading bits with it, down to the depth where the
 * remaining group is small enough to keep whole (its closest neighbours).
 */
function idealTables(infos: NodeInfo[], k: number): NodeInfo[][] {
  const order = infos.map((_, i) => i).sort((a, b) => compareBytes(infos[a]!.id, infos[b]!.id));
  const sorted = order.map((i) => infos[i]!);
  const rnd = seededRandom(424_242);
  const out: NodeInfo[][] = new Array(infos.length);
  for (let pos = 0; pos < sorted.length; pos++) {
    const me = sorted[pos]!;
    const table: NodeInfo[] = [];
    let lo = 0;
    let hi = sorted.length; // nodes sharing the first d bits with me: sorted[lo, hi)
    for (let d = 0; d < 160 && hi - lo > k + 1; d++) {
      const bit = bitAt(me.id, d);
      // Split [lo, hi) at the first id whose bit d is 1 (ids in range share bits < d).
      let a = lo;
      let b = hi;
      while (a < b) {
        const mid = (a + b) >> 1;
        if (bitAt(sorted[mid]!.id, d) === 0) a = mid + 1;
        else b = mid;
      }
      const [sibLo, sibHi, nextLo, nextHi] = bit === 0 ? [a, hi, lo, a] : [lo, a, a, hi];
      for (const j of pickRange(sibLo, sibHi, k, rnd)) table.push(sorted[j]!);
      lo = nextLo;
      hi = nextHi;
    }
    for (let j = lo; j < hi; j++) if (j !== pos) table.push(sorted[j]!);
    out[order[pos]!] = table;
  }
  return out;
}

/** The k nodes closest to `target` (XOR), from the id-sorted list, via its prefix groups. */
function closestInSorted(sorted: NodeInfo[], target: Uint8Array, k: number): NodeInfo[] {
  // The smallest prefix group around the target holding >= k nodes contains the k closest:
  // every member shares more leading bits with the target than any outsider.
  let lo = 0;
  let hi = sorted.length;
  for (let d = 0; d < 160; d++) {
    let a = lo;
    let b = hi;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (bitAt(sorted[mid]!.id, d) === 0) a = mid + 1;
      else b = mid;
    }
    const [nlo, nhi] = bitAt(target, d) === 0 ? [lo, a] : [a, hi];
    if (nhi - nlo < k) break;
    lo = nlo;
    hi = nhi;
  }
  return sorted
    .slice(lo, hi)
    .sort((x, y) => compareDistance(target, x.id, y.id))
    .slice(0, k);
}

function pickRange(lo: number, hi: number, k: number, rnd: { int(n: number): number }): number[] {
  const n = hi - lo;
  if (n <= k) return Array.from({ length: n }, (_, i) => lo + i);
  const picked = new Set<number>();
  while (picked.size < k) picked.add(lo + rnd.int(n));
  return [...picked];
}

function bitAt(id: Uint8Array, bit: number): number {
  return ((id[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}
