/**
 * Inbound query handlers: ping, find_node, get_peers (with BEP 33 scrape filters),
 * announce_peer, sample_infohashes, BEP 44 get/put (item-handlers.ts), and
 * unknown methods (served as find_node when they carry a target, like libtorrent; else 204).
 * Every reply fits in one 1024-byte datagram (BEP 32): `values` are trimmed until it does.
 */
import type { Address } from '../net/address.js';
import type { NodeInfo, QueryMessage, ResponseBody } from '../krpc/types.js';
import { KrpcErrorCode } from '../krpc/types.js';
import { isNotBad, type RoutingTable } from '../routing/routing-table.js';
import type { PeerStore } from '../store/peer-store.js';
import { bytesEqual } from '../util/bytes.js';
import { MAX_VALUES_PER_REPLY } from '../constants.js';
import { handleGet, handlePut, type ItemServerContext } from './item-handlers.js';

/** Max infohashes in a sample_infohashes reply: 20 * 20 B + 8 nodes keeps it under 1024 B. */
export const MAX_SAMPLES_PER_REPLY = 20;

/**
 * What the handlers need. BEP 44's get/put (item-handlers.ts) read the same context: one
 * `localId`, so a node that takes a new id (BEP 42) answers every query with it.
 */
export interface ServerContext extends ItemServerContext {
  k: number;
  table: RoutingTable;
  peers: PeerStore;
  /** BEP 51 `interval`, seconds. */
  sampleIntervalSeconds: number;
  /** Someone announced a peer to us. */
  onAnnounce: (infoHash: Uint8Array, peer: Address, from: NodeInfo) => void;
  /** An infohash was asked for (get_peers) or stored (accepted announce_peer): passive indexing. */
  onInfoHash?: (infoHash: Uint8Array, kind: 'get_peers' | 'announce_peer', from: NodeInfo) => void;
  /** A (non read-only) node queried us: the owner may verify it with a ping. */
  onQueryFrom: (node: NodeInfo) => void;
}

export function handleQuery(ctx: ServerContext, msg: QueryMessage, from: Address): void {
  const q = msg.query;
  if (bytesEqual(q.id, ctx.localId)) return; // our own id echoed back: never answer ourselves
  if (!msg.readOnly) ctx.onQueryFrom({ id: q.id, host: from.host, port: from.port });
  const id = ctx.localId;
  switch (q.method) {
    case 'ping':
      ctx.rpc.respond(from, msg.tid, { id });
      return;
    case 'find_node':
      ctx.rpc.respond(from, msg.tid, { id, nodes: closestNodes(ctx, q.target) });
      return;
    case 'get_peers': {
      const body: ResponseBody = {
        id,
        token: ctx.tokens.issue(from.host),
        nodes: closestNodes(ctx, q.infoHash)
      };
      const filters = q.scrape ? ctx.peers.scrapeFilters(q.infoHash) : undefined;
      if (filters) {
        body.BFsd = filters.seeds.bytes; // BEP 33: only when something is stored
        body.BFpe = filters.peers.bytes;
      }
      const values = ctx.peers.get(q.infoHash, MAX_VALUES_PER_REPLY, q.noseed ? { noseed: true } : undefined);
      respondTrimmingValues(ctx, from, msg.tid, body, values);
      ctx.onInfoHash?.(q.infoHash, 'get_peers', { id: q.id, host: from.host, port: from.port });
      return;
    }
    case 'announce_peer': {
      if (!ctx.tokens.verify(q.token, from.host)) {
        ctx.rpc.respondError(from, msg.tid, KrpcErrorCode.Protocol, 'bad token');
        return;
      }
      const port = q.impliedPort ? from.port : q.port;
      if (!(port >= 1 && port <= 65535)) {
        ctx.rpc.respondError(from, msg.tid, KrpcErrorCode.Protocol, 'invalid port');
        return;
      }
      const peer = { host: from.host, port };
      ctx.peers.add(q.infoHash, peer, q.seed ?? false);
      ctx.onAnnounce(q.infoHash, peer, { id: q.id, host: from.host, port: from.port });
      ctx.onInfoHash?.(q.infoHash, 'announce_peer', { id: q.id, host: from.host, port: from.port });
      ctx.rpc.respond(from, msg.tid, { id });
      return;
    }
    case 'sample_infohashes': {
      // Sample first: it prunes expired entries, so `num` then counts only live infohashes
      // (BEP 51 readers treat num < samples, or num inflated by dead entries, as suspect).
      const samples = ctx.peers.sampleInfoHashes(MAX_SAMPLES_PER_REPLY);
      ctx.rpc.respond(from, msg.tid, {
        id,
        interval: ctx.sampleIntervalSeconds,
        num: ctx.peers.infoHashCount(),
        samples,
        nodes: closestNodes(ctx, q.target)
      });
      return;
    }
    case 'get':
      handleGet(ctx, msg, q, from);
      return;
    case 'put':
      handlePut(ctx, msg, q, from);
      return;
    case 'unknown':
      if (q.target) ctx.rpc.respond(from, msg.tid, { id, nodes: closestNodes(ctx, q.target) });
      else ctx.rpc.respondError(from, msg.tid, KrpcErrorCode.MethodUnknown, 'Method Unknown');
      return;
  }
}

/**
 * Our k closest good-or-questionable nodes (bad ones are not handed out). The contacts
 * themselves, not copies: the encoder only reads them, synchronously, and they carry their
 * compact node info packed already (Contact.writeCompact).
 */
function closestNodes(ctx: ServerContext, target: Uint8Array): NodeInfo[] {
  return ctx.table.closest(target, ctx.k, isNotBad);
}

function respondTrimmingValues(
  ctx: ServerContext,
  to: Address,
  tid: Uint8Array,
  body: ResponseBody,
  values: Address[]
): void {
  let n = values.length;
  for (;;) {
    const sent = ctx.rpc.respond(to, tid, n > 0 ? { ...body, values: values.slice(0, n) } : body);
    if (sent || n === 0) return;
    n = Math.floor(n / 2);
  }
}
