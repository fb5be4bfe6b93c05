/**
 * The root page of the stream server: every torrent with its files and their URLs, as JSON
 * (for programs) or a plain HTML page (for people). Names come from strangers' torrents: the
 * HTML escapes them and the URLs encode each path component.
 */
import { toHex } from '../util/bytes.js';
import type { StreamTorrent } from './stream-torrent.js';

export interface ListedFile {
  index: number;
  path: string;
  size: number;
  /** Absolute path on this server: /<infohash>/<path>. */
  url: string;
}

export interface ListedTorrent {
  infoHash: string;
  /** Undefined while the metadata is being fetched. */
  name?: string;
  size?: number;
  files: ListedFile[];
}

/** The URL path of a file: each component percent-encoded. */
export function filePath(infoHash: string, pathParts: readonly string[]): string {
  return `/${infoHash}/${pathParts.map(encodeURIComponent).join('/')}`;
}

export function listing(torrents: Iterable<StreamTorrent>): ListedTorrent[] {
  const out: ListedTorrent[] = [];
  for (const t of torrents) {
    const infoHash = toHex(t.infoHash);
    const info = t.info;
    out.push({
      infoHash,
      ...(info ? { name: info.name, size: info.length } : {}),
      files: t.files
        .filter((f) => !f.padding)
        .map((f) => ({ index: f.index, path: f.path, size: f.length, url: filePath(infoHash, f.pathParts) }))
    });
  }
  return out;
}

const escape = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function listingHtml(torrents: ListedTorrent[]): string {
  const items = torrents.map((t) => {
    const title = t.name === undefined ? `${t.infoHash} (fetching metadata)` : `${t.name} (${t.infoHash})`;
    const files = t.files.map(
      (f) => `<li><a href="${escape(f.url)}">${escape(f.path)}</a> ${f.size.toLocaleString('en')} bytes</li>`
    );
    return `<section><h2>${escape(title)}</h2><ul>${files.join('')}</ul></section>`;
  });
  return (
    '<!doctype html><html><head><meta charset="utf-8"><title>trackerless</title></head><body>' +
    `<h1>Torrents</h1>${items.join('') || '<p>No torrents.</p>'}</body></html>`
  );
}
