/**
 * KRPC response writer: every field of a ResponseBody written straight into one buffer, in
 * the key order bencode requires, with no intermediate dictionary, key strings or per-node
 * arrays.
 *
 * Why not the generic writer (writer.ts): replies are what a busy node spends its CPU on, and
 * their shape is fixed. Going through a generic dictionary meant building it, sorting its
 * keys, encoding each node's compact form into its own array and re-parsing every node's host
 * text on every reply (~20 % of the server's busy CPU in the serve benchmark). Routing-table
 * contacts write their own compact form from their packed record (CompactWritable); nodes
 * carrying their address already parsed (PackedNodeInfo) have those bytes copied.
 *
 * Output is byte-identical to bencode.encode of the same message (property-tested against it
 * in test/unit/krpc-response-writer.test.ts). Validation is that of the generic path: a bad
 * field is a programmer error and throws InvalidArgumentError with the same codes.
 */
import {
  COMPACT_NODE_V4_LENGTH,
  COMPACT_NODE_V6_LENGTH,
  ID_LENGTH,
  MAX_TID_BYTES,
  MAX_TOKEN_BYTES
} from '../constants.js';
import { InvalidArgumentError } from '../errors.js';
import { packIp, writePackedIp, type PackedIp } from '../net/ip.js';
import type { Address } from '../net/address.js';
import type { CompactWritable, NodeInfo, PackedNodeInfo, ResponseBody } from './types.js';

/** Longest client version (`v`) we send or keep (BEP 20 style versions are 4 bytes). */
export const MAX_VERSION_BYTES = 16;

const NO_NODES: readonly NodeInfo[] = [];
const COLON = 0x3a;

function invalid(message: string): never {
  throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', message);
}

function checkBytes(name: string, v: unknown, min: number, max: number): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length < min || v.length > max) {
    invalid(`${name} must be a Uint8Array of ${min === max ? min : `${min}..${max}`} bytes`);
  }
  return v;
}

function checkCount(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    invalid(`${name} must be an integer in 0..${Number.MAX_SAFE_INTEGER}, got ${String(v)}`);
  }
  return v;
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(
      'ERR_INVALID_PORT',
      `port must be an integer in 1..65535, got ${String(port)}`
    );
  }
}

/** The node's address as packed bytes: the contact's cached form, else its host parsed now. */
function nodeIp(node: NodeInfo): PackedIp {
  const ip = (node as Partial<PackedNodeInfo>).packedIp ?? packIp(node.host);
  if (ip === undefined) invalid('node host must be an IP literal');
  return ip;
}

function writesItself(node: NodeInfo): node is CompactWritable {
  return (node as Partial<CompactWritable>).writeCompact !== undefined;
}

/** The node's compact node info size (26 or 38), checking a node that does not write itself. */
function compactSize(node: NodeInfo): number {
  if (writesItself(node)) {
    const size = node.compactSize();
    if (size === 0) invalid('node host must be an IP literal');
    return size;
  }
  const ip = nodeIp(node);
  if (!(node.id instanceof Uint8Array) || node.id.length !== ID_LENGTH)
    invalid(`node id must be ${ID_LENGTH} bytes`);
  checkPort(node.port);
  return typeof ip === 'number' ? COMPACT_NODE_V4_LENGTH : COMPACT_NODE_V6_LENGTH;
}

function peerIp(peer: Address): PackedIp {
  checkPort(peer.port);
  const ip = packIp(peer.host);
  if (ip === undefined) {
    throw new InvalidArgumentError(
      'ERR_INVALID_ADDRESS',
      `not an IP literal: ${JSON.stringify(String(peer.host))}`
    );
  }
  return ip;
}

/** Decimal digits of a non-negative safe integer. */
function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Bencoded size of a byte string of `len` bytes ("<len>:<bytes>"). */
const strSize = (len: number): number => digits(len) + 1 + len;
/** Bencoded size of a non-negative integer ("i<n>e"). */
const intSize = (n: number): number => digits(n) + 2;

function writeUint(out: Uint8Array, pos: number, n: number): number {
  const end = pos + digits(n);
  for (let i = end - 1; i >= pos; i--) {
    out[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}

/** ASCII text (keys and their length prefixes, written as literals like "5:nodes"). */
function writeAscii(out: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) out[pos + i] = s.charCodeAt(i);
  return pos + s.length;
}

function writeString(out: Uint8Array, pos: number, bytes: Uint8Array): number {
  pos = writeUint(out, pos, bytes.length);
  out[pos++] = COLON;
  out.set(bytes, pos);
  return pos + bytes.length;
}

function writeInt(out: Uint8Array, pos: number, n: number): number {
  out[pos++] = 0x69; // 'i'
  pos = writeUint(out, pos, n);
  out[pos++] = 0x65; // 'e'
  return pos;
}

function writeAddress(out: Uint8Array, pos: number, ip: PackedIp, port: number): number {
  pos = writePackedIp(out, pos, ip);
  out[pos++] = port >> 8;
  out[pos++] = port & 0xff;
  return pos;
}

/** Nodes of one family (4: `nodes`, 6: `nodes6`) from both lists, in order, as one string. */
function writeNodes(
  out: Uint8Array,
  pos: number,
  lists: ReadonlyArray<readonly NodeInfo[]>,
  count: number,
  v4: boolean
): number {
  pos = writeUint(out, pos, count * (v4 ? COMPACT_NODE_V4_LENGTH : COMPACT_NODE_V6_LENGTH));
  out[pos++] = COLON;
  for (const list of lists) {
    for (const node of list) {
      if (writesItself(node)) {
        if ((node.compactSize() === COMPACT_NODE_V4_LENGTH) === v4) pos = node.writeCompact(out, pos);
        continue;
      }
      const ip = nodeIp(node);
      if ((typeof ip === 'number') !== v4) continue;
      out.set(node.id, pos);
      pos = writeAddress(out, pos + ID_LENGTH, ip, node.port);
    }
  }
  return pos;
}

/**
 * Encode a response: `d [2:ip …] 1:r d [BFpe] [BFsd] 2:id … [interval] [k] [nodes] [nodes6]
 * [num] [samples] [seq] [sig] [token] [v] [values] e 1:t … [1:v …] 1:y 1:r e` (keys in
 * bencode's byte order; `r.v` is a BEP 44 value, already bencoded, written as is). Nodes go to
 * `nodes` / `nodes6` by address family whichever list they came in; an explicitly empty list
 * is sent as an empty string. `ip` (BEP 42) is left out unless it is an IP literal with a port
 * in 1..65535: it echoes network input, so it is a hint, never an error.
 */
export function writeResponse(
  tid: Uint8Array,
  body: ResponseBody,
  ip?: Address,
  version?: Uint8Array
): Uint8Array {
  const id = checkBytes('id', body.id, ID_LENGTH, ID_LENGTH);
  const lists = [body.nodes ?? NO_NODES, body.nodes6 ?? NO_NODES];
  let n4 = 0;
  let n6 = 0;
  for (const list of lists) {
    for (const node of list) {
      if (compactSize(node) === COMPACT_NODE_V4_LENGTH) n4++;
      else n6++;
    }
  }
  const withNodes = n4 > 0 || body.nodes?.length === 0;
  const withNodes6 = n6 > 0 || body.nodes6?.length === 0;

  // Sizes first, so the message is written once into a buffer of exactly its length.
  let rSize = 2 + 4 + strSize(ID_LENGTH); // d 2:id 20:<id> e
  const bfpe = body.BFpe === undefined ? undefined : checkBytes('BFpe', body.BFpe, 256, 256);
  const bfsd = body.BFsd === undefined ? undefined : checkBytes('BFsd', body.BFsd, 256, 256);
  if (bfpe) rSize += 6 + strSize(256);
  if (bfsd) rSize += 6 + strSize(256);
  const k = body.k === undefined ? undefined : checkBytes('k', body.k, 32, 32);
  if (k) rSize += 3 + strSize(32);
  if (body.seq !== undefined) rSize += 5 + intSize(checkCount('seq', body.seq));
  const sig = body.sig === undefined ? undefined : checkBytes('sig', body.sig, 64, 64);
  if (sig) rSize += 5 + strSize(64);
  const v = body.v === undefined ? undefined : checkBytes('v', body.v, 1, Infinity);
  if (v) rSize += 3 + v.length;
  if (body.interval !== undefined) rSize += 10 + intSize(checkCount('interval', body.interval));
  if (withNodes) rSize += 7 + strSize(n4 * COMPACT_NODE_V4_LENGTH);
  if (withNodes6) rSize += 8 + strSize(n6 * COMPACT_NODE_V6_LENGTH);
  if (body.num !== undefined) rSize += 5 + intSize(checkCount('num', body.num));
  if (body.samples !== undefined) {
    for (const s of body.samples) checkBytes('sample', s, ID_LENGTH, ID_LENGTH);
    rSize += 9 + strSize(body.samples.length * ID_LENGTH);
  }
  const token = body.token === undefined ? undefined : checkBytes('token', body.token, 1, MAX_TOKEN_BYTES);
  if (token) rSize += 7 + strSize(token.length);
  let valueIps: PackedIp[] | undefined;
  if (body.values !== undefined) {
    valueIps = body.values.map(peerIp);
    rSize += 8 + 2; // 6:values l … e
    for (const v of valueIps) rSize += strSize(typeof v === 'number' ? 6 : 18);
  }
  checkBytes('tid', tid, 1, MAX_TID_BYTES);
  if (version !== undefined) checkBytes('version', version, 0, MAX_VERSION_BYTES);
  const ipPacked =
    ip && Number.isInteger(ip.port) && ip.port >= 1 && ip.port <= 65535 ? packIp(ip.host) : undefined;

  let size = 2 + 3 + rSize + 3 + strSize(tid.length) + 6; // d 1:r … 1:t … 1:y1:r e
  if (ipPacked !== undefined) size += 4 + strSize(typeof ipPacked === 'number' ? 6 : 18);
  if (version !== undefined) size += 3 + strSize(version.length);

  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  out[pos++] = 0x64; // 'd'
  if (ipPacked !== undefined) {
    pos = writeAscii(out, pos, typeof ipPacked === 'number' ? '2:ip6:' : '2:ip18:');
    pos = writeAddress(out, pos, ipPacked, ip!.port);
  }
  pos = writeAscii(out, pos, '1:rd');
  if (bfpe) pos = writeString(out, writeAscii(out, pos, '4:BFpe'), bfpe);
  if (bfsd) pos = writeString(out, writeAscii(out, pos, '4:BFsd'), bfsd);
  pos = writeAscii(out, pos, '2:id20:');
  out.set(id, pos);
  pos += ID_LENGTH;
  if (body.interval !== undefined) pos = writeInt(out, writeAscii(out, pos, '8:interval'), body.interval);
  if (k) pos = writeString(out, writeAscii(out, pos, '1:k'), k);
  if (withNodes) pos = writeNodes(out, writeAscii(out, pos, '5:nodes'), lists, n4, true);
  if (withNodes6) pos = writeNodes(out, writeAscii(out, pos, '6:nodes6'), lists, n6, false);
  if (body.num !== undefined) pos = writeInt(out, writeAscii(out, pos, '3:num'), body.num);
  if (body.samples !== undefined) {
    pos = writeUint(out, writeAscii(out, pos, '7:samples'), body.samples.length * ID_LENGTH);
    out[pos++] = COLON;
    for (const s of body.samples) {
      out.set(s, pos);
      pos += ID_LENGTH;
    }
  }
  if (body.seq !== undefined) pos = writeInt(out, writeAscii(out, pos, '3:seq'), body.seq);
  if (sig) pos = writeString(out, writeAscii(out, pos, '3:sig'), sig);
  if (token) pos = writeString(out, writeAscii(out, pos, '5:token'), token);
  if (v) {
    out.set(v, writeAscii(out, pos, '1:v'));
    pos += 3 + v.length;
  }
  if (valueIps !== undefined) {
    pos = writeAscii(out, pos, '6:valuesl');
    valueIps.forEach((v, i) => {
      pos = writeAddress(
        out,
        writeAscii(out, pos, typeof v === 'number' ? '6:' : '18:'),
        v,
        body.values![i]!.port
      );
    });
    out[pos++] = 0x65; // end of values
  }
  pos = writeAscii(out, pos, 'e1:t'); // end of r
  pos = writeString(out, pos, tid);
  if (version !== undefined) pos = writeString(out, writeAscii(out, pos, '1:v'), version);
  pos = writeAscii(out, pos, '1:y1:re');
  if (pos !== size) throw new Error(`response writer: wrote ${pos} of ${size} bytes`); // unreachable
  return out;
}
