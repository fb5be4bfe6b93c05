/**
 * Typed KRPC messages (BEP 5, with BEP 32 `want`/`nodes6`, BEP 33 scrape, BEP 43 `ro`, BEP 44
 * get/put, BEP 51 samples).
 * Byte fields are Uint8Array; addresses are IP literals + port.
 */

import type { Address } from '../net/address.js';
import type { PackedIp } from '../net/ip.js';

/** A DHT node: id + address. */
export interface NodeInfo extends Address {
  id: Uint8Array;
}

/**
 * A NodeInfo that also carries its host already parsed. Replies copy these bytes instead of
 * re-parsing the host text of every node in every reply. `packedIp` must always describe
 * `host` (whoever changes one changes both).
 */
export interface PackedNodeInfo extends NodeInfo {
  packedIp: PackedIp | undefined;
}

/**
 * A node that writes its own compact node info (routing-table contacts, which keep it packed:
 * no id copy, no host parse per reply). Its id is 20 bytes and its port in 1..65535 by
 * construction.
 */
export interface CompactWritable extends NodeInfo {
  /** Bytes of its compact node info: 26 (IPv4), 38 (IPv6), 0 if its host is not an IP literal. */
  compactSize(): number;
  /** Write its compact node info (id, address, port) at `pos`; returns the end. */
  writeCompact(out: Uint8Array, pos: number): number;
}

export type QueryMethod =
  'ping' | 'find_node' | 'get_peers' | 'announce_peer' | 'sample_infohashes' | 'get' | 'put';

/** BEP 32 `want` values. */
export type Want = 'n4' | 'n6';

export type Query =
  | { method: 'ping'; id: Uint8Array }
  | { method: 'find_node'; id: Uint8Array; target: Uint8Array; want?: Want[] }
  | {
      method: 'get_peers';
      id: Uint8Array;
      infoHash: Uint8Array;
      want?: Want[];
      noseed?: boolean;
      /** BEP 33: ask for the BFsd/BFpe bloom filters. */
      scrape?: boolean;
    }
  | {
      method: 'announce_peer';
      id: Uint8Array;
      infoHash: Uint8Array;
      port: number;
      token: Uint8Array;
      /** BEP 5 `implied_port`: use the UDP source port instead of `port`. */
      impliedPort: boolean;
      seed?: boolean;
    }
  | { method: 'sample_infohashes'; id: Uint8Array; target: Uint8Array }
  /** BEP 44 get; `seq`: send the value only if the stored seq is greater. */
  | { method: 'get'; id: Uint8Array; target: Uint8Array; seq?: number; want?: Want[] }
  | PutQuery
  /** A method we do not know; `target` kept when present so it can be served as find_node. */
  | { method: 'unknown'; name: string; id: Uint8Array; target?: Uint8Array };

/**
 * BEP 44 put. Immutable: `v` only. Mutable: `k`, `sig` and `seq` (with optional `salt` and
 * `cas`). `v` is the value's bencoded form exactly as it was received (or is to be sent): it
 * is what gets hashed and signed. The codec checks only the types; the storage rules (sizes,
 * signature, seq, cas) are the storing node's, so that each gets its BEP 44 error code.
 */
export interface PutQuery {
  method: 'put';
  id: Uint8Array;
  token: Uint8Array;
  v: Uint8Array;
  /** ed25519 public key, 32 bytes. */
  k?: Uint8Array;
  /** ed25519 signature, 64 bytes. */
  sig?: Uint8Array;
  seq?: number;
  salt?: Uint8Array;
  cas?: number;
}

export interface QueryMessage {
  type: 'query';
  tid: Uint8Array;
  query: Query;
  /** BEP 43: sender is read-only and must not enter routing tables. */
  readOnly: boolean;
  version?: Uint8Array;
}

/** Body of a response. Which fields are required depends on the query it answers. */
export interface ResponseBody {
  id: Uint8Array;
  nodes?: NodeInfo[];
  nodes6?: NodeInfo[];
  values?: Address[];
  token?: Uint8Array;
  /** BEP 51 */
  samples?: Uint8Array[];
  num?: number;
  interval?: number;
  /** BEP 33: bloom filters (256 bytes) of the stored seeds and other peers. */
  BFsd?: Uint8Array;
  BFpe?: Uint8Array;
  /** BEP 44: the stored value, bencoded, exactly as received or to be sent. */
  v?: Uint8Array;
  /** BEP 44 mutable items: public key (32 bytes), signature (64 bytes), sequence number. */
  k?: Uint8Array;
  sig?: Uint8Array;
  seq?: number;
}

export interface ResponseMessage {
  type: 'response';
  tid: Uint8Array;
  body: ResponseBody;
  /** BEP 42: our address as the responder sees it. */
  ip?: Address;
  version?: Uint8Array;
}

export interface ErrorMessage {
  type: 'error';
  tid: Uint8Array;
  code: number;
  message: string;
}

export type Message = QueryMessage | ResponseMessage | ErrorMessage;

/** KRPC error codes (BEP 5; 205-302 from BEP 44). */
export const KrpcErrorCode = {
  Generic: 201,
  Server: 202,
  Protocol: 203,
  MethodUnknown: 204,
  MessageTooBig: 205,
  InvalidSignature: 206,
  SaltTooBig: 207,
  CasMismatch: 301,
  SeqTooLow: 302
} as const;

/**
 * Result of decoding a datagram. Decoders never throw on network input.
 * When a datagram is a query whose arguments are invalid, `tid` is set so the caller can
 * answer with error 203.
 */
export type DecodeResult =
  { ok: true; message: Message } | { ok: false; reason: string; queryTid?: Uint8Array };
