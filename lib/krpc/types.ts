/**
 * Typed KRPC messages (BEP 5, with BEP 32 `want`/`nodes6`, BEP 43 `ro`, BEP 51 samples).
 * Byte fields are Uint8Array; addresses are IP literals + port.
 */

import type { Address } from '../net/address.js';

/** A DHT node: id + address. */
export interface NodeInfo extends Address {
  id: Uint8Array;
}

/**
 * An IP address parsed once for compact records: IPv4 as a 32-bit integer (signed: no
 * allocation per address), IPv6 as its 16 bytes (see compact.ts `packIp`).
 */
export type PackedIp = number | Uint8Array;

/**
 * A NodeInfo that also carries its host already parsed (routing-table contacts). Replies copy
 * these bytes instead of re-parsing the host text of every node in every reply. `packedIp`
 * must always describe `host` (whoever changes one changes both).
 */
export interface PackedNodeInfo extends NodeInfo {
  packedIp: PackedIp | undefined;
}

export type QueryMethod = 'ping' | 'find_node' | 'get_peers' | 'announce_peer' | 'sample_infohashes';

/** BEP 32 `want` values. */
export type Want = 'n4' | 'n6';

export type Query =
  | { method: 'ping'; id: Uint8Array }
  | { method: 'find_node'; id: Uint8Array; target: Uint8Array; want?: Want[] }
  | { method: 'get_peers'; id: Uint8Array; infoHash: Uint8Array; want?: Want[]; noseed?: boolean }
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
  /** A method we do not know; `target` kept when present so it can be served as find_node. */
  | { method: 'unknown'; name: string; id: Uint8Array; target?: Uint8Array };

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

/** KRPC error codes (BEP 5). */
export const KrpcErrorCode = {
  Generic: 201,
  Server: 202,
  Protocol: 203,
  MethodUnknown: 204
} as const;

/**
 * Result of decoding a datagram. Decoders never throw on network input.
 * When a datagram is a query whose arguments are invalid, `tid` is set so the caller can
 * answer with error 203.
 */
export type DecodeResult =
  { ok: true; message: Message } | { ok: false; reason: string; queryTid?: Uint8Array };
