/**
 * The BEP 33 scrape bloom filter: m = 2048 bits (256 bytes), k = 2 hash functions, IP
 * addresses only (4 or 16 bytes, never ports). Every implementation must be functionally
 * identical to the BEP's pseudocode, or DHT scrapes mix incompatible filters: the bits set for
 * an IP are the first two little-endian 16-bit words of SHA-1(ip), each taken mod 2048.
 *
 * A node returns one filter for its seeds (`BFsd`) and one for its other peers (`BFpe`); a
 * scraper ORs the filters of the nodes closest to the infohash and estimates the size of the
 * union. The estimate saturates near 8,000 entries (BEP 33 asks stores to stay below 6,000).
 */
import { hash } from 'node:crypto';

/** Filter size in bytes (BEP 33: m = 256 * 8 bits). */
export const BLOOM_BYTES = 256;
const BITS = BLOOM_BYTES * 8;
/** BEP 33: k = 2. */
const HASHES = 2;
/** ln(1 - 1/m), the denominator of the size estimate (divided by k). */
const LOG_KEEP = Math.log(1 - 1 / BITS);

export class ScrapeBloomFilter {
  /** The 256 filter bytes, as sent in `BFsd` / `BFpe`. */
  readonly bytes: Uint8Array;

  /** An empty filter, or a copy of 256 received bytes (throws on any other length). */
  constructor(bytes?: Uint8Array) {
    if (bytes !== undefined && bytes.length !== BLOOM_BYTES) {
      throw new RangeError(`a BEP 33 bloom filter is ${BLOOM_BYTES} bytes, got ${bytes.length}`);
    }
    this.bytes = bytes ? Uint8Array.from(bytes) : new Uint8Array(BLOOM_BYTES);
  }

  /** Insert one IP address: its 4 (IPv4) or 16 (IPv6) raw bytes. */
  insertIp(ip: Uint8Array): void {
    const [a, b] = bitIndexes(ip);
    this.bytes[a >> 3]! |= 1 << (a & 7);
    this.bytes[b >> 3]! |= 1 << (b & 7);
  }

  /** True if `ip` may be in the filter (false means certainly not). */
  mayContainIp(ip: Uint8Array): boolean {
    const [a, b] = bitIndexes(ip);
    return (this.bytes[a >> 3]! & (1 << (a & 7))) !== 0 && (this.bytes[b >> 3]! & (1 << (b & 7))) !== 0;
  }

  /** OR `other` into this filter: the filter of the union of both sets. */
  union(other: ScrapeBloomFilter | Uint8Array): void {
    const src = other instanceof ScrapeBloomFilter ? other.bytes : other;
    if (src.length !== BLOOM_BYTES) throw new RangeError(`bloom filters are ${BLOOM_BYTES} bytes`);
    for (let i = 0; i < BLOOM_BYTES; i++) this.bytes[i]! |= src[i]!;
  }

  /** Nothing was inserted. */
  isEmpty(): boolean {
    return this.bytes.every((b) => b === 0);
  }

  /**
   * Estimated number of distinct IPs inserted (BEP 33):
   * c = min(m - 1, zero bits); size = ln(c / m) / (k * ln(1 - 1/m)).
   * Outside the formula's domain: an empty filter is 0 (the formula says 0.5), and a full one
   * is the saturation value at c = 1 (the formula divides by ln 0).
   */
  estimate(): number {
    let zeros = 0;
    for (const byte of this.bytes) zeros += 8 - popcount(byte);
    if (zeros === BITS) return 0;
    const c = Math.max(1, Math.min(BITS - 1, zeros));
    return Math.log(c / BITS) / (HASHES * LOG_KEEP);
  }
}

function bitIndexes(ip: Uint8Array): [number, number] {
  if (ip.length !== 4 && ip.length !== 16) {
    throw new RangeError(`only IP addresses (4 or 16 bytes) go into a scrape filter, got ${ip.length}`);
  }
  const h = hash('sha1', ip, 'buffer');
  return [(h[0]! | (h[1]! << 8)) % BITS, (h[2]! | (h[3]! << 8)) % BITS];
}

function popcount(byte: number): number {
  let n = 0;
  for (let b = byte; b !== 0; b &= b - 1) n++;
  return n;
}
