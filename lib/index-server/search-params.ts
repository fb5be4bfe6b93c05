/**
 * URL query -> validated SearchQuery: the boundary between untrusted input and the stores.
 * Every value is bounded; anything unreadable is a 400 with the parameter's name, never a
 * silent default that would show different results than the URL says.
 *
 *   q         words (at most 200 characters)
 *   min_size  max_size   bytes, or with a unit: 700MB, 1.5GiB (decimal and binary units)
 *   after     before     first seen, ISO date (2026-12-01) or ms since the epoch
 *   sort      relevance | seeders | recent | size   (default relevance with q, else recent)
 *   order     asc | desc (default desc)
 *   page      1-based, at most MAX_PAGE;  limit  1..100 (default 50)
 */
import type { SearchQuery, SortKey } from '../crawler/store/torrent-index.js';

export const MAX_LIMIT = 100;
export const DEFAULT_LIMIT = 50;
/** Deep pages cost the database a scan of everything before them; nobody reads page 200. */
export const MAX_PAGE = 200;
const MAX_TEXT = 200;

export class BadQueryError extends Error {
  constructor(
    readonly param: string,
    message: string
  ) {
    super(`${param}: ${message}`);
  }
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4
};

export function parseSize(param: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$/i.exec(value);
  const n = m ? Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]! : NaN;
  if (!Number.isFinite(n) || n > Number.MAX_SAFE_INTEGER)
    throw new BadQueryError(param, 'expected a size such as 700MB');
  return Math.floor(n);
}

export function parseDate(param: string, value: string): number {
  const ms = /^\d{1,15}$/.test(value)
    ? Number(value)
    : /^\d{4}-\d{2}-\d{2}([T ][\d:.]+Z?)?$/.test(value)
      ? Date.parse(value)
      : NaN;
  if (!Number.isFinite(ms)) throw new BadQueryError(param, 'expected a date such as 2026-12-01');
  return ms;
}

function oneOf<T extends string>(param: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new BadQueryError(param, `expected one of ${allowed.join(', ')}`);
  return value as T;
}

function intIn(param: string, value: string, min: number, max: number): number {
  const n = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max))
    throw new BadQueryError(param, `expected a whole number from ${min} to ${max}`);
  return n;
}

/** The search a URL asks for; throws BadQueryError. Empty parameters count as absent. */
export function parseSearch(params: URLSearchParams): SearchQuery {
  const get = (k: string): string | undefined => {
    const v = params.get(k);
    return v === null || v.trim() === '' ? undefined : v.trim();
  };
  const text = get('q') ?? '';
  if (text.length > MAX_TEXT) throw new BadQueryError('q', `at most ${MAX_TEXT} characters`);
  const limit = get('limit') ? intIn('limit', get('limit')!, 1, MAX_LIMIT) : DEFAULT_LIMIT;
  const page = get('page') ? intIn('page', get('page')!, 1, MAX_PAGE) : 1;
  const sorts: SortKey[] = ['relevance', 'seeders', 'recent', 'size'];
  const q: SearchQuery = {
    text,
    sort: get('sort') ? oneOf('sort', get('sort')!, sorts) : text ? 'relevance' : 'recent',
    order: get('order') ? oneOf('order', get('order')!, ['asc', 'desc'] as const) : 'desc',
    offset: (page - 1) * limit,
    limit
  };
  if (get('min_size')) q.minSize = parseSize('min_size', get('min_size')!);
  if (get('max_size')) q.maxSize = parseSize('max_size', get('max_size')!);
  if (get('after')) q.seenAfterMs = parseDate('after', get('after')!);
  if (get('before')) q.seenBeforeMs = parseDate('before', get('before')!);
  return q;
}
