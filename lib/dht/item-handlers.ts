/**
 * Inbound BEP 44 queries: `get` (a write token, the closest nodes, and the stored item) and
 * `put` (token first, then the put rules of item/put-rules.ts, each refusal with its BEP 44
 * error code, nothing stored on any refusal).
 *
 * The token is checked before the signature: an ed25519 verification costs far more than a
 * token hash, and a token proves the sender owns its source address, so spoofed floods never
 * reach the expensive check.
 */
import type { Address } from '../net/address.js';
import type { NodeInfo, PutQuery, QueryMessage, ResponseBody } from '../krpc/types.js';
import { KrpcErrorCode } from '../krpc/types.js';
import type { RpcSocket } from '../rpc/rpc-socket.js';
import type { TokenIssuer } from '../store/token-issuer.js';
import type { ItemStore } from '../store/item-store.js';
import { decidePut } from '../item/put-rules.js';

export interface ItemServerContext {
  localId: Uint8Array;
  tokens: TokenIssuer;
  items: ItemStore;
  rpc: RpcSocket;
  closestNodes(target: Uint8Array): NodeInfo[];
}

export function handleGet(
  ctx: ItemServerContext,
  msg: QueryMessage,
  q: { target: Uint8Array; seq?: number },
  from: Address
): void {
  const body: ResponseBody = { id: ctx.localId, token: ctx.tokens.issue(from.host) };
  const item = ctx.items.get(q.target);
  if (item?.seq === undefined) {
    if (item) body.v = item.v;
  } else {
    body.seq = item.seq; // always: it tells the asker how new our copy is
    // BEP 44: with `seq`, the value only if ours is newer.
    if (q.seq === undefined || q.seq < item.seq) Object.assign(body, { k: item.k, sig: item.sig, v: item.v });
  }
  // A 1000-byte value leaves less room for nodes: fewer until the reply fits.
  const nodes = ctx.closestNodes(q.target);
  for (let n = nodes.length; ; n = Math.floor(n / 2)) {
    if (ctx.rpc.respond(from, msg.tid, { ...body, nodes: nodes.slice(0, n) }) || n === 0) return;
  }
}

export function handlePut(ctx: ItemServerContext, msg: QueryMessage, q: PutQuery, from: Address): void {
  if (!ctx.tokens.verify(q.token, from.host)) {
    ctx.rpc.respondError(from, msg.tid, KrpcErrorCode.Protocol, 'bad token');
    return;
  }
  const decision = decidePut(q, (target) => ctx.items.get(target));
  if (!decision.ok) {
    ctx.rpc.respondError(from, msg.tid, decision.code, decision.message);
    return;
  }
  ctx.items.put(decision.target, decision.item, from.host);
  ctx.rpc.respond(from, msg.tid, { id: ctx.localId });
}
