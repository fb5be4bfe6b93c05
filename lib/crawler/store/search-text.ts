/**
 * One tokenisation for indexing and for queries, shared by the SQLite (FTS5) and PostgreSQL
 * (tsvector) stores so both match the same way: lowercase (NFKC), split on anything that is
 * not a letter or a digit. "Ubuntu-22.04.iso" is "ubuntu 22 04 iso"; a query matches torrents
 * holding every query word as a prefix of some word of the name or a file path.
 *
 * Query words are only letters and digits, so they can be put into FTS5 / tsquery syntax
 * without any escaping problem: user input never reaches either query language as syntax.
 */
import type { TorrentMetadata } from '../types.js';

/** Query words used at most (more are ignored). */
export const MAX_QUERY_WORDS = 8;
/** Longest query word kept, characters. */
const MAX_WORD = 64;
/** Indexed text per torrent, characters (names plus the first paths). */
const MAX_DOCUMENT = 8192;

const SEPARATOR = /[^\p{L}\p{N}]+/u;

export function words(text: string): string[] {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .split(SEPARATOR)
    .filter((w) => w.length > 0);
}

/** The words of a user query, bounded in number and length. */
export function queryWords(text: string): string[] {
  return words(text)
    .slice(0, MAX_QUERY_WORDS)
    .map((w) => w.slice(0, MAX_WORD));
}

/** The text indexed for one torrent: its name and file paths as space-separated words. */
export function documentText(meta: Pick<TorrentMetadata, 'name' | 'files'>): string {
  let text = words(meta.name).join(' ');
  for (const f of meta.files) {
    if (text.length >= MAX_DOCUMENT) break;
    text += ' ' + words(f.path).join(' ');
  }
  return text.slice(0, MAX_DOCUMENT);
}

/** FTS5 MATCH expression: every word as a prefix ("w"* "x"*, implicit AND). */
export function fts5Query(ws: string[]): string {
  return ws.map((w) => `"${w}"*`).join(' ');
}

/** to_tsquery('simple', ...) expression: w:* & x:*. */
export function tsQuery(ws: string[]): string {
  return ws.map((w) => `${w}:*`).join(' & ');
}
