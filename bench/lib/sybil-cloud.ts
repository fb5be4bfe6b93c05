/**
 * A Sybil attacker for tests and benchmarks (issue 8, scenario 2): many DHT "nodes" on one IP
 * (one transport each, e.g. 100 UDP ports), with ids sharing `sharedBits` leading bits with a
 * target infohash X. They answer every query at once: with a token for get_peers, and with the
 * cloud's own members closest to the asked target in `nodes`, never with `values`. A lookup
 * for X that meets one of them is drawn into the cloud, which is closer to X than any honest
 * node, and ends there without asking the honest nodes that store X's peers.
 *
 * To enter honest routing tables they ping honest nodes (who then verify them with a ping of
 * their own, which they answer). Works over any Transport: the simulated network or UDP.
 */
import { decodeMessage, encodeQuery, encodeResponse } from '../../lib/krpc/codec.js';
import type { NodeInfo, ResponseBody } from '../../lib/krpc/types.js';
import type { Address } from '../../lib/net/address.js';
import type { Transport } from '../../lib/net/transport.js';
import type { Clock } from '../../lib/util/clock.js';
import type { RandomSource } from '../../lib/util/random.js';
import { compareDistance } from '../../lib/id/node-id.js';

export interface SybilCloudOptions {
  /** One transport per Sybil node (usually all on one IP). */
  transports: Transport[];
  /** The infohash X the cloud surrounds. */
  target: Uint8Array;
  /** Leading bits every Sybil id shares with X (the rest random). */
  sharedBits: number;
  random: RandomSource;
}

export class SybilCloud {
  readonly nodes: NodeInfo[];
  /** Queries the cloud answered. */
  answered = 0;
  private readonly transports: Transport[];
  private readonly random: RandomSource;

  constructor(opts: SybilCloudOptions) {
    this.transports = opts.transports;
    this.random = opts.random;
    this.nodes = opts.transports.map((t) => ({
      ...t.address(),
      id: idNear(opts.target, opts.sharedBits, opts.random)
    }));
    opts.transports.forEach((t, i) => t.onMessage((data, from) => this.receive(i, data, from)));
  }

  /**
   * Ping every address in `targets` from every Sybil, spread evenly over `spreadMs` on `clock`,
   * so honest nodes verify them and let them into their tables. Resolves when all are sent.
   */
  pingAll(targets: readonly Address[], clock: Clock, spreadMs: number): Promise<void> {
    const total = targets.length * this.transports.length;
    if (total === 0) return Promise.resolve();
    const perSlot = Math.max(1, Math.ceil(total / Math.max(1, spreadMs)));
    let next = 0;
    return new Promise((resolve) => {
      const tick = (): void => {
        for (let n = 0; n < perSlot && next < total; n++, next++) {
          const sybil = next % this.transports.length;
          const to = targets[Math.floor(next / this.transports.length)]!;
          const query = encodeQuery(this.random.bytes(2), { method: 'ping', id: this.nodes[sybil]!.id });
          this.transports[sybil]!.send(query, to);
        }
        if (next < total) clock.setTimeout(tick, 1);
        else resolve();
      };
      tick();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.transports.map((t) => t.close()));
  }

  private receive(index: number, data: Uint8Array, from: Address): void {
    const decoded = decodeMessage(data);
    if (!decoded.ok || decoded.message.type !== 'query') return; // replies to our pings: ignored
    const { tid, query } = decoded.message;
    const self = this.nodes[index]!;
    const body: ResponseBody = { id: self.id };
    const target =
      query.method === 'get_peers' || query.method === 'announce_peer'
        ? query.infoHash
        : query.method === 'find_node' || query.method === 'sample_infohashes'
          ? query.target
          : query.method === 'unknown'
            ? query.target
            : undefined;
    if (target && query.method !== 'announce_peer') body.nodes = this.closest(target, self);
    if (query.method === 'get_peers') body.token = this.random.bytes(8);
    if (query.method === 'sample_infohashes') Object.assign(body, { samples: [], num: 0, interval: 60 });
    this.answered++;
    this.transports[index]!.send(encodeResponse(tid, body, { ip: from }), from);
  }

  /** The 8 cloud members closest to `target`, other than `self`. */
  private closest(target: Uint8Array, self: NodeInfo): NodeInfo[] {
    return this.nodes
      .filter((n) => n !== self)
      .sort((a, b) => compareDistance(target, a.id, b.id))
      .slice(0, 8);
  }
}

/** An id sharing exactly the first `bits` bits with `target` (bit `bits` differs), the rest random. */
export function idNear(target: Uint8Array, bits: number, random: RandomSource): Uint8Array {
  const id = random.bytes(20);
  for (let b = 0; b < bits; b++) {
    const byte = b >> 3;
    const mask = 0x80 >> (b & 7);
    id[byte] = (id[byte]! & ~mask) | (target[byte]! & mask);
  }
  if (bits < 160) {
    const mask = 0x80 >> (bits & 7);
    id[bits >> 3] = (id[bits >> 3]! & ~mask) | (~target[bits >> 3]! & mask);
  }
  return id;
}
