/**
 * Server-rendered pages: the search page (/, results linkable as /?q=...), a torrent's page
 * (/torrent/<infohash>), and error pages. Every value is escaped by the html`` tag (html.ts);
 * the only script is the static /static/app.js (copy buttons), allowed by the CSP that
 * server.ts sends. Usable without JavaScript: the magnet link is always a plain link.
 */
import type { IndexSummary, SearchPage, SearchQuery, TorrentDetail } from '../crawler/store/torrent-index.js';
import type { RatePoint } from './crawl-monitor.js';
import { fileTree, type TreeNode } from './file-tree.js';
import { formatBytes, formatDate, magnetFor } from './format.js';
import { html, type Html } from './html.js';

export interface PageContext {
  title: string;
  summary: IndexSummary;
  /** Per-minute crawl rates, when a crawl runs in this process. */
  history: readonly RatePoint[] | null;
}

function layout(ctx: PageContext, title: string, body: Html, q = ''): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
        <link rel="stylesheet" href="/static/app.css" />
        <script src="/static/app.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to results</a>
        <header>
          <a class="brand" href="/">${ctx.title}</a>
          <form class="search" role="search" action="/" method="get">
            <label for="q" class="visually-hidden">Search torrents</label>
            <input
              id="q"
              name="q"
              type="search"
              value="${q}"
              placeholder="Search names and files"
              autocomplete="off"
            />
            <button type="submit">Search</button>
          </form>
        </header>
        <main id="main">${body}</main>
        <footer>
          ${ctx.summary.torrents} infohashes indexed, ${ctx.summary.resolved} with metadata · read-only ·
          <a href="/metrics">metrics</a> · <a href="/torznab/api?t=caps">Torznab</a>
        </footer>
      </body>
    </html> `.value;
}

function magnetCell(infoHash: string, name: string | null): Html {
  const magnet = magnetFor(infoHash, name);
  return html`<a class="magnet" href="${magnet}" aria-label="Magnet link for ${name ?? infoHash}">magnet</a>
    <button
      type="button"
      class="copy"
      data-copy="${magnet}"
      aria-label="Copy magnet link for ${name ?? infoHash}"
    >
      Copy
    </button>`;
}

function count(n: number | null): string {
  return n === null ? '–' : String(n);
}

function filters(q: SearchQuery, params: URLSearchParams): Html {
  const v = (k: string): string => params.get(k) ?? '';
  const sel = (name: string, value: string, label: string, current: string): Html =>
    html`<option value="${value}" ${current === value ? html` selected` : ''}>${label}</option>`;
  return html`<form class="filters" action="/" method="get" aria-label="Filters">
    <input type="hidden" name="q" value="${q.text}" />
    <label>Min size <input name="min_size" value="${v('min_size')}" placeholder="700MB" size="7" /></label>
    <label>Max size <input name="max_size" value="${v('max_size')}" placeholder="4GiB" size="7" /></label>
    <label>Seen after <input name="after" type="date" value="${v('after')}" /></label>
    <label
      >Sort
      <select name="sort">
        ${sel('sort', 'relevance', 'Relevance', q.sort)}${sel('sort', 'seeders', 'Seeders', q.sort)}${sel('sort', 'recent', 'First seen', q.sort)}${sel('sort', 'size', 'Size', q.sort)}
      </select></label
    >
    <label
      >Order
      <select name="order">
        ${sel('order', 'desc', 'Descending', q.order)}${sel('order', 'asc', 'Ascending', q.order)}
      </select></label
    >
    <button type="submit">Apply</button>
  </form>`;
}

export function searchPage(
  ctx: PageContext,
  q: SearchQuery,
  page: SearchPage,
  params: URLSearchParams
): string {
  const pageNo = q.offset / q.limit + 1;
  const link = (p: number): string => {
    const next = new URLSearchParams(params);
    next.set('page', String(p));
    return `/?${next.toString()}`;
  };
  const heading = q.text ? html`Results for “${q.text}”` : html`Recently found`;
  const rows = page.results.map(
    (r) =>
      html`<tr>
        <td class="name"><a href="/torrent/${r.infoHash}">${r.name}</a></td>
        <td class="num" data-label="Size">${formatBytes(r.size)}</td>
        <td class="num" data-label="Seeders">${count(r.seeders)}</td>
        <td class="num" data-label="Leechers">${count(r.leechers)}</td>
        <td data-label="First seen">
          <time datetime="${new Date(r.firstSeenMs).toISOString()}">${formatDate(r.firstSeenMs)}</time>
        </td>
        <td class="actions">${magnetCell(r.infoHash, r.name)}</td>
      </tr>`
  );
  const table =
    page.results.length === 0
      ? html`<p class="empty">No torrents match.</p>`
      : html`<table class="results">
          <caption class="visually-hidden">
            Torrents, page ${pageNo}
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Size</th>
              <th scope="col">Seeders</th>
              <th scope="col">Leechers</th>
              <th scope="col">First seen</th>
              <th scope="col">Magnet</th>
            </tr>
          </thead>
          <tbody>
            ${rows}
          </tbody>
        </table>`;
  const nav = html`<nav class="pager" aria-label="Pages">
    ${pageNo > 1 ? html`<a rel="prev" href="${link(pageNo - 1)}">← Previous</a>` : ''}
    <span>Page ${pageNo}</span>
    ${page.hasMore ? html`<a rel="next" href="${link(pageNo + 1)}">Next →</a>` : ''}
  </nav>`;
  const body = html`<div class="columns">
    <section class="results-section" aria-labelledby="results-heading">
      <h1 id="results-heading">${heading}</h1>
      ${filters(q, params)} ${table} ${nav}
    </section>
    ${statusPanel(ctx)}
  </div>`;
  return layout(ctx, q.text ? `${q.text} – ${ctx.title}` : ctx.title, body, q.text);
}

function statusPanel(ctx: PageContext): Html {
  const s = ctx.summary;
  const h = ctx.history;
  return html`<aside class="status" aria-labelledby="status-heading">
    <h2 id="status-heading">Status</h2>
    <dl>
      <dt>Infohashes</dt>
      <dd>${s.torrents}</dd>
      <dt>With metadata</dt>
      <dd>${s.resolved}</dd>
      <dt>Evicted by the size cap</dt>
      <dd>${s.evicted.unresolved + s.evicted.resolved}</dd>
      <dt>Database</dt>
      <dd>${formatBytes(s.bytes)}</dd>
    </dl>
    ${h === null ? html`<p>Serving a database; no crawl in this process.</p>` : rateChart(h)}
  </aside>`;
}

/** Bars of infohashes discovered per minute (SVG attributes only: the CSP allows no inline style). */
function rateChart(points: readonly RatePoint[]): Html {
  const last = points.at(-1);
  if (!last) return html`<p>Crawl rate: the first minute is not over yet.</p>`;
  const max = Math.max(1, ...points.map((p) => p.discovered));
  const w = 4;
  const bars = points.map((p, i) => {
    const bh = Math.round((p.discovered / max) * 60);
    return html`<rect x="${i * w}" y="${60 - bh}" width="${w - 1}" height="${bh}"
      ><title>${formatDate(p.atMs)}: ${p.discovered} discovered, ${p.resolved} resolved</title></rect
    >`;
  });
  return html`<figure class="chart">
    <svg
      viewBox="0 0 ${Math.max(points.length * w, 40)} 60"
      role="img"
      aria-label="Infohashes discovered per minute over the last ${points.length} minutes; last minute ${last.discovered}"
    >
      ${bars}
    </svg>
    <figcaption>
      Discovered per minute (last: ${last.discovered} discovered, ${last.resolved} resolved, ${last.queries}
      queries)
    </figcaption>
  </figure>`;
}

function tree(nodes: TreeNode[]): Html {
  return html`<ul>
    ${nodes.map((n) =>
      n.isFile
        ? html`<li class="file"><span>${n.name}</span> <span class="size">${formatBytes(n.size)}</span></li>`
        : html`<li class="dir">
            <details open>
              <summary>${n.name}/ <span class="size">${formatBytes(n.size)}</span></summary>
              ${tree(n.children)}
            </details>
          </li>`
    )}
  </ul>`;
}

export function torrentPage(ctx: PageContext, d: TorrentDetail): string {
  const title = d.name ?? d.infoHash;
  const listed = d.files.length;
  const body = html`<article class="torrent">
    <h1>${title}</h1>
    <p class="actions">${magnetCell(d.infoHash, d.name)}</p>
    <dl class="facts">
      <dt>Infohash</dt>
      <dd><code>${d.infoHash}</code></dd>
      <dt>Size</dt>
      <dd>${d.size === null ? 'not resolved yet' : formatBytes(d.size)}</dd>
      <dt>Files</dt>
      <dd>${d.fileCount ?? '–'}</dd>
      <dt>Seeders</dt>
      <dd>${count(d.seeders)}</dd>
      <dt>Leechers</dt>
      <dd>${count(d.leechers)}</dd>
      <dt>Estimated at</dt>
      <dd>${d.scrapedAtMs === null ? 'not scraped yet' : formatDate(d.scrapedAtMs)}</dd>
      <dt>First seen</dt>
      <dd>${formatDate(d.firstSeenMs)}</dd>
      <dt>Last seen</dt>
      <dd>${formatDate(d.lastSeenMs)}</dd>
      <dt>Times seen</dt>
      <dd>${d.seenCount}</dd>
      <dt>Found by</dt>
      <dd>${d.source}</dd>
    </dl>
    ${
      listed > 0
        ? html`<section aria-labelledby="files-heading">
            <h2 id="files-heading">
              Files${
                d.fileCount !== null && d.fileCount > listed ? html` (first ${listed} of ${d.fileCount})` : ''
              }
            </h2>
            <div class="tree">${tree(fileTree(d.files))}</div>
          </section>`
        : ''
    }
  </article>`;
  return layout(ctx, `${title} – ${ctx.title}`, body);
}

export function messagePage(ctx: PageContext, heading: string, text: string): string {
  return layout(
    ctx,
    `${heading} – ${ctx.title}`,
    html`<h1>${heading}</h1>
      <p>${text}</p>
      <p><a href="/">Back to search</a></p>`
  );
}
