/**
 * A whole DHT in one process on the simulated network, in virtual time (like pubky/mainline's
 * Testnet). For tests, benchmarks and the crawler's simulations; nothing touches a socket.
 */
import { SimNetwork, type SimNetworkOptions } from './sim-network.js';
import { DHT } from '../dht/dht.js';
import type { DhtOptions } from '../dht/options.js';
import { seededRandom } from '../util/random.js';
import type { Address } from '../net/address.js';

export interface SimTestnetOptions extends SimNetworkOptions {
  /** Number of DHT nodes. */
  size: number;
  /** Nodes joining concurrently (default 50): joins are staggered like a real network grows. */
  joinBatch?: number;
  /** Extra options for every node (clock, transport and bootstrap are set by the testnet). */
  node?: Omit<DhtOptions, 'transport' | 'clock' | 'bootstrap'>;
  /** Max virtual ms to wait for each batch to join (default 60 s). */
  joinTimeoutMs?: number;
  /** Virtual ms to run after the last join (default 3 min: a few maintenance ticks). */
  settleMs?: number;
}

export class SimTestnet {
  readonly network: SimNetwork;
  readonly nodes: DHT[] = [];

  private constructor(network: SimNetwork) {
    this.network = network;
  }

  /** Build the network: node 0 starts alone, the others bootstrap from node 0. */
  static async create(opts: SimTestnetOptions): Promise<SimTestnet> {
    const net = new SimTestnet(new SimNetwork({ yieldPer: 'instant', ...opts }));
    const seed = opts.seed ?? 1;
    const first = net.addNode([], seed * 1_000_003, opts.node);
    await net.network.runUntil(() => first.settled, 10_000);
    const bootstrap: Address[] = [first.dht.address()];
    const batch = opts.joinBatch ?? 50;
    for (let i = 1; i < opts.size; i += batch) {
      const joining: Array<{ settled: boolean }> = [];
      for (let j = i; j < Math.min(opts.size, i + batch); j++)
        joining.push(net.addNode(bootstrap, seed * 1_000_003 + j, opts.node));
      await net.network.runUntil(() => joining.every((n) => n.settled), opts.joinTimeoutMs ?? 60_000);
    }
    // Let a few maintenance ticks run so early joiners fill their tables.
    await net.network.runFor(opts.settleMs ?? 3 * 60_000);
    return net;
  }

  /** Add one more node bootstrapping from `bootstrap`. */
  addNode(
    bootstrap: Address[],
    seed: number,
    extra?: SimTestnetOptions['node']
  ): { dht: DHT; settled: boolean } {
    const dht = new DHT({
      ...extra,
      transport: this.network.createTransport(),
      clock: this.network.clock,
      random: seededRandom(seed),
      bootstrap
    });
    const entry = { dht, settled: false };
    dht.ready.then(
      () => (entry.settled = true),
      () => (entry.settled = true)
    );
    this.nodes.push(dht);
    return entry;
  }

  /** Run `work` while driving virtual time until it settles (or `maxMs` virtual ms pass). */
  run<T>(work: Promise<T>, maxMs = 120_000): Promise<T> {
    return this.network.runWork(work, maxMs);
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.destroy()));
  }
}
