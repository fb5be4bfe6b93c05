/**
 * The index's HTTP server (read-only): the web page, the JSON API, Torznab and /metrics over
 * any TorrentIndex (SQLite or PostgreSQL), optionally beside a running crawl (CrawlMonitor).
 *
 *   GET /                      search page (/?q=...&sort=...: linkable)
 *   GET /torrent/<infohash>    a torrent's page (JSON with Accept: application/json)
 *   GET /api/search?q=...      JSON search (search-params.ts lists the parameters)
 *   GET /api/torrent/<ih>      JSON: files, sizes, magnet link, liveness
 *   GET /api/status            JSON: database counts, crawl counters, per-minute rates
 *   GET /torznab/api?t=...     Torznab (torznab.ts)
 *   GET /metrics               Prometheus text format (metrics.ts)
 *
 * Safety: GET and HEAD only (405 otherwise); URLs over 2 KiB refused (414); a per-IP token
 * bucket (429 beyond it) and a bounded connection count keep one client from monopolising
 * the database; every response carries a CSP without inline script, nosniff and no framing.
 * Internal errors are logged through 'warning' and answered with a bare 500.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../util/clock.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { TokenBucket } from '../util/token-bucket.js';
import type {
  IndexSummary,
  TorrentDetail,
  TorrentIndex,
  TorrentSummary
} from '../crawler/store/torrent-index.js';
import type { CrawlMonitor } from './crawl-monitor.js';
import { APP_CSS, APP_JS } from './assets.js';
import { magnetFor, parseInfoHashParam } from './format.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
import { messagePage, searchPage, torrentPage, type PageContext } from './pages.js';
import { BadQueryError, parseSearch } from './search-params.js';
import {
  isSearchFunction,
  torznabCaps,
  torznabError,
  torznabSearch,
  TORZNAB_CONTENT_TYPE
} from './torznab.js';

export interface IndexServerOptions {
  index: TorrentIndex;
  /** A crawl running in this process (adds its counters to /metrics, /api/status and the page). */
  monitor?: CrawlMonitor | null;
  /** Default 127.0.0.1: serving beyond loopback is an explicit choice. */
  host?: string;
  port: number;
  /** Page title (default "trackerless index"). */
  title?: string;
  clock?: Clock;
  /** Requests per second per client IP (default 20, burst 60). */
  requestsPerSecond?: number;
  /** Open connections at most (default 256). */
  maxConnections?: number;
}

const MAX_URL = 2048;
const MAX_CLIENTS_TRACKED = 10_000;
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer'
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

export class IndexServer extends TypedEmitter<{ warning: [err: Error] }> {
  private readonly server: Server;
  private readonly opts: IndexServerOptions & { clock: Clock; title: string };
  private readonly buckets = new Map<string, TokenBucket>();

  private constructor(opts: IndexServerOptions) {
    super();
    this.opts = { clock: systemClock, title: 'trackerless index', ...opts };
    this.server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
      void this.handle(req, res);
    });
    this.server.maxConnections = opts.maxConnections ?? 256;
  }

  static async listen(opts: IndexServerOptions): Promise<IndexServer> {
    const s = new IndexServer(opts);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    return s;
  }

  address(): { host: string; port: number } {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** http://host:port (IPv6 hosts in brackets). */
  get url(): string {
    const { host, port } = this.address();
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // --- request handling ------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        throw new HttpError(405, 'read-only: GET and HEAD only');
      }
      if ((req.url ?? '').length > MAX_URL) throw new HttpError(414, 'URL too long');
      if (!this.admit(req.socket.remoteAddress ?? '')) {
        res.setHeader('retry-after', '1');
        throw new HttpError(429, 'too many requests');
      }
      const url = new URL(req.url ?? '/', 'http://index.invalid');
      await this.route(req, res, url);
    } catch (err) {
      this.fail(req, res, err);
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const p = url.searchParams;
    if (path === '/') {
      const q = parseSearch(p);
      const [page, ctx] = await Promise.all([this.opts.index.search(q), this.pageContext()]);
      return this.send(req, res, 200, 'text/html; charset=utf-8', searchPage(ctx, q, page, p));
    }
    if (path === '/api/search') {
      const q = parseSearch(p);
      const page = await this.opts.index.search(q);
      return this.json(req, res, 200, {
        query: q,
        page: q.offset / q.limit + 1,
        limit: q.limit,
        hasMore: page.hasMore,
        results: page.results.map(withMagnet)
      });
    }
    const torrentMatch = /^\/(api\/)?torrent\/([^/]*)$/.exec(path);
    if (torrentMatch) {
      const ih = parseInfoHashParam(torrentMatch[2]!);
      if (!ih) throw new HttpError(400, 'expected a 40-digit hex infohash');
      const d = await this.opts.index.torrent(ih);
      const wantsJson = torrentMatch[1] !== undefined || /application\/json/.test(req.headers.accept ?? '');
      if (!d) {
        if (wantsJson) return this.json(req, res, 404, { error: 'not found' });
        throw new HttpError(404, 'No torrent with this infohash is stored.');
      }
      if (wantsJson) return this.json(req, res, 200, withMagnet(d));
      return this.send(req, res, 200, 'text/html; charset=utf-8', torrentPage(await this.pageContext(), d));
    }
    if (path === '/api/status') {
      const m = this.opts.monitor;
      return this.json(req, res, 200, {
        database: await this.opts.index.summary(),
        crawler: m ? m.crawler() : null,
        liveness: m?.liveness ? m.liveness() : null,
        perMinute: m ? m.history.series() : []
      });
    }
    if (path === '/torznab/api' || path === '/api/torznab') return this.torznab(req, res, url);
    if (path === '/metrics') {
      const body = renderMetrics(await this.opts.index.summary(), this.opts.monitor ?? null);
      return this.send(req, res, 200, METRICS_CONTENT_TYPE, body);
    }
    if (path === '/static/app.css') return this.send(req, res, 200, 'text/css; charset=utf-8', APP_CSS, true);
    if (path === '/static/app.js')
      return this.send(req, res, 200, 'text/javascript; charset=utf-8', APP_JS, true);
    if (path === '/favicon.ico') {
      // Browsers ask for it whatever the page says; no icon, and no 404 in their console.
      res.writeHead(204, { ...SECURITY_HEADERS, 'cache-control': 'public, max-age=86400' });
      return void res.end();
    }
    throw new HttpError(404, 'There is nothing at this address.');
  }

  private async torznab(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const t = url.searchParams.get('t') ?? '';
    if (t === 'caps') return this.send(req, res, 200, TORZNAB_CONTENT_TYPE, torznabCaps(this.opts.title));
    if (!isSearchFunction(t))
      return this.send(req, res, 200, TORZNAB_CONTENT_TYPE, torznabError(202, `no such function: ${t}`));
    try {
      const feed = await torznabSearch(this.opts.index, url.searchParams, this.baseUrl(req));
      return this.send(req, res, 200, TORZNAB_CONTENT_TYPE, feed);
    } catch (err) {
      if (err instanceof BadQueryError)
        return this.send(req, res, 200, TORZNAB_CONTENT_TYPE, torznabError(201, err.message));
      throw err;
    }
  }

  /** The address the client used (links in feeds), if the Host header is a plain host[:port]. */
  private baseUrl(req: IncomingMessage): string {
    const host = req.headers.host ?? '';
    return /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)
      ? `http://${host}`
      : this.url;
  }

  private async pageContext(): Promise<PageContext> {
    const summary: IndexSummary = await this.opts.index.summary();
    return {
      title: this.opts.title,
      summary,
      history: this.opts.monitor ? this.opts.monitor.history.series() : null
    };
  }

  private admit(ip: string): boolean {
    const now = this.opts.clock.now();
    let b = this.buckets.get(ip);
    if (!b) {
      if (this.buckets.size >= MAX_CLIENTS_TRACKED) this.buckets.delete(this.buckets.keys().next().value!);
      const rate = this.opts.requestsPerSecond ?? 20;
      b = new TokenBucket({ ratePerSecond: rate, burst: rate * 3, nowMs: now });
      this.buckets.set(ip, b);
    }
    return b.take(now);
  }

  private fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    let status = 500;
    let message = 'Internal error.';
    if (err instanceof HttpError || err instanceof BadQueryError) {
      status = err instanceof HttpError ? err.status : 400;
      message = err.message;
    } else this.emit('warning', err instanceof Error ? err : new Error(String(err)));
    if (res.headersSent) return void res.destroy();
    const api = (req.url ?? '').startsWith('/api/') || /application\/json/.test(req.headers.accept ?? '');
    if (api) return this.json(req, res, status, { error: message });
    const heading = status === 404 ? 'Not found' : status === 400 ? 'Bad request' : `Error ${status}`;
    void this.pageContext()
      .catch(() => ({ title: this.opts.title, summary: EMPTY_SUMMARY, history: null }))
      .then((ctx) =>
        this.send(req, res, status, 'text/html; charset=utf-8', messagePage(ctx, heading, message))
      );
  }

  private json(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
    this.send(req, res, status, 'application/json; charset=utf-8', JSON.stringify(body));
  }

  private send(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    type: string,
    body: string,
    cacheable = false
  ): void {
    const bytes = Buffer.from(body, 'utf8');
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'content-type': type,
      'content-length': bytes.length,
      'cache-control': cacheable ? 'public, max-age=3600' : 'no-store'
    });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  }
}

const EMPTY_SUMMARY: IndexSummary = {
  torrents: 0,
  resolved: 0,
  evicted: { unresolved: 0, resolved: 0 },
  bytes: 0
};

function withMagnet<T extends TorrentSummary | TorrentDetail>(t: T): T & { magnet: string } {
  return { ...t, magnet: magnetFor(t.infoHash, t.name) };
}
