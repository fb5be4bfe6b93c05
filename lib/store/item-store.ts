/**
 * Bounded, expiring storage of BEP 44 items put to us, served back in `get` replies.
 *
 * - An item expires ITEM_TTL_MS (2 h) after its last put; a put of the same item refreshes it.
 * - Caps: a number of items, a number of bytes (values, keys, salts, signatures), and a number
 *   of items per source IP. A source over its share makes room with its own oldest item, so one
 *   sender cannot flush everyone else's; otherwise the least recently put item goes (LRU, as
 *   in the peer store: refusing instead would let whoever fills the store first lock it).
 * - Map insertion order is last-put order (every put deletes and re-inserts), which with one
 *   TTL is also expiry order: eviction and expiry only look at the front.
 * The put rules (signature, seq, cas) are item/put-rules.ts; this only stores.
 */
import { EMPTY_MAP } from '../util/empty.js';
import { ITEM_TTL_MS, MAX_ITEMS_PER_SOURCE, MAX_STORED_ITEM_BYTES, MAX_STORED_ITEMS } from '../constants.js';
import { InvalidArgumentError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { bytesEqual } from '../util/bytes.js';

/** An item as stored. Immutable items have only `v`. */
export interface StoredItem {
  /** The value, bencoded, exactly as put. */
  v: Uint8Array;
  k?: Uint8Array;
  sig?: Uint8Array;
  seq?: number;
  /** Empty for no salt. */
  salt?: Uint8Array;
}

export interface ItemStoreOptions {
  clock: Clock;
  maxItems?: number;
  maxBytes?: number;
  maxItemsPerSource?: number;
  ttlMs?: number;
}

interface Entry {
  item: StoredItem;
  expiresAt: number;
  bytes: number;
  /** IP of the put that stored this value. */
  source: string;
}

/** Fixed per-entry overhead counted against maxBytes (target key, bookkeeping). */
const ENTRY_OVERHEAD_BYTES = 64;

export class ItemStore {
  private readonly clock: Clock;
  private readonly maxItems: number;
  private readonly maxBytes: number;
  private readonly maxPerSource: number;
  private readonly ttlMs: number;
  private items: ReadonlyMap<string, Entry> = EMPTY_MAP;
  /** Targets stored by each source, in last-put order. */
  private bySource: ReadonlyMap<string, Set<string>> = EMPTY_MAP;
  private totalBytes = 0;

  constructor(opts: ItemStoreOptions) {
    this.clock = opts.clock;
    this.maxItems = positiveInt(opts.maxItems ?? MAX_STORED_ITEMS, 'maxItems');
    this.maxBytes = positiveInt(opts.maxBytes ?? MAX_STORED_ITEM_BYTES, 'maxBytes');
    this.maxPerSource = positiveInt(opts.maxItemsPerSource ?? MAX_ITEMS_PER_SOURCE, 'maxItemsPerSource');
    this.ttlMs = positiveInt(opts.ttlMs ?? ITEM_TTL_MS, 'ttlMs');
  }

  /** The live item stored under `target`, if any. */
  get(target: Uint8Array): StoredItem | undefined {
    const key = targetKey(target);
    const entry = this.items.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.clock.now()) {
      this.remove(key, entry);
      return undefined;
    }
    return entry.item;
  }

  /**
   * Store `item` under `target` (replacing what is there), put by `source` (an IP). A put of
   * the value already stored only refreshes its expiry and keeps its original source.
   */
  put(target: Uint8Array, item: StoredItem, source: string): void {
    const key = targetKey(target);
    const now = this.clock.now();
    this.dropExpired(now);
    const old = this.items.get(key);
    const sameValue = old !== undefined && old.item.seq === item.seq && bytesEqual(old.item.v, item.v);
    const owner = sameValue ? old.source : source;
    if (old) this.remove(key, old);
    const bytes = sizeOf(item);
    if (bytes > this.maxBytes) return; // cannot happen with BEP 44 sizes and the default cap
    const own = this.bySource.get(owner);
    if (own && own.size >= this.maxPerSource) this.evict(own.values().next().value!);
    while (this.items.size >= this.maxItems || this.totalBytes + bytes > this.maxBytes) {
      const oldest = this.items.keys().next();
      if (oldest.done) break;
      this.evict(oldest.value);
    }
    this.ownItems().set(key, { item, expiresAt: now + this.ttlMs, bytes, source: owner });
    this.totalBytes += bytes;
    let set = this.bySource.get(owner);
    if (!set) this.ownBySource().set(owner, (set = new Set()));
    set.add(key);
  }

  /** Items stored (expired ones included until pruned). */
  size(): number {
    return this.items.size;
  }

  /** Bytes counted against maxBytes. */
  bytes(): number {
    return this.totalBytes;
  }

  /** Drop expired items; returns how many. */
  prune(): number {
    const before = this.items.size;
    this.dropExpired(this.clock.now());
    return before - this.items.size;
  }

  private dropExpired(now: number): void {
    for (const [key, entry] of this.items) {
      if (entry.expiresAt > now) return; // last-put order is expiry order
      this.remove(key, entry);
    }
  }

  private evict(key: string): void {
    const entry = this.items.get(key);
    if (entry) this.remove(key, entry);
  }

  private remove(key: string, entry: Entry): void {
    this.ownItems().delete(key);
    this.totalBytes -= entry.bytes;
    const set = this.bySource.get(entry.source);
    set?.delete(key);
    if (set?.size === 0) this.ownBySource().delete(entry.source);
  }

  private ownItems(): Map<string, Entry> {
    if (this.items === EMPTY_MAP) this.items = new Map();
    return this.items as Map<string, Entry>;
  }

  private ownBySource(): Map<string, Set<string>> {
    if (this.bySource === EMPTY_MAP) this.bySource = new Map();
    return this.bySource as Map<string, Set<string>>;
  }
}

function sizeOf(item: StoredItem): number {
  return (
    ENTRY_OVERHEAD_BYTES +
    item.v.length +
    (item.k?.length ?? 0) +
    (item.sig?.length ?? 0) +
    (item.salt?.length ?? 0)
  );
}

function targetKey(target: Uint8Array): string {
  if (target.length !== 20)
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `an item target is 20 bytes, got ${target.length}`
    );
  return String.fromCharCode(...target);
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `${name} must be a positive integer, got ${value}`
    );
  return value;
}
