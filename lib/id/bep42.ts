/**
 * BEP 42 (DHT security extension): node ids tied to the node's external IP, so one machine
 * cannot choose ids next to a target of its liking (it gets 8 prefixes per IP, not 2^160).
 *
 * The first 21 bits of a compliant id equal the first 21 bits of
 * crc32c((ip & mask) | (r << 29)) — IPv4, mask 0x030f3fff — or of the same over the high
 * 64 bits of an IPv6 address with mask 0x0103070f1f3f7fff and r << 61, where r is the low 3
 * bits of the id's last byte. As libtorrent does (and the BEP's test vectors require), the
 * hash runs over the 4 (IPv4) or 8 (IPv6) masked bytes, not over an 8-byte integer.
 * Local addresses (BEP 42's list, see net/ip-class.ts) are exempt: every id is valid there.
 */
import { parseIp } from '../net/ip.js';
import { ipScope } from '../net/ip-class.js';
import type { RandomSource } from '../util/random.js';
import { ID_LENGTH } from '../constants.js';

const V4_MASK = [0x03, 0x0f, 0x3f, 0xff];
const V6_MASK = [0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff];

/** The 32-bit crc32c (Castagnoli) of `ip` masked and salted with `r`, or undefined if `host` is no IP. */
function bep42Hash(host: string, r: number): number | undefined {
  const ip = parseIp(host);
  if (!ip) return undefined;
  const mask = ip.length === 4 ? V4_MASK : V6_MASK;
  const bytes = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) bytes[i] = ip[i]! & mask[i]!;
  bytes[0] = bytes[0]! | ((r & 7) << 5);
  return crc32c(bytes);
}

/**
 * A BEP 42 id for `host`: the 21-bit prefix from the hash, random middle, `r` (random unless
 * given) in the low 3 bits of the last byte. Returns undefined if `host` is not an IP literal.
 */
export function bep42Id(host: string, random: RandomSource, r?: number): Uint8Array | undefined {
  const id = random.bytes(ID_LENGTH);
  const salt = r ?? id[ID_LENGTH - 1]! & 7;
  const h = bep42Hash(host, salt);
  if (h === undefined) return undefined;
  id[0] = h >>> 24;
  id[1] = (h >>> 16) & 0xff;
  id[2] = ((h >>> 8) & 0xf8) | (id[2]! & 7);
  id[ID_LENGTH - 1] = (id[ID_LENGTH - 1]! & 0xf8) | (salt & 7);
  return id;
}

/** Does `id` match `host` under BEP 42? Local addresses and non-IP hosts: always true. */
export function isBep42Compliant(id: Uint8Array, host: string): boolean {
  if (ipScope(host) !== 'public') return true;
  const h = bep42Hash(host, id[ID_LENGTH - 1]! & 7);
  if (h === undefined) return true;
  return id[0] === h >>> 24 && id[1] === ((h >>> 16) & 0xff) && (id[2]! & 0xf8) === ((h >>> 8) & 0xf8);
}

const CRC32C_TABLE = ((): Uint32Array => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), as in iSCSI and libtorrent. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC32C_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
