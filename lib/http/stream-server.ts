/**
 * An HTTP server (node:http) that serves torrents' files while they download, for players and
 * browsers:
 *
 *   GET /                          the torrents and their files: JSON (`Accept:
 *                                  application/json` or `?json`) or a plain HTML page
 *   GET|HEAD /<infohash>/<path>    a file, with `Range` (206, 416), `Accept-Ranges: bytes`,
 *                                  `Content-Type` from the extension
 *
 * A response body starts as soon as the first piece it needs is verified (the file stream
 * gives that piece a deadline); only verified bytes are sent. The server listens on loopback
 * unless a host is given: anyone who can reach it can read every file it serves.
 *
 * Untrusted input: the URL is matched against the torrent's own file list (a path that is not
 * a file of it is 404; '..' and undecodable components are 400 before any lookup), the Range
 * header is parsed strictly (byte-range.ts), request headers must arrive within 10 s, and the
 * number of connections is capped (each holds at most one read chunk plus socket buffers), in
 * all and per source IP, so one client cannot take every slot.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { TorrentFile } from '../stream/torrent-file.js';
import { toHex } from '../util/bytes.js';
import { parseRange } from './byte-range.js';
import { contentType } from './content-type.js';
import { filePath, listing, listingHtml } from './listing.js';
import type { StreamTorrent } from './stream-torrent.js';

export interface StreamServerOptions {
  /** The torrents to serve; asked on every request (torrents may come and go). */
  torrents: () => Iterable<StreamTorrent>;
  /** Default 127.0.0.1 (loopback only). Binding elsewhere exposes every file served. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Most simultaneous connections (default 64). */
  maxConnections?: number;
  /**
   * Most simultaneous connections from one IP address (default 16: a browser opens up to 6 per
   * host, a player a few for its range requests). Further ones are closed on arrival.
   */
  maxConnectionsPerIp?: number;
}

const HEX40 = /^[0-9a-f]{40}$/;

export class StreamServer {
  private constructor(
    private readonly server: Server,
    readonly host: string,
    readonly port: number
  ) {}

  static async listen(o: StreamServerOptions): Promise<StreamServer> {
    const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) =>
      handle(o, req, res)
    );
    server.maxConnections = o.maxConnections ?? 64;
    limitPerIp(server, o.maxConnectionsPerIp ?? 16);
    const host = o.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new StreamServer(server, host, (server.address() as AddressInfo).port);
  }

  /** Base URL, e.g. http://127.0.0.1:8888 (IPv6 hosts in brackets). */
  get origin(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.port}`;
  }

  /** The URL of a file of a torrent. */
  fileUrl(infoHash: Uint8Array, file: TorrentFile): string {
    return this.origin + filePath(toHex(infoHash), file.pathParts);
  }

  /** Stop listening and close every connection (streams in progress end). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}

/**
 * Close a connection on arrival when its IP already holds `max`. Only connections the server
 * accepted reach 'connection' (it refuses beyond `maxConnections` first), so the table is
 * bounded by that cap.
 */
function limitPerIp(server: Server, max: number): void {
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const ip = socket.remoteAddress ?? '';
    const n = open.get(ip) ?? 0;
    if (n >= max) {
      socket.destroy();
      return;
    }
    open.set(ip, n + 1);
    socket.once('close', () => {
      const left = (open.get(ip) ?? 1) - 1;
      if (left > 0) open.set(ip, left);
      else open.delete(ip);
    });
  });
}

function handle(o: StreamServerOptions, req: IncomingMessage, res: ServerResponse): void {
  const method = req.method ?? '';
  if (method !== 'GET' && method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return fail(res, 405, 'only GET and HEAD are supported');
  }
  // The path as sent: URL parsing would resolve '..' before we could refuse it.
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  if (!rawPath.startsWith('/')) return fail(res, 400, 'bad request target');
  if (rawPath === '/') return list(o, req, res, new URLSearchParams(q < 0 ? '' : target.slice(q + 1)));
  const parts: string[] = [];
  for (const raw of rawPath.slice(1).split('/')) {
    let part: string;
    try {
      part = decodeURIComponent(raw);
    } catch {
      return fail(res, 400, 'bad percent-encoding in the path');
    }
    if (part === '..' || part === '.' || part.includes('/') || part.includes('\\') || part.includes('\0'))
      return fail(res, 400, 'path components may not be . or .. or contain slashes');
    parts.push(part);
  }
  const [infoHash, ...path] = parts;
  const torrent = HEX40.test(infoHash?.toLowerCase() ?? '') ? find(o, infoHash!.toLowerCase()) : undefined;
  if (!torrent) return fail(res, 404, 'no such torrent');
  if (!torrent.info) {
    res.setHeader('Retry-After', '2');
    return fail(res, 503, 'the metadata is not known yet');
  }
  const wanted = path.join('/');
  const file = torrent.files.find((f) => !f.padding && f.path === wanted);
  if (!file) return fail(res, 404, 'no such file in the torrent');
  serveFile(req, res, file);
}

function serveFile(req: IncomingMessage, res: ServerResponse, file: TorrentFile): void {
  const size = file.length;
  const range = parseRange(req.headers.range, size);
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (range.kind === 'invalid') return fail(res, 400, range.reason);
  if (range.kind === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${size}`);
    return fail(res, 416, `the file has ${size} bytes`);
  }
  const start = range.kind === 'range' ? range.start : 0;
  const end = range.kind === 'range' ? range.end : size - 1;
  res.statusCode = range.kind === 'range' ? 206 : 200;
  res.setHeader('Content-Type', contentType(file.name));
  res.setHeader('Content-Length', String(end - start + 1));
  if (range.kind === 'range') res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  // Headers leave with the first body bytes, once the first piece needed is verified.
  pipeline(file.createReadStream({ start, end }), res).catch(() => res.destroy());
}

function list(
  o: StreamServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams
): void {
  const torrents = listing(o.torrents());
  const json = query.has('json') || /application\/json/i.test(req.headers.accept ?? '');
  const body = json ? JSON.stringify({ torrents }) : listingHtml(torrents);
  res.statusCode = 200;
  res.setHeader('Content-Type', json ? 'application/json' : 'text/html; charset=utf-8');
  res.setHeader('Content-Security-Policy', "default-src 'none'");
  res.setHeader('Content-Length', String(Buffer.byteLength(body)));
  res.end(req.method === 'HEAD' ? undefined : body);
}

function find(o: StreamServerOptions, infoHash: string): StreamTorrent | undefined {
  for (const t of o.torrents()) if (toHex(t.infoHash) === infoHash) return t;
  return undefined;
}

function fail(res: ServerResponse, status: number, message: string): void {
  const body = `${status} ${message}\n`;
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', String(Buffer.byteLength(body)));
  res.end(body);
}
