/**
 * Rows as both SQL stores select them (same column aliases) -> the index's typed records.
 * Values are validated on the way out as on the way in: a row edited by hand cannot make the
 * server emit something that is not a number or a 40-digit hex infohash.
 */
import type { InfoHashSource } from '../types.js';
import { INFOHASH_SOURCES } from '../types.js';
import type { TorrentDetail, TorrentSummary } from './torrent-index.js';

export interface TorrentRow {
  infohash: Uint8Array;
  name: string | null;
  size: number | null;
  file_count: number | null;
  first_seen: number;
  last_seen: number;
  seen_count: number;
  seeders: number | null;
  leechers: number | null;
  scraped_at: number;
}

export interface TorrentDetailRow extends TorrentRow {
  files: string | null;
  source: string;
  resolved_at: number | null;
}

/** The columns of a TorrentRow, in SQL (both dialects). */
export const SUMMARY_COLUMNS =
  'infohash, name, size, file_count, first_seen, last_seen, seen_count, seeders, leechers, scraped_at';

const int = (v: unknown): number => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : 0;
};
const intOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : int(v));

export function toSummary(r: TorrentRow): TorrentSummary {
  return {
    infoHash: Buffer.from(r.infohash).toString('hex'),
    name: String(r.name ?? ''),
    size: int(r.size),
    fileCount: int(r.file_count),
    firstSeenMs: int(r.first_seen),
    lastSeenMs: int(r.last_seen),
    seenCount: int(r.seen_count),
    seeders: intOrNull(r.seeders),
    leechers: intOrNull(r.leechers),
    scrapedAtMs: int(r.scraped_at) > 0 ? int(r.scraped_at) : null
  };
}

export function toDetail(r: TorrentDetailRow): TorrentDetail {
  const s = toSummary(r);
  const source: InfoHashSource = (INFOHASH_SOURCES as readonly string[]).includes(r.source)
    ? (r.source as InfoHashSource)
    : 'sample';
  return {
    ...s,
    name: r.name === null ? null : s.name,
    size: intOrNull(r.size),
    fileCount: intOrNull(r.file_count),
    files: parseFiles(r.files),
    source,
    resolvedAtMs: intOrNull(r.resolved_at)
  };
}

function parseFiles(json: string | null): Array<{ path: string; size: number }> {
  if (!json) return [];
  try {
    const v: unknown = JSON.parse(json);
    if (!Array.isArray(v)) return [];
    return v
      .filter((f): f is { path: unknown; size: unknown } => typeof f === 'object' && f !== null)
      .map((f) => ({ path: String(f.path), size: int(f.size) }));
  } catch {
    return [];
  }
}
