/**
 * BEP 46 mutable torrents: a mutable DHT item (BEP 44) under a publisher's key (and salt)
 * whose value is `{ ih: <20-byte infohash> }` names the current version of a torrent.
 * Publishing is a signed put; consuming is a get, then polling for a higher seq. Both sides
 * re-put the item about once an hour so it outlives the 2-hour expiry (BEP 46 asks both to).
 */
import type { DHT } from '../dht/dht.js';
import type { PutResult } from '../dht/items.js';
import type { KeyPair } from '../item/ed25519.js';
import type { MutableItem } from '../item/item.js';
import { ITEM_REPUBLISH_MS } from '../constants.js';
import { AbortError } from '../errors.js';
import { sleep } from '../util/abort.js';
import { systemClock, type Clock } from '../util/clock.js';

/** What BEP 46 needs from a DHT node. */
export type MutableTorrentDht = Pick<DHT, 'getMutable' | 'putMutable' | 'republish'>;

/** Where a mutable torrent lives: the publisher's ed25519 public key and an optional salt. */
export interface MutableTorrentKey {
  publicKey: Uint8Array;
  salt?: Uint8Array;
}

/** One version of a mutable torrent, as read from the DHT (the item is verified). */
export interface MutableTorrentVersion {
  infoHash: Uint8Array;
  seq: number;
  item: MutableItem;
}

export interface FollowOptions {
  /** Time between polls, ms (default 5 minutes). */
  intervalMs?: number;
  /** Re-put the latest version this often, ms (default 1 hour; 0 = never). */
  republishMs?: number;
  clock?: Clock;
  signal?: AbortSignal;
  /** Called when a poll or re-put fails; following goes on. */
  onError?: (err: Error) => void;
}

/** Default poll interval of a follower: BEP 46 says "periodically"; updates are rare. */
export const FOLLOW_INTERVAL_MS = 5 * 60_000;

/** The infohash a BEP 46 item points at, or undefined when its value is not `{ ih: 20 bytes }`. */
export function infoHashOf(item: MutableItem): Uint8Array | undefined {
  const value = item.value;
  if (typeof value !== 'object' || value instanceof Uint8Array || Array.isArray(value)) return undefined;
  const ih = Object.hasOwn(value, 'ih') ? value.ih : undefined;
  return ih instanceof Uint8Array && ih.length === 20 ? ih : undefined;
}

/** The latest version under `key` (optionally only one newer than `newerThan`), or null. */
export async function resolveMutableTorrent(
  dht: MutableTorrentDht,
  key: MutableTorrentKey,
  opts: { newerThan?: number; signal?: AbortSignal } = {}
): Promise<MutableTorrentVersion | null> {
  const item = await dht.getMutable(key.publicKey, {
    ...(key.salt ? { salt: key.salt } : {}),
    ...(opts.newerThan !== undefined ? { seq: opts.newerThan } : {}),
    ...(opts.signal ? { signal: opts.signal } : {})
  });
  const infoHash = item ? infoHashOf(item) : undefined;
  return item && infoHash ? { infoHash, seq: item.seq, item } : null;
}

/** Publish `infoHash` as the current version under `keyPair` (+ salt): seq = the DHT's + 1. */
export function publishMutableTorrent(
  dht: MutableTorrentDht,
  opts: { keyPair: KeyPair; infoHash: Uint8Array; salt?: Uint8Array; seq?: number; signal?: AbortSignal }
): Promise<PutResult> {
  return dht.putMutable({
    keyPair: opts.keyPair,
    value: { ih: opts.infoHash },
    ...(opts.salt ? { salt: opts.salt } : {}),
    ...(opts.seq !== undefined ? { seq: opts.seq } : {}),
    ...(opts.signal ? { signal: opts.signal } : {})
  });
}

/**
 * Follow a mutable torrent: yields the current version once it is found, then every newer one
 * as polls find it, and keeps the latest alive with a re-put every `republishMs`. Runs until
 * `signal` fires (then throws AbortError, like the other lookups), or the caller stops
 * iterating. A failed poll is reported to `onError` and retried at the next interval.
 */
export async function* followMutableTorrent(
  dht: MutableTorrentDht,
  key: MutableTorrentKey,
  opts: FollowOptions = {}
): AsyncGenerator<MutableTorrentVersion> {
  const clock = opts.clock ?? systemClock;
  const intervalMs = opts.intervalMs ?? FOLLOW_INTERVAL_MS;
  const republishMs = opts.republishMs ?? ITEM_REPUBLISH_MS;
  const signal = opts.signal;
  let latest: MutableTorrentVersion | null = null;
  let republishedAt = clock.now();
  for (;;) {
    if (signal?.aborted) throw new AbortError();
    try {
      const found = await resolveMutableTorrent(dht, key, {
        ...(latest ? { newerThan: latest.seq } : {}),
        ...(signal ? { signal } : {})
      });
      if (found && (!latest || found.seq > latest.seq)) {
        latest = found;
        yield found;
      } else if (latest && republishMs > 0 && clock.now() - republishedAt >= republishMs) {
        republishedAt = clock.now();
        await dht.republish(latest.item, signal ? { signal } : {});
      }
    } catch (err) {
      if (err instanceof AbortError || signal?.aborted) throw new AbortError();
      opts.onError?.(err as Error);
    }
    await sleep(clock, intervalMs, signal);
  }
}
