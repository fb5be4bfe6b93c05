/**
 * Torznab endpoint (/torznab/api), the Newznab-derived API *arr apps (Sonarr, Radarr,
 * Prowlarr) use for indexers: `t=caps` describes what we support, `t=search|tvsearch|movie|
 * music|book` return an RSS 2.0 feed with torznab:attr elements (seeders, peers, infohash,
 * magneturl). Errors use the Newznab codes (201 incorrect parameter, 202 no such function).
 * Read-only and public: an `apikey` parameter is accepted and ignored.
 */
import type { TorrentDetail, TorrentIndex } from '../crawler/store/torrent-index.js';
import { CATEGORIES, categoriesOf, matchesCategories } from './categories.js';
import { esc } from './html.js';
import { magnetFor } from './format.js';
import { BadQueryError, DEFAULT_LIMIT, MAX_LIMIT } from './search-params.js';

export const TORZNAB_CONTENT_TYPE = 'application/rss+xml; charset=utf-8';
const MAX_OFFSET = 10_000;

/** XML 1.0 cannot carry control characters or lone surrogates, even escaped: drop them. */
function xml(value: unknown): string {
  return esc(
    String(value).replace(
      // eslint-disable-next-line no-control-regex -- removing control characters is the point
      /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
      ''
    )
  );
}

export function torznabError(code: 201 | 202, description: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<error code="${code}" description="${xml(description)}"/>\n`;
}

export function torznabCaps(title: string): string {
  const search = (name: string, params: string): string =>
    `<${name} available="yes" supportedParams="${params}"/>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<caps>',
    `<server title="${xml(title)}"/>`,
    `<limits max="${MAX_LIMIT}" default="${DEFAULT_LIMIT}"/>`,
    '<searching>',
    search('search', 'q'),
    search('tv-search', 'q,season,ep'),
    search('movie-search', 'q'),
    search('music-search', 'q'),
    search('book-search', 'q'),
    '</searching>',
    '<categories>',
    ...CATEGORIES.map((c) => `<category id="${c.id}" name="${xml(c.name)}"/>`),
    '</categories>',
    '</caps>',
    ''
  ].join('\n');
}

const SEARCH_FUNCTIONS = new Set(['search', 'tvsearch', 'movie', 'music', 'book']);

function intParam(params: URLSearchParams, name: string, dflt: number, max: number): number {
  const v = params.get(name);
  if (v === null || v === '') return dflt;
  if (!/^\d{1,6}$/.test(v) || Number(v) > max) throw new BadQueryError(name, `expected 0..${max}`);
  return Number(v);
}

/** The feed for a search function; throws BadQueryError (-> 201) on a bad parameter. */
export async function torznabSearch(
  index: TorrentIndex,
  params: URLSearchParams,
  baseUrl: string
): Promise<string> {
  let q = (params.get('q') ?? '').slice(0, 200);
  const season = params.get('season');
  const ep = params.get('ep');
  if (season && /^\d{1,4}$/.test(season)) {
    q += ` s${season.padStart(2, '0')}`;
    if (ep && /^\d{1,4}$/.test(ep)) q += `e${ep.padStart(2, '0')}`;
  }
  const limit = Math.max(1, intParam(params, 'limit', DEFAULT_LIMIT, MAX_LIMIT));
  const offset = intParam(params, 'offset', 0, MAX_OFFSET);
  const wanted = (params.get('cat') ?? '')
    .split(',')
    .filter((c) => /^\d{1,6}$/.test(c))
    .map(Number);
  const page = await index.search({
    text: q,
    sort: q.trim() ? 'relevance' : 'recent',
    order: 'desc',
    offset,
    limit
  });
  const items: string[] = [];
  for (const r of page.results) {
    const d = await index.torrent(Buffer.from(r.infoHash, 'hex'));
    if (!d || d.name === null) continue;
    const cats = categoriesOf(d.files, d.name);
    if (!matchesCategories(cats, wanted)) continue;
    items.push(item(d, cats, baseUrl));
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:torznab="http://torznab.com/schemas/2015/feed">',
    '<channel>',
    '<title>trackerless</title>',
    '<description>Torrents found in the DHT by a trackerless crawler</description>',
    `<link>${xml(baseUrl)}/</link>`,
    `<torznab:response offset="${offset}"/>`,
    ...items,
    '</channel>',
    '</rss>',
    ''
  ].join('\n');
}

function item(d: TorrentDetail, cats: number[], baseUrl: string): string {
  const magnet = magnetFor(d.infoHash, d.name);
  const attr = (name: string, value: string | number): string =>
    `<torznab:attr name="${name}" value="${xml(value)}"/>`;
  const seeders = d.seeders ?? 0;
  const leechers = d.leechers ?? 0;
  return [
    '<item>',
    `<title>${xml(d.name)}</title>`,
    `<guid isPermaLink="false">${d.infoHash}</guid>`,
    `<link>${xml(magnet)}</link>`,
    `<comments>${xml(`${baseUrl}/torrent/${d.infoHash}`)}</comments>`,
    `<pubDate>${new Date(d.firstSeenMs).toUTCString()}</pubDate>`,
    `<size>${d.size ?? 0}</size>`,
    `<enclosure url="${xml(magnet)}" length="${d.size ?? 0}" type="application/x-bittorrent"/>`,
    ...cats.map((c) => `<category>${c}</category>`),
    ...cats.map((c) => attr('category', c)),
    attr('size', d.size ?? 0),
    attr('files', d.fileCount ?? 0),
    attr('seeders', seeders),
    attr('peers', seeders + leechers),
    attr('infohash', d.infoHash),
    attr('magneturl', magnet),
    '</item>'
  ].join('\n');
}

export function isSearchFunction(t: string): boolean {
  return SEARCH_FUNCTIONS.has(t);
}
