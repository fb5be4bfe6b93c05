/**
 * Compact node infos of BEP 5 / BEP 32: id (20 bytes) + compact address (net/compact-address.ts)
 * -> 26 or 38 bytes.
 *
 * Decoders never throw: a length that is not a multiple of the record size gives undefined,
 * records with port 0 are dropped. Encoders throw InvalidArgumentError on bad input.
 */
import { COMPACT_NODE_V4_LENGTH, COMPACT_NODE_V6_LENGTH, ID_LENGTH } from '../constants.js';
import { InvalidArgumentError } from '../errors.js';
import { checkPort, hostBytes, readAddress, writeAddress } from '../net/compact-address.js';
import type { IpFamily } from '../net/ip.js';
import type { NodeInfo } from './types.js';

/** Concatenated compact node infos of one family (`nodes` = IPv4, `nodes6` = IPv6). */
export function encodeCompactNodes(nodes: readonly NodeInfo[], family: IpFamily): Uint8Array {
  const size = family === 4 ? COMPACT_NODE_V4_LENGTH : COMPACT_NODE_V6_LENGTH;
  const out = new Uint8Array(nodes.length * size);
  nodes.forEach((node, i) => {
    if (!(node.id instanceof Uint8Array) || node.id.length !== ID_LENGTH) {
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `node id must be ${ID_LENGTH} bytes`);
    }
    checkPort(node.port);
    out.set(node.id, i * size);
    writeAddress(out, i * size + ID_LENGTH, hostBytes(node.host, family), node.port);
  });
  return out;
}

/**
 * Split concatenated compact node infos; undefined if the length is not a multiple of 26 / 38.
 * Records with port 0 are dropped. The ids are views into one copy of `bytes`, so they do not
 * pin the datagram buffer, and cost one allocation per reply rather than one per id.
 */
export function decodeCompactNodes(bytes: Uint8Array, family: IpFamily): NodeInfo[] | undefined {
  const size = family === 4 ? COMPACT_NODE_V4_LENGTH : COMPACT_NODE_V6_LENGTH;
  if (bytes.length % size !== 0) return undefined;
  const own = new Uint8Array(bytes); // a copy, whatever kind of view `bytes` is
  const out: NodeInfo[] = [];
  for (let off = 0; off < own.length; off += size) {
    const addr = readAddress(own, off + ID_LENGTH, size - ID_LENGTH - 2);
    if (addr) out.push({ id: own.subarray(off, off + ID_LENGTH), host: addr.host, port: addr.port });
  }
  return out;
}
