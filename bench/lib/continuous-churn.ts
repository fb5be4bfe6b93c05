/**
 * Continuous churn on the simulated network, in virtual time (issue 8): every virtual minute a
 * fraction of the nodes leaves and as many fresh nodes join, while announce-then-get_peers
 * pairs run from random nodes. Shared by the soak (scripts/soak-dht.ts, long) and the CI test
 * (test/sim/continuous-churn.test.ts, small).
 *
 * Each round first lets the leavers go, then starts the newcomers, each bootstrapping from one
 * random survivor that has been in the network for at least a round. The order matters: a
 * newcomer whose only bootstrap node leaves before its join runs never gets in, and every later
 * newcomer that picks it as its bootstrap joins its island instead of the network. The soak
 * once chose bootstrap nodes among nodes about to leave, and islands grown that way made its
 * lookups fail more and more (97.5% -> ~50% over 200 virtual minutes); `reachFraction` watches
 * for that.
 */
import { SimTestnet } from '../../lib/testing/testnet.js';
import type { DHT } from '../../lib/dht/dht.js';
import { seededRandom, type RandomSource } from '../../lib/util/random.js';
import { formatAddress } from '../../lib/net/address.js';
import type { NodeOptions } from './hostile-sim.js';

export interface ContinuousChurnOptions {
  size: number;
  seed: number;
  /** Fraction of the nodes replaced every virtual minute (e.g. 0.05). */
  churnPerMinute: number;
  /** announce + get_peers pairs per virtual minute. */
  lookupsPerMinute: number;
  latencyMs?: number;
  jitterMs?: number;
  lossRate?: number;
  node?: NodeOptions;
}

export interface ChurnRound {
  /** Virtual minutes run so far. */
  minute: number;
  lookups: number;
  /** get_peers lookups that found the peer announced just before. */
  found: number;
  /** Share of the live nodes' table entries pointing at departed nodes. */
  deadEntries: number;
  /** Median live-node table size. */
  tableMedian: number;
}

export class ContinuousChurn {
  readonly net: SimTestnet;
  private readonly rnd: RandomSource;
  /** Live nodes with the round they joined in (0: the initial network). */
  private readonly live = new Map<DHT, number>();
  private minute = 0;

  private constructor(
    net: SimTestnet,
    private readonly o: ContinuousChurnOptions
  ) {
    this.net = net;
    this.rnd = seededRandom(o.seed * 31 + 7);
    for (const n of net.nodes) this.live.set(n, 0);
  }

  static async create(o: ContinuousChurnOptions): Promise<ContinuousChurn> {
    const net = await SimTestnet.create({
      size: o.size,
      seed: o.seed,
      latencyMs: o.latencyMs ?? 40,
      jitterMs: o.jitterMs ?? 40,
      lossRate: o.lossRate ?? 0.01,
      ...(o.node ? { node: o.node } : {})
    });
    return new ContinuousChurn(net, o);
  }

  get size(): number {
    return this.live.size;
  }

  /** One virtual minute: churn, the lookups, then the rest of the minute. */
  async round(): Promise<ChurnRound> {
    const { rnd } = this;
    this.minute++;
    const leaving = new Set<DHT>();
    const nodes = [...this.live.keys()];
    const count = Math.ceil(nodes.length * this.o.churnPerMinute);
    while (leaving.size < count) leaving.add(nodes[rnd.int(nodes.length)]!);
    for (const n of leaving) this.live.delete(n);
    await Promise.all([...leaving].map((n) => n.destroy()));
    const settled = [...this.live].filter(([, joined]) => joined < this.minute).map(([n]) => n);
    for (let i = 0; i < count; i++) {
      const boot = settled[rnd.int(settled.length)]!.address();
      this.live.set(this.net.addNode([boot], rnd.int(2 ** 30), this.o.node).dht, this.minute);
    }
    // Departed nodes are forgotten so only the live population stays in memory.
    this.net.nodes.splice(0, this.net.nodes.length, ...this.live.keys());

    const all = [...this.live.keys()];
    let found = 0;
    const work = Array.from({ length: this.o.lookupsPerMinute }, async () => {
      const ih = rnd.bytes(20);
      const a = all[rnd.int(all.length)]!;
      const b = all[rnd.int(all.length)]!;
      await a.announce(ih, 1 + rnd.int(65535)).catch(() => {});
      const r = await b.getPeers(ih).catch(() => null);
      if (r && r.peers.length > 0) found++;
    });
    const started = this.net.network.clock.now();
    await this.net.run(Promise.all(work), 120_000);
    await this.net.network.runFor(Math.max(0, 60_000 - (this.net.network.clock.now() - started)));
    return { minute: this.minute, lookups: this.o.lookupsPerMinute, found, ...this.tables() };
  }

  /**
   * Share of the live nodes that can reach the rest of the network by following routing
   * tables (1 when the network is one piece; islands lower it).
   */
  reachFraction(): number {
    // The oldest live node stands for the network; walk the table edges backwards from it.
    const [core] = [...this.live].sort((x, y) => x[1] - y[1])[0]!;
    const pointedAtBy = new Map<string, DHT[]>();
    for (const n of this.live.keys()) {
      for (const c of n.nodes()) {
        const k = formatAddress(c);
        const list = pointedAtBy.get(k);
        if (list) list.push(n);
        else pointedAtBy.set(k, [n]);
      }
    }
    const canReach = new Set([core]);
    const todo = [core];
    while (todo.length > 0) {
      for (const n of pointedAtBy.get(formatAddress(todo.pop()!.address())) ?? []) {
        if (canReach.has(n)) continue;
        canReach.add(n);
        todo.push(n);
      }
    }
    return canReach.size / this.live.size;
  }

  async destroy(): Promise<void> {
    await this.net.destroy();
  }

  private tables(): { deadEntries: number; tableMedian: number } {
    const liveAddresses = new Set([...this.live.keys()].map((n) => formatAddress(n.address())));
    let total = 0;
    let dead = 0;
    const sizes: number[] = [];
    for (const n of this.live.keys()) {
      const entries = n.nodes();
      total += entries.length;
      dead += entries.filter((c) => !liveAddresses.has(formatAddress(c))).length;
      sizes.push(entries.length);
    }
    sizes.sort((a, b) => a - b);
    return { deadEntries: total ? dead / total : 0, tableMedian: sizes[sizes.length >> 1] ?? 0 };
  }
}
