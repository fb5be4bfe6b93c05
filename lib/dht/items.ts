/**
 * BEP 44 as a client: get walks (the generic lookup with a `get` query) and puts to the k
 * closest nodes that gave a write token, as announce does for peers.
 *
 * Every value read from the network is verified before it is believed: an immutable value
 * must hash to its target; a mutable one must carry the key we asked for and a signature over
 * salt, seq and value that verifies. A liar's reply is ignored (its nodes still help the walk).
 */
import type { NodeInfo, PutQuery, Query, ResponseBody } from '../krpc/types.js';
import type { LookupResult } from '../lookup/lookup.js';
import type { NodeLookups } from './node-lookups.js';
import type { ImmutableItem, ItemValue, MutableItem } from '../item/item.js';
import {
  acceptImmutable,
  acceptMutable,
  checkSalt,
  encodeItemValue,
  immutableTarget,
  mutableTarget,
  signedBytes
} from '../item/item.js';
import { PUBLIC_KEY_BYTES, signMessage, verifySignature, type KeyPair } from '../item/ed25519.js';
import { AbortError, InvalidArgumentError, RemoteError } from '../errors.js';
import { linkedController } from '../util/abort.js';
import { toHex } from '../util/bytes.js';

/** What the item operations need from their DHT node. */
export interface ItemClient {
  readonly lookups: NodeLookups;
  readonly k: number;
  readonly localId: Uint8Array;
  /** One query to a node whose id we know (the reply must come from that id). */
  queryNode(to: NodeInfo, query: Query, signal: AbortSignal | undefined): Promise<ResponseBody>;
}

export interface PutResult {
  /** Where the item is stored: SHA-1 of the value (immutable) or of key + salt (mutable). */
  target: Uint8Array;
  /** The sequence number put (mutable items). */
  seq?: number;
  /** Nodes that stored it. */
  storedOn: number;
  /** Nodes it was sent to: the k closest that gave a write token. */
  targets: number;
  /** KRPC error codes of the nodes that refused (302: they hold a newer seq; 301: cas mismatch). */
  refusals: number[];
  lookup: LookupResult;
}

export interface PutMutableOptions {
  /** The value (at most 1000 bytes bencoded). */
  value: ItemValue;
  /** The signing key pair; or give `publicKey` and `sign` (e.g. a hardware or remote signer). */
  keyPair?: KeyPair;
  publicKey?: Uint8Array;
  /** Returns the ed25519 signature of `message` by the key of `publicKey`. */
  sign?: (message: Uint8Array) => Uint8Array | Promise<Uint8Array>;
  /** Up to 64 bytes (a string is taken as UTF-8); one key can publish many items, one per salt. */
  salt?: Uint8Array | string;
  /** Default: one more than the highest seq found in the DHT, or 1 for a new item. */
  seq?: number;
  /** Compare and swap: store only where the current seq is this one (else error 301). */
  cas?: number;
  signal?: AbortSignal;
}

export interface GetMutableOptions {
  salt?: Uint8Array | string;
  /** Only a value newer than this seq (nodes then leave out older values). */
  seq?: number;
  signal?: AbortSignal;
}

/** The first verified copy of an immutable item, or null if the walk ends without one. */
export async function getImmutable(
  c: ItemClient,
  target: Uint8Array,
  signal?: AbortSignal
): Promise<ImmutableItem | null> {
  const controller = linkedController(signal);
  let found: ImmutableItem | undefined;
  try {
    await c.lookups.run(
      target,
      {
        query: { method: 'get', id: c.localId, target },
        onReply: (body) => {
          found ??= acceptImmutable(target, body.v);
          if (found) controller.abort(); // a verified copy is the value: no need to walk on
        }
      },
      controller.signal
    );
  } finally {
    controller.dispose();
  }
  if (!found && signal?.aborted) throw new AbortError();
  return found ?? null;
}

/** The verified mutable item with the highest seq the walk finds, or null. */
export async function getMutable(
  c: ItemClient,
  publicKey: Uint8Array,
  opts: GetMutableOptions = {}
): Promise<MutableItem | null> {
  checkPublicKey(publicKey);
  const salt = checkSalt(opts.salt);
  const { best, lookup } = await walkMutable(c, publicKey, salt, opts.seq, opts.signal);
  if (lookup.aborted) throw new AbortError();
  return best ?? null;
}

/** Store an immutable value on the k closest nodes to its hash. */
export async function putImmutable(
  c: ItemClient,
  value: ItemValue,
  signal?: AbortSignal
): Promise<PutResult> {
  const v = encodeItemValue(value);
  const target = immutableTarget(v);
  const lookup = await c.lookups.run(
    target,
    { query: { method: 'get', id: c.localId, target }, onReply: () => {} },
    signal
  );
  if (lookup.aborted) throw new AbortError();
  return {
    target,
    ...(await putToClosest(
      c,
      lookup,
      () => ({ method: 'put', id: c.localId, token: new Uint8Array(0), v }),
      signal
    ))
  };
}

/** Sign and store a mutable item on the k closest nodes to SHA-1(public key + salt). */
export async function putMutable(c: ItemClient, opts: PutMutableOptions): Promise<PutResult> {
  const v = encodeItemValue(opts.value);
  const salt = checkSalt(opts.salt);
  const publicKey = opts.keyPair?.publicKey ?? opts.publicKey;
  if (publicKey === undefined || (!opts.keyPair && !opts.sign))
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      'putMutable needs a keyPair, or a publicKey and sign'
    );
  checkPublicKey(publicKey);
  if (opts.seq !== undefined) checkSeq(opts.seq, 'seq');
  if (opts.cas !== undefined) checkSeq(opts.cas, 'cas');

  // The walk finds the write tokens, the current seq, and which nodes hold the item (only
  // those get `cas`: BEP 44 says not to send it to nodes that returned no data).
  const { best, holders, lookup } = await walkMutable(c, publicKey, salt, undefined, opts.signal);
  if (lookup.aborted) throw new AbortError();
  const seq = opts.seq ?? (best ? best.seq + 1 : 1);
  checkSeq(seq, 'seq');
  const message = signedBytes(v, seq, salt);
  const sig = opts.keyPair ? signMessage(opts.keyPair, message) : await opts.sign!(message);
  if (!(sig instanceof Uint8Array) || !verifySignature(publicKey, message, sig))
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      'the signature does not verify with the public key'
    );

  const put = (node: NodeInfo): PutQuery => ({
    method: 'put',
    id: c.localId,
    token: new Uint8Array(0),
    v,
    k: publicKey,
    sig,
    seq,
    ...(salt.length > 0 ? { salt } : {}),
    ...(opts.cas !== undefined && holders.has(toHex(node.id)) ? { cas: opts.cas } : {})
  });
  const result = await putToClosest(c, lookup, put, opts.signal);
  return { target: mutableTarget(publicKey, salt), seq, ...result };
}

/**
 * Put an item again exactly as it was read (value, seq and signature unchanged), to keep it
 * alive: BEP 44 lets anyone re-put, no private key needed. Nodes holding it only refresh it.
 */
export async function republish(
  c: ItemClient,
  item: ImmutableItem | MutableItem,
  signal?: AbortSignal
): Promise<PutResult> {
  const mutable = 'publicKey' in item ? item : undefined;
  const target = mutable ? mutableTarget(mutable.publicKey, mutable.salt) : immutableTarget(item.v);
  const lookup = await c.lookups.run(
    target,
    { query: { method: 'get', id: c.localId, target }, onReply: () => {} },
    signal
  );
  if (lookup.aborted) throw new AbortError();
  const put = (): PutQuery => ({
    method: 'put',
    id: c.localId,
    token: new Uint8Array(0),
    v: item.v,
    ...(mutable
      ? {
          k: mutable.publicKey,
          sig: mutable.signature,
          seq: mutable.seq,
          ...(mutable.salt.length ? { salt: mutable.salt } : {})
        }
      : {})
  });
  return {
    target,
    ...(mutable ? { seq: mutable.seq } : {}),
    ...(await putToClosest(c, lookup, put, signal))
  };
}

async function walkMutable(
  c: ItemClient,
  publicKey: Uint8Array,
  salt: Uint8Array,
  newerThan: number | undefined,
  signal: AbortSignal | undefined
): Promise<{ best: MutableItem | undefined; holders: Set<string>; lookup: LookupResult }> {
  const target = mutableTarget(publicKey, salt);
  let best: MutableItem | undefined;
  const holders = new Set<string>();
  const query: Query = {
    method: 'get',
    id: c.localId,
    target,
    ...(newerThan !== undefined ? { seq: newerThan } : {})
  };
  const lookup = await c.lookups.run(
    target,
    {
      query,
      onReply: (body, from) => {
        // Only a verified item counts as "holding" it; a bare `seq` is not proof of anything.
        const item = acceptMutable(publicKey, salt, body);
        if (!item) return;
        holders.add(toHex(from.id));
        if (!best || item.seq > best.seq) best = item;
      }
    },
    signal
  );
  return { best, holders, lookup };
}

/** Send the put (with each node's own token) to the k closest responders that gave one. */
async function putToClosest(
  c: ItemClient,
  lookup: LookupResult,
  make: (node: NodeInfo) => PutQuery,
  signal: AbortSignal | undefined
): Promise<Omit<PutResult, 'target' | 'seq' | 'lookup'> & { lookup: LookupResult }> {
  const targets = lookup.closest.filter((r) => r.token !== undefined).slice(0, c.k);
  const results = await Promise.allSettled(
    targets.map((t) => c.queryNode(t.node, { ...make(t.node), token: t.token! }, signal))
  );
  if (signal?.aborted) throw new AbortError();
  const refusals: number[] = [];
  for (const r of results)
    if (r.status === 'rejected' && r.reason instanceof RemoteError) refusals.push(r.reason.remoteCode);
  const storedOn = results.filter((r) => r.status === 'fulfilled').length;
  return { storedOn, targets: targets.length, refusals, lookup };
}

function checkPublicKey(publicKey: Uint8Array): void {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES)
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `an ed25519 public key is ${PUBLIC_KEY_BYTES} bytes`
    );
}

function checkSeq(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `${name} must be an integer in 0..2^53-1, got ${n}`
    );
}
