/**
 * The storing node's rules for a BEP 44 put, as a pure decision over the put and what is
 * stored under its target (the token is checked before, by the handler). Each refusal carries
 * the error the BEP names:
 *   205 value (`v`) over 1000 bytes        207 salt over 64 bytes
 *   206 invalid signature                  301 `cas` is not the stored seq
 *   302 seq lower than the stored one (also: equal seq with another value; BEP 44 says a seq
 *       "lower than or equal" MUST be rejected, and 302 is its nearest code)
 * Equal seq with the same value is a re-put: it only refreshes the item's expiry.
 * `cas` is ignored when nothing is stored (BEP 44: "SHOULD be ignored").
 */
import { MAX_ITEM_SALT_BYTES, MAX_ITEM_VALUE_BYTES } from '../constants.js';
import { KrpcErrorCode, type PutQuery } from '../krpc/types.js';
import type { StoredItem } from '../store/item-store.js';
import { bytesEqual } from '../util/bytes.js';
import { verifySignature } from './ed25519.js';
import { immutableTarget, mutableTarget, signedBytes } from './item.js';

export type PutDecision =
  { ok: true; target: Uint8Array; item: StoredItem } | { ok: false; code: number; message: string };

/** Decide a put; `stored` looks up the live item under a target. */
export function decidePut(
  put: PutQuery,
  stored: (target: Uint8Array) => StoredItem | undefined
): PutDecision {
  if (put.v.length > MAX_ITEM_VALUE_BYTES)
    return refuse(KrpcErrorCode.MessageTooBig, `v is ${put.v.length} bytes, at most ${MAX_ITEM_VALUE_BYTES}`);
  if (put.k === undefined || put.sig === undefined || put.seq === undefined)
    return { ok: true, target: immutableTarget(put.v), item: { v: put.v } };

  const salt = put.salt ?? new Uint8Array(0);
  if (salt.length > MAX_ITEM_SALT_BYTES)
    return refuse(KrpcErrorCode.SaltTooBig, `salt is ${salt.length} bytes, at most ${MAX_ITEM_SALT_BYTES}`);
  if (!verifySignature(put.k, signedBytes(put.v, put.seq, salt), put.sig))
    return refuse(KrpcErrorCode.InvalidSignature, 'invalid signature');

  const target = mutableTarget(put.k, salt);
  const item: StoredItem = { v: put.v, k: put.k, sig: put.sig, seq: put.seq, salt };
  const current = stored(target);
  if (current?.seq === undefined) return { ok: true, target, item };
  if (put.cas !== undefined && put.cas !== current.seq)
    return refuse(KrpcErrorCode.CasMismatch, `cas ${put.cas} is not the stored seq ${current.seq}`);
  if (put.seq < current.seq)
    return refuse(KrpcErrorCode.SeqTooLow, `seq ${put.seq} is lower than the stored ${current.seq}`);
  if (put.seq === current.seq && !bytesEqual(put.v, current.v))
    return refuse(KrpcErrorCode.SeqTooLow, `seq ${put.seq} is already stored with another value`);
  return { ok: true, target, item };
}

function refuse(code: number, message: string): PutDecision {
  return { ok: false, code, message };
}
