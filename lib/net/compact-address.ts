/**
 * The compact address format of BEP 5 / BEP 11 / BEP 23 / BEP 32: IP (4 or 16 bytes) + port
 * (2 bytes, big-endian) -> 6 or 18 bytes. Used by KRPC `values` and node records, PEX and
 * holepunch messages.
 *
 * Decoders never throw: a length that is not a multiple of the record size gives undefined,
 * records with port 0 are dropped. Encoders throw InvalidArgumentError on bad input
 * (programmer errors: the data should have been validated before).
 */
import { COMPACT_PEER_V4_LENGTH, COMPACT_PEER_V6_LENGTH } from '../constants.js';
import { InvalidArgumentError } from '../errors.js';
import type { Address } from './address.js';
import { formatIp, parseIp, type IpFamily } from './ip.js';

export function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(
      'ERR_INVALID_PORT',
      `port must be an integer in 1..65535, got ${String(port)}`
    );
  }
}

export function hostBytes(host: string, family?: IpFamily): Uint8Array {
  const ip = parseIp(host);
  if (!ip)
    throw new InvalidArgumentError(
      'ERR_INVALID_ADDRESS',
      `not an IP literal: ${JSON.stringify(String(host))}`
    );
  if (family !== undefined && ip.length !== (family === 4 ? 4 : 16)) {
    throw new InvalidArgumentError('ERR_INVALID_ADDRESS', `expected an IPv${family} address, got ${host}`);
  }
  return ip;
}

export function writeAddress(out: Uint8Array, offset: number, ip: Uint8Array, port: number): void {
  out.set(ip, offset);
  out[offset + ip.length] = port >> 8;
  out[offset + ip.length + 1] = port & 0xff;
}

/** Read ip+port at `offset`; undefined when the port is 0 (unusable). */
export function readAddress(bytes: Uint8Array, offset: number, ipLength: number): Address | undefined {
  const port = ((bytes[offset + ipLength] ?? 0) << 8) | (bytes[offset + ipLength + 1] ?? 0);
  if (port === 0) return undefined;
  return { host: formatIp(bytes.subarray(offset, offset + ipLength)), port };
}

/** One compact address (6 bytes IPv4 / 18 bytes IPv6): a `values` entry or the BEP 42 `ip`. */
export function encodeCompactAddress(addr: Address): Uint8Array {
  checkPort(addr.port);
  const ip = hostBytes(addr.host);
  const out = new Uint8Array(ip.length + 2);
  writeAddress(out, 0, ip, addr.port);
  return out;
}

/** Inverse of encodeCompactAddress; undefined for a wrong length or port 0. */
export function decodeCompactAddress(bytes: Uint8Array): Address | undefined {
  if (bytes.length !== COMPACT_PEER_V4_LENGTH && bytes.length !== COMPACT_PEER_V6_LENGTH) return undefined;
  return readAddress(bytes, 0, bytes.length - 2);
}

/** Concatenated compact peers of one family (BEP 11 `added`/`added6`, BEP 23). */
export function encodeCompactPeers(peers: readonly Address[], family: IpFamily): Uint8Array {
  const size = family === 4 ? COMPACT_PEER_V4_LENGTH : COMPACT_PEER_V6_LENGTH;
  const out = new Uint8Array(peers.length * size);
  peers.forEach((peer, i) => {
    checkPort(peer.port);
    writeAddress(out, i * size, hostBytes(peer.host, family), peer.port);
  });
  return out;
}

/** Split concatenated compact peers; undefined if the length is not a multiple of 6 / 18. */
export function decodeCompactPeers(bytes: Uint8Array, family: IpFamily): Address[] | undefined {
  const size = family === 4 ? COMPACT_PEER_V4_LENGTH : COMPACT_PEER_V6_LENGTH;
  if (bytes.length % size !== 0) return undefined;
  const out: Address[] = [];
  for (let off = 0; off < bytes.length; off += size) {
    const addr = readAddress(bytes, off, size - 2);
    if (addr) out.push(addr);
  }
  return out;
}
