/**
 * Storage policy shared by every store: what is kept per torrent, how resolution is retried,
 * and the size cap's eviction order (docs/crawler.md states the same rules).
 */

/** Files kept per torrent (a few torrents list 100k+ files); `fileCount` keeps the true count. */
export const MAX_FILES_STORED = 1000;

/** Resolution attempts per infohash before it is left unresolved for good. */
export const RESOLVE_MAX_ATTEMPTS = 3;

/** Wait before the next attempt after the n-th failure (1-based), ms: 30 min, 2 h. */
export function resolveRetryDelayMs(attempt: number): number {
  return 30 * 60_000 * 4 ** Math.max(0, attempt - 1);
}

/** `resolve_after` of an infohash that will not be offered again. */
export const NEVER = Number.MAX_SAFE_INTEGER;

/**
 * Size cap eviction order, as SQL (the same in SQLite and PostgreSQL): unresolved torrents
 * before resolved ones, then the fewest sightings, then the longest unseen. A torrent people
 * keep announcing is therefore the last to go, and an infohash nobody could resolve the first.
 */
export const EVICTION_ORDER = '(resolved_at IS NOT NULL), seen_count, last_seen';

/** Rows one flush may evict (a cap lowered by a lot is reached over several flushes). */
export const MAX_EVICT_PER_FLUSH = 10_000;
