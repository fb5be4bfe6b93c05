/**
 * Bounded, expiring storage of peers announced to us (BEP 5 announce_peer), served back in
 * get_peers replies and sampled for BEP 51 sample_infohashes.
 *
 * Memory layout (heap bytes per stored peer is a benchmark metric; the JS anchor spends ~680 B):
 *   Map<infoHashKey, Map<peerKey, packed>>
 * - infoHashKey: the 20 raw bytes as a one-byte (latin1) string, not hex (20 chars, not 40).
 * - peerKey: the compact peer itself (BEP 5/32: 4- or 16-byte IP + 2-byte port) as a 6- or
 *   18-char one-byte string. It is both the dedup key and the stored value, so get() can hand
 *   out compact bytes without re-parsing text addresses.
 * - packed: (expiry - base) * 2 + seedBit, an integer ms offset from construction. It stays a
 *   small integer (Smi, no heap allocation) for ~6 days of uptime; beyond that it becomes a
 *   heap number, which is still correct, just 12 bytes bigger.
 *
 * Ordering: every announce deletes and re-inserts its entry, so each Map's insertion order is
 * announce order. With one TTL that is also expiry order, which makes "evict the oldest" and
 * "drop expired" O(1) per entry: they only ever look at the front.
 *
 * Caps (both evict rather than refuse, so new announces are always accepted):
 * - a full infohash evicts its least recently announced peer;
 * - a full store evicts the infohash with the oldest last announce (LRU). Refusing instead
 *   would let whoever fills the store first lock it until their entries expire, and
 *   re-announcing keeps them alive; LRU keeps accepting honest announces.
 */
import { EMPTY_MAP } from '../util/empty.js';
import { ID_LENGTH, MAX_PEERS_PER_INFOHASH, MAX_STORED_INFOHASHES, PEER_TTL_MS } from '../constants.js';
import { InvalidArgumentError } from '../errors.js';
import type { Address } from '../net/address.js';
import { formatIp, parseIp } from '../net/ip.js';
import type { Clock } from '../util/clock.js';
import type { RandomSource } from '../util/random.js';
import { ScrapeBloomFilter } from '../scrape/bloom-filter.js';

/**
 * Default picker of reply subsets. Which stored peers a reply carries needs no secrecy, and
 * cryptoRandom costs one randomBytes() call per int (a 50-peer reply: ~100x slower).
 */
const fastRandom: RandomSource = {
  int: (n) => Math.floor(Math.random() * n),
  bytes: (n) => Uint8Array.from({ length: n }, () => Math.floor(Math.random() * 256))
};

export interface PeerStoreOptions {
  clock: Clock;
  /** Max distinct infohashes (default MAX_STORED_INFOHASHES). */
  maxInfoHashes?: number;
  /** Max peers per infohash (default MAX_PEERS_PER_INFOHASH). */
  maxPeersPerInfoHash?: number;
  /** A peer expires this long after its last announce, ms (default PEER_TTL_MS). */
  ttlMs?: number;
  /** Picks which peers a reply carries when more are stored (default: Math.random). */
  random?: RandomSource;
}

export interface GetPeersOptions {
  /** BEP 33: fill the reply with non-seeds first ("best effort"), then seeds. */
  noseed?: boolean;
}

type PeerMap = Map<string, number>;

export class PeerStore {
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly maxInfoHashes: number;
  private readonly maxPeers: number;
  private readonly ttlMs: number;
  /** Time origin of the packed expiry offsets. */
  private readonly base: number;
  private infoHashes: ReadonlyMap<string, PeerMap> = EMPTY_MAP;
  /** Stored peer entries, including expired ones not yet dropped. */
  private peers = 0;

  constructor(opts: PeerStoreOptions) {
    this.clock = opts.clock;
    this.random = opts.random ?? fastRandom;
    this.maxInfoHashes = positiveInt(opts.maxInfoHashes ?? MAX_STORED_INFOHASHES, 'maxInfoHashes');
    this.maxPeers = positiveInt(opts.maxPeersPerInfoHash ?? MAX_PEERS_PER_INFOHASH, 'maxPeersPerInfoHash');
    this.ttlMs = positiveInt(opts.ttlMs ?? PEER_TTL_MS, 'ttlMs');
    this.base = this.clock.now();
  }

  /**
   * Store (or refresh) `peer` under `infoHash`. Returns false, storing nothing, if the peer
   * address is not an IP literal with a port in 1..65535 (it could never be served compactly).
   * Throws only for an infohash that is not 20 bytes (a caller bug: the codec checks it).
   */
  add(infoHash: Uint8Array, peer: Address, seed = false): boolean {
    const peerKey = compactPeerKey(peer);
    if (peerKey === null) return false;
    const ihKey = infoHashKey(infoHash);
    const now = this.clock.now();
    const packed = Math.max(0, Math.ceil(now + this.ttlMs - this.base)) * 2 + (seed ? 1 : 0);

    let peers = this.infoHashes.get(ihKey);
    if (peers !== undefined) {
      this.ownInfoHashes().delete(ihKey); // re-insert below: the outer order is last-announce order
    } else {
      if (this.infoHashes.size >= this.maxInfoHashes) this.evictOldestInfoHash();
      peers = new Map();
    }
    this.ownInfoHashes().set(ihKey, peers);

    if (peers.delete(peerKey)) {
      this.peers--; // re-announce: re-inserted at the end with a fresh expiry
    } else {
      this.dropExpired(peers, now);
      if (peers.size >= this.maxPeers) {
        const oldest = peers.keys().next();
        if (!oldest.done) {
          peers.delete(oldest.value);
          this.peers--;
        }
      }
    }
    peers.set(peerKey, packed);
    this.peers++;
    return true;
  }

  /** Up to `max` live peers for `infoHash`, a uniform random subset when more are stored. */
  get(infoHash: Uint8Array, max: number, opts?: GetPeersOptions): Address[] {
    return this.pick(infoHash, max, opts).map(decodePeerKey);
  }

  /** Like get(), but each peer as compact bytes (6 for IPv4, 18 for IPv6) ready for `values`. */
  getCompact(infoHash: Uint8Array, max: number, opts?: GetPeersOptions): Uint8Array[] {
    return this.pick(infoHash, max, opts).map(keyToBytes);
  }

  /**
   * BEP 33 scrape filters of the live peers of `infoHash`: seeds into one filter, the other
   * peers into the other (by IP, ports ignored). Undefined when nothing is stored for it (the
   * BEP adds the filters only then).
   */
  scrapeFilters(infoHash: Uint8Array): { seeds: ScrapeBloomFilter; peers: ScrapeBloomFilter } | undefined {
    const peers = this.infoHashes.size === 0 ? undefined : this.infoHashes.get(infoHashKey(infoHash));
    if (peers === undefined) return undefined;
    const now = this.clock.now();
    const filters = { seeds: new ScrapeBloomFilter(), peers: new ScrapeBloomFilter() };
    let live = 0;
    for (const [key, packed] of peers) {
      if (this.base + Math.floor(packed / 2) <= now) continue;
      live++;
      (packed % 2 === 1 ? filters.seeds : filters.peers).insertIp(
        keyToBytes(key).subarray(0, key.length - 2)
      );
    }
    return live > 0 ? filters : undefined;
  }

  /** Number of infohashes with at least one stored entry (expired ones until pruned). */
  infoHashCount(): number {
    return this.infoHashes.size;
  }

  /** Number of stored peer entries, counting expired ones not yet pruned. */
  peerCount(): number {
    return this.peers;
  }

  /** A uniform random sample of up to `max` infohashes with live peers (BEP 51). */
  sampleInfoHashes(max: number): Uint8Array[] {
    this.prune();
    const sample: string[] = [];
    let seen = 0;
    // Reservoir sampling: one pass, no array of all keys.
    for (const key of this.infoHashes.keys()) {
      if (sample.length < max) sample.push(key);
      else {
        const j = this.random.int(seen + 1);
        if (j < max) sample[j] = key;
      }
      seen++;
    }
    return sample.map(keyToBytes);
  }

  /** Drop expired peers and empty infohashes. Returns the number of peers removed. */
  prune(): number {
    const now = this.clock.now();
    const before = this.peers;
    for (const [ihKey, peers] of this.infoHashes) {
      this.dropExpired(peers, now);
      if (peers.size === 0) this.ownInfoHashes().delete(ihKey);
    }
    return before - this.peers;
  }

  /** Keys of the peers to return, chosen at random when more than `max` are live. */
  private pick(infoHash: Uint8Array, max: number, opts?: GetPeersOptions): string[] {
    if (this.infoHashes.size === 0) {
      checkInfoHash(infoHash); // nothing stored (a fresh or quiet node): skip building the key
      return [];
    }
    const ihKey = infoHashKey(infoHash);
    const peers = this.infoHashes.get(ihKey);
    if (peers === undefined || max <= 0) return [];
    const now = this.clock.now();
    this.dropExpired(peers, now);
    if (peers.size === 0) {
      this.ownInfoHashes().delete(ihKey);
      return [];
    }
    // Still check each entry: dropExpired trusts the order, which a clock step could break.
    const first: string[] = [];
    const second: string[] = [];
    for (const [key, packed] of peers) {
      if (this.base + Math.floor(packed / 2) <= now) continue;
      if (opts?.noseed && packed % 2 === 1) second.push(key);
      else first.push(key);
    }
    const out = sampleInPlace(first, max, this.random);
    if (out.length < max && second.length > 0)
      out.push(...sampleInPlace(second, max - out.length, this.random));
    return out;
  }

  /** Drop expired entries from the front of `peers` (announce order = expiry order). */
  private dropExpired(peers: PeerMap, now: number): void {
    for (const [key, packed] of peers) {
      if (this.base + Math.floor(packed / 2) > now) return;
      peers.delete(key); // deleting the current entry while iterating a Map is safe
      this.peers--;
    }
  }

  private ownInfoHashes(): Map<string, PeerMap> {
    if (this.infoHashes === EMPTY_MAP) this.infoHashes = new Map();
    return this.infoHashes as Map<string, PeerMap>;
  }

  private evictOldestInfoHash(): void {
    const oldest = this.infoHashes.entries().next();
    if (oldest.done) return;
    const [ihKey, peers] = oldest.value;
    this.peers -= peers.size;
    this.ownInfoHashes().delete(ihKey);
  }
}

/** Partial Fisher-Yates: `k` distinct random items of `items` (shuffles a prefix in place). */
function sampleInPlace(items: string[], k: number, random: RandomSource): string[] {
  if (items.length <= k) return items;
  for (let i = 0; i < k; i++) {
    const j = i + random.int(items.length - i);
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  items.length = k;
  return items;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `${name} must be a positive integer, got ${value}`
    );
  }
  return value;
}

function checkInfoHash(infoHash: Uint8Array): void {
  if (infoHash.length !== ID_LENGTH) {
    throw new InvalidArgumentError(
      'ERR_INVALID_INFOHASH',
      `infohash must be ${ID_LENGTH} bytes, got ${infoHash.length}`
    );
  }
}

function infoHashKey(infoHash: Uint8Array): string {
  checkInfoHash(infoHash);
  return String.fromCharCode(...infoHash);
}

function keyToBytes(key: string): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i);
  return out;
}

// ---- compact peer keys (text IP literal <-> raw bytes) ----

/** The compact form of `peer` as a one-byte string, or null if it is not storable. */
function compactPeerKey(peer: Address): string | null {
  const { host, port } = peer;
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) return null;
  const ip = parseIp(host);
  if (ip === undefined) return null;
  return String.fromCharCode(...ip, port >>> 8, port & 0xff);
}

function decodePeerKey(key: string): Address {
  const port = (key.charCodeAt(key.length - 2) << 8) | key.charCodeAt(key.length - 1);
  const ip = new Uint8Array(key.length - 2);
  for (let i = 0; i < ip.length; i++) ip[i] = key.charCodeAt(i);
  return { host: formatIp(ip), port };
}
