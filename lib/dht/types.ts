/** Public result and event types of the {@link DHT} class. */
import type { Address } from '../net/address.js';
import type { NodeInfo } from '../krpc/types.js';
import type { LookupResult } from '../lookup/lookup.js';
import type { RpcCounters } from '../rpc/rpc-socket.js';

export type DhtEvents = {
  /** Bound and bootstrapped. */
  ready: [];
  /** A node entered the routing table. */
  node: [node: NodeInfo];
  /** A lookup found a peer. */
  peer: [peer: Address, infoHash: Uint8Array, from: NodeInfo];
  /** Another node announced a peer to us. */
  announce: [peer: Address, infoHash: Uint8Array, from: NodeInfo];
  /** An infohash in an incoming get_peers, or in an announce_peer we accepted (passive indexing). */
  infohash: [infoHash: Uint8Array, kind: 'get_peers' | 'announce_peer', from: NodeInfo];
  /** Other nodes agree on our external IP address (BEP 42 voting on replies' `ip`). */
  'external-ip': [address: string];
  /** Our node id changed to match our external IP (BEP 42). */
  'node-id': [id: Uint8Array];
  /** Something went wrong that did not stop the node (bad state file, socket error, ...). */
  warning: [err: Error];
};

export interface GetPeersResult {
  peers: Address[];
  lookup: LookupResult;
}

export interface AnnounceResult {
  /** Nodes that accepted our announce_peer. */
  storedOn: number;
  /** Nodes we sent announce_peer to (the k closest responders that gave a token). */
  targets: number;
  /** Peers the get_peers phase found on the way. */
  peers: Address[];
  lookup: LookupResult;
  /** get_peers queries + announce_peer queries. */
  queries: number;
}

/** BEP 33 scrape of one infohash (see DHT.scrape). */
export interface ScrapeResult {
  /** Estimated distinct seeding IPs (union of the BFsd filters of the k closest nodes). */
  seeders: number;
  /** Estimated distinct other peers (union of their BFpe filters, plus legacy `values`). */
  leechers: number;
  /** How many of the k closest nodes had anything for the infohash. */
  nodes: number;
  lookup: LookupResult;
}

export interface SampleInfohashesResult {
  id: Uint8Array;
  /**
   * The reply carried `samples` (BEP 51). A node without BEP 51 may answer like find_node
   * (nodes only): then `supported` is false and `samples` is empty without meaning "none".
   */
  supported: boolean;
  samples: Uint8Array[];
  num: number;
  interval: number;
  nodes: NodeInfo[];
}

export interface DhtStats extends RpcCounters {
  nodes: number;
  goodNodes: number;
  storedInfoHashes: number;
  storedPeers: number;
  /** BEP 44 items stored (expired ones included until pruned). */
  storedItems: number;
  inflight: number;
  lookups: number;
}
