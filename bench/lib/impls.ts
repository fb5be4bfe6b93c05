/**
 * The two implementations behind one small interface, so every scenario runs the same code
 * path for both: ours (trackerless DHT) and the anchor (bittorrent-dht 11.0.12).
 *
 * Anchor safety: it is always given an explicit `bootstrap` array of loopback IP literals
 * (undefined would make it contact the public routers), and listen() is called right after
 * construction, before its first (nextTick) bootstrap send, so the socket binds 127.0.0.1.
 */
import { AnchorDHT, type AnchorDHT as AnchorInstance } from './anchor.js';
import { DHT } from '../../lib/index.js';
import { compareDistance } from '../../lib/id/node-id.js';

export type ImplName = 'ours' | 'anchor';
export const IMPLS: readonly ImplName[] = ['ours', 'anchor'];

export interface Addr {
  host: string;
  port: number;
}

export interface GetPeersOutcome {
  /** ms from the call to the first peer equal to `want` returned by another node (NaN if none). */
  firstPeerMs: number;
  found: boolean;
  /** The implementation's own count of lookup queries, when it reports one. */
  reportedQueries: number;
}

export interface BenchNode {
  readonly impl: ImplName;
  readonly id: Uint8Array;
  readonly port: number;
  announce(infoHash: Uint8Array, port: number): Promise<{ storedOn: number; reportedQueries: number }>;
  getPeers(infoHash: Uint8Array, want: Addr): Promise<GetPeersOutcome>;
  /** Ids of the k closest nodes that answered the lookup, closest first (at most `k`). */
  findNode(target: Uint8Array, k: number): Promise<{ ids: Uint8Array[]; reportedQueries: number }>;
  tableSize(): number;
  /** Peer entries this node stores for others (announces received). */
  storedPeers(): number;
  /** BEP 44: put a byte string as an immutable item; its target and the nodes that took it. */
  putImmutable(value: Uint8Array): Promise<{ target: Uint8Array; storedOn: number }>;
  /** BEP 44: whether a get of `target` returned `value`. */
  getImmutable(target: Uint8Array, value: Uint8Array): Promise<boolean>;
  /** BEP 44 items this node stores (its own puts included, for the anchor). */
  storedItems(): number;
  destroy(): Promise<void>;
}

export interface CreateOptions {
  id: Uint8Array;
  bootstrap: Addr[];
  host?: string;
}

const LOOPBACK = '127.0.0.1';

export async function createNode(impl: ImplName, opts: CreateOptions): Promise<BenchNode> {
  return impl === 'ours' ? OursNode.create(opts) : AnchorNode.create(opts);
}

class OursNode implements BenchNode {
  readonly impl = 'ours' as const;
  private constructor(
    private readonly dht: DHT,
    readonly id: Uint8Array,
    readonly port: number
  ) {}

  static async create(opts: CreateOptions): Promise<OursNode> {
    const dht = await DHT.create({
      host: opts.host ?? LOOPBACK,
      port: 0,
      nodeId: opts.id,
      bootstrap: opts.bootstrap.map((b) => ({ host: b.host, port: b.port }))
    });
    dht.on('warning', () => {}); // timeouts under load are expected; counted elsewhere
    return new OursNode(dht, opts.id, dht.address().port);
  }

  async announce(infoHash: Uint8Array, port: number) {
    const r = await this.dht.announce(infoHash, port);
    return { storedOn: r.storedOn, reportedQueries: r.queries };
  }

  async getPeers(infoHash: Uint8Array, want: Addr): Promise<GetPeersOutcome> {
    const start = performance.now();
    let firstPeerMs = NaN;
    const onPeer = (peer: Addr, ih: Uint8Array): void => {
      if (
        Number.isNaN(firstPeerMs) &&
        peer.port === want.port &&
        peer.host === want.host &&
        Buffer.compare(ih, infoHash) === 0
      ) {
        firstPeerMs = performance.now() - start;
      }
    };
    this.dht.on('peer', onPeer);
    try {
      const r = await this.dht.getPeers(infoHash);
      const found = r.peers.some((p) => p.host === want.host && p.port === want.port);
      return { firstPeerMs: found ? firstPeerMs : NaN, found, reportedQueries: r.lookup.queries };
    } finally {
      this.dht.off('peer', onPeer);
    }
  }

  async findNode(target: Uint8Array, k: number) {
    const r = await this.dht.findNode(target);
    return { ids: r.closest.slice(0, k).map((c) => c.node.id), reportedQueries: r.queries };
  }

  tableSize(): number {
    return this.dht.nodes().length;
  }

  storedPeers(): number {
    return this.dht.stats().storedPeers;
  }

  async putImmutable(value: Uint8Array) {
    const r = await this.dht.putImmutable(value);
    return { target: r.target, storedOn: r.storedOn };
  }

  async getImmutable(target: Uint8Array, value: Uint8Array): Promise<boolean> {
    const item = await this.dht.getImmutable(target);
    return item !== null && Buffer.from(item.value as Uint8Array).equals(value);
  }

  storedItems(): number {
    return this.dht.stats().storedItems;
  }

  destroy(): Promise<void> {
    return this.dht.destroy();
  }
}

class AnchorNode implements BenchNode {
  readonly impl = 'anchor' as const;
  private constructor(
    private readonly dht: AnchorInstance,
    readonly id: Uint8Array,
    readonly port: number
  ) {}

  static async create(opts: CreateOptions): Promise<AnchorNode> {
    const bootstrap = opts.bootstrap.map((b) => `${b.host}:${b.port}`);
    if (!Array.isArray(bootstrap) || bootstrap.some((b) => !b.startsWith('127.'))) {
      throw new Error('anchor bootstrap must be an explicit array of loopback IP literals');
    }
    const dht = new AnchorDHT({ nodeId: Buffer.from(opts.id), bootstrap });
    dht.on('warning', () => {});
    dht.on('error', () => {});
    const ready = new Promise<void>((resolve) => dht.once('ready', () => resolve()));
    const listening = new Promise<void>((resolve) => dht.listen(0, opts.host ?? LOOPBACK, () => resolve()));
    await listening;
    await ready;
    return new AnchorNode(dht, opts.id, dht.address().port);
  }

  announce(infoHash: Uint8Array, port: number) {
    return new Promise<{ storedOn: number; reportedQueries: number }>((resolve) => {
      this.dht.announce(Buffer.from(infoHash), port, (err, hits) =>
        resolve({ storedOn: err ? 0 : (hits ?? 0), reportedQueries: NaN })
      );
    });
  }

  getPeers(infoHash: Uint8Array, want: Addr): Promise<GetPeersOutcome> {
    const start = performance.now();
    let firstPeerMs = NaN;
    const ih = Buffer.from(infoHash);
    // `from` is null for peers from the node's own store: only peers another node returned count.
    const onPeer = (peer: Addr, peerIh: Buffer, from: unknown): void => {
      if (
        from &&
        Number.isNaN(firstPeerMs) &&
        peer.port === want.port &&
        peer.host === want.host &&
        peerIh.equals(ih)
      ) {
        firstPeerMs = performance.now() - start;
      }
    };
    this.dht.on('peer', onPeer);
    return new Promise<GetPeersOutcome>((resolve) => {
      this.dht.lookup(ih, () => {
        this.dht.off('peer', onPeer);
        const found = !Number.isNaN(firstPeerMs);
        resolve({ firstPeerMs, found, reportedQueries: NaN });
      });
    });
  }

  findNode(target: Uint8Array, k: number) {
    // The anchor has no public find_node lookup; its internal iterative lookup is what its
    // bootstrap (populate) and every other lookup use.
    const t = Buffer.from(target);
    const responders = new Map<string, Uint8Array>();
    return new Promise<{ ids: Uint8Array[]; reportedQueries: number }>((resolve) => {
      this.dht._rpc.closest(
        t,
        { q: 'find_node', a: { id: this.dht._rpc.id, target: t } },
        (message) => {
          const id = message.r?.id;
          if (id && id.length === 20) responders.set(id.toString('hex'), new Uint8Array(id));
          return true;
        },
        () => {
          const ids = [...responders.values()].sort((a, b) => compareDistance(target, a, b)).slice(0, k);
          resolve({ ids, reportedQueries: NaN });
        }
      );
    });
  }

  tableSize(): number {
    return this.dht.nodes.count();
  }

  storedPeers(): number {
    return this.dht._peers.size;
  }

  putImmutable(value: Uint8Array) {
    return new Promise<{ target: Uint8Array; storedOn: number }>((resolve, reject) => {
      this.dht.put({ v: Buffer.from(value) }, (err, target, n) =>
        err ? reject(err) : resolve({ target: new Uint8Array(target), storedOn: n })
      );
    });
  }

  getImmutable(target: Uint8Array, value: Uint8Array): Promise<boolean> {
    // cache: false, or it answers from its own store without asking the network.
    return new Promise((resolve) => {
      this.dht.get(Buffer.from(target), { cache: false }, (err, item) =>
        resolve(!err && item !== null && Buffer.from(item.v).equals(value))
      );
    });
  }

  storedItems(): number {
    return this.dht._values.length;
  }

  destroy(): Promise<void> {
    return new Promise((resolve) => this.dht.destroy(() => resolve()));
  }
}
