/**
 * The index's HTTP server on 127.0.0.1 over a SQLite database filled with known torrents:
 * the JSON search API and Torznab checked against the data (filters, sorts, paging, feeds),
 * the torrent record, /metrics in the Prometheus format, the page escaping hostile names,
 * and the boundary: bad parameters (400), non-GET (405), long URLs (414), the per-IP limit
 * (429), security headers on every answer.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { SqliteCrawlerStore } from '../../lib/crawler/store/sqlite-store.js';
import { IndexServer } from '../../lib/index-server/server.js';
import { RateHistory } from '../../lib/index-server/crawl-monitor.js';
import { emptyStats } from '../../lib/crawler/stats.js';
import { FakeClock } from '../support/fake-clock.js';
import { toHex } from '../../lib/util/bytes.js';
import { ih } from '../support/store-contract.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);
const EVIL = '<script>alert("x")</script> & <img src=x onerror=alert(1)>';

interface Fixture {
  n: number;
  name: string;
  size: number;
  files: Array<{ path: string; size: number }>;
  seeders?: number;
  leechers?: number;
  day: number;
}

const FIXTURES: Fixture[] = [
  {
    n: 1,
    name: 'Sintel 2010 1080p',
    size: 1.2e9,
    files: [{ path: 'Sintel/Sintel.2010.1080p.mkv', size: 1.2e9 }],
    seeders: 50,
    leechers: 4,
    day: 1
  },
  {
    n: 2,
    name: 'Sintel soundtrack FLAC',
    size: 3e8,
    files: [{ path: 'Sintel OST/01 - Snow.flac', size: 3e8 }],
    seeders: 5,
    leechers: 1,
    day: 2
  },
  {
    n: 3,
    name: 'Debian 12 netinst',
    size: 6.5e8,
    files: [{ path: 'debian-12.2.0-amd64-netinst.iso', size: 6.5e8 }],
    seeders: 300,
    leechers: 20,
    day: 3
  },
  { n: 4, name: EVIL, size: 1000, files: [{ path: `${EVIL}/file.txt`, size: 1000 }], day: 4 },
  {
    n: 5,
    name: 'Pride and Prejudice',
    size: 2e6,
    files: [{ path: 'pride.epub', size: 2e6 }],
    seeders: 9,
    leechers: 0,
    day: 5
  }
];

let dir: string;
let store: SqliteCrawlerStore;
let server: IndexServer;
let base: string;
const clock = new FakeClock(T0);
let stats: ReturnType<typeof emptyStats>;

async function get(
  path: string,
  headers: Record<string, string> = {}
): Promise<{ status: number; type: string; body: string; headers: Headers }> {
  const res = await fetch(base + path, { headers });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    body: await res.text(),
    headers: res.headers
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trackerless-index-'));
  store = SqliteCrawlerStore.open(join(dir, 'index.db'));
  for (const f of FIXTURES) store.record(ih(f.n), 'sample', T0 + f.day * DAY);
  store.record(ih(99), 'get_peers', T0); // unresolved
  await store.flush();
  for (const f of FIXTURES)
    store.recordMetadata(ih(f.n), { name: f.name, size: f.size, files: f.files }, T0 + f.day * DAY);
  await store.flush();
  for (const f of FIXTURES)
    if (f.seeders !== undefined)
      await store.recordScrape(ih(f.n), { seeders: f.seeders, leechers: f.leechers! }, T0 + 9 * DAY);
  stats = {
    ...emptyStats(),
    queriesSent: 1234,
    replies: 1000,
    newInfoHashes: 0,
    deferredPerIp: 17,
    frontier: 42
  };
  const history = new RateHistory(clock, () => stats);
  history.start();
  server = await IndexServer.listen({
    index: store,
    port: 0,
    clock,
    requestsPerSecond: 1000,
    monitor: { crawler: () => stats, history }
  });
  base = server.url;
});

afterAll(async () => {
  await server?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

const names = (body: string): string[] =>
  (JSON.parse(body) as { results: Array<{ name: string }> }).results.map((r) => r.name);

describe('GET /api/search', () => {
  it('matches the data: words, filters, sorts, paging, magnet links', async () => {
    expect(names((await get('/api/search?q=sintel')).body).sort()).toEqual([
      'Sintel 2010 1080p',
      'Sintel soundtrack FLAC'
    ]);
    expect(names((await get('/api/search?q=sintel&min_size=1GB')).body)).toEqual(['Sintel 2010 1080p']);
    expect(names((await get('/api/search?q=snow')).body)).toEqual(['Sintel soundtrack FLAC']); // a file name
    expect(names((await get('/api/search?sort=seeders')).body)).toEqual([
      'Debian 12 netinst',
      'Sintel 2010 1080p',
      'Pride and Prejudice',
      'Sintel soundtrack FLAC',
      EVIL // never scraped: last
    ]);
    expect(names((await get('/api/search?sort=size&order=asc&max_size=1MiB')).body)).toEqual([EVIL]);
    expect(names((await get('/api/search?after=2026-11-04')).body)).toEqual([
      'Pride and Prejudice',
      EVIL,
      'Debian 12 netinst'
    ]);
    const p1 = JSON.parse((await get('/api/search?limit=2')).body) as {
      hasMore: boolean;
      results: Array<{ name: string }>;
    };
    const p3 = JSON.parse((await get('/api/search?limit=2&page=3')).body) as {
      hasMore: boolean;
      results: Array<{ name: string }>;
    };
    expect(p1.hasMore).toBe(true);
    expect(p3.hasMore).toBe(false);
    expect(p3.results).toHaveLength(1);
    const one = JSON.parse((await get('/api/search?q=debian')).body) as {
      results: Array<Record<string, unknown>>;
    };
    expect(one.results[0]).toEqual({
      infoHash: toHex(ih(3)),
      name: 'Debian 12 netinst',
      size: 6.5e8,
      fileCount: 1,
      firstSeenMs: T0 + 3 * DAY,
      lastSeenMs: T0 + 3 * DAY,
      seenCount: 1,
      seeders: 300,
      leechers: 20,
      scrapedAtMs: T0 + 9 * DAY,
      magnet: `magnet:?xt=urn:btih:${toHex(ih(3))}&dn=Debian%2012%20netinst`
    });
  });

  it('answers bad parameters with 400 naming the parameter', async () => {
    for (const [q, param] of [
      ['sort=random', 'sort'],
      ['limit=1000', 'limit'],
      ['page=0', 'page'],
      ['min_size=big', 'min_size'],
      ['after=yesterday', 'after'],
      [`q=${'x'.repeat(300)}`, 'q']
    ]) {
      const r = await get(`/api/search?${q}`);
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body).error).toContain(param);
    }
  });
});

describe('GET /torrent/<infohash>', () => {
  it('gives files, sizes, magnet and liveness as JSON, and 404/400 otherwise', async () => {
    const r = await get(`/torrent/${toHex(ih(1))}`, { accept: 'application/json' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({
      name: 'Sintel 2010 1080p',
      files: [{ path: 'Sintel/Sintel.2010.1080p.mkv', size: 1.2e9 }],
      seeders: 50,
      leechers: 4,
      seenCount: 1,
      magnet: expect.stringMatching(/^magnet:\?xt=urn:btih:/)
    });
    const unresolved = JSON.parse((await get(`/api/torrent/${toHex(ih(99))}`)).body);
    expect(unresolved).toMatchObject({ name: null, size: null, files: [], source: 'get_peers' });
    expect((await get(`/api/torrent/${'ab'.repeat(20)}`)).status).toBe(404);
    expect((await get('/torrent/xyz')).status).toBe(400);
    const html = await get(`/torrent/${toHex(ih(1))}`);
    expect(html.type).toContain('text/html');
    expect(html.body).toContain('Sintel.2010.1080p.mkv');
  });
});

describe('pages', () => {
  it('escape every value: a hostile name is shown as text, never as markup', async () => {
    for (const path of ['/?q=script', `/torrent/${toHex(ih(4))}`, '/?q=%3Cscript%3E%22%27']) {
      const r = await get(path);
      expect(r.status).toBe(200);
      expect(r.body).not.toContain('<script>alert');
      expect(r.body).not.toContain('<img src=x');
      expect(r.body).not.toMatch(/value="[^"]*"[^>]*'/); // the query is echoed escaped
      expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    }
    const page = await get('/?q=script');
    expect(page.body).toContain(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;'
    );
    const scripts = [...page.body.matchAll(/<script[^>]*>/g)].map((m) => m[0]);
    expect(scripts).toEqual(['<script src="/static/app.js" defer>']); // the one static script
  });

  it('is read-only and bounded: 405, 414, 404, security headers', async () => {
    const post = await fetch(base + '/api/search', { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await get('/?q=' + 'a'.repeat(3000))).status).toBe(414);
    const missing = await get('/nothing');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-content-type-options')).toBe('nosniff');
    expect(missing.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('GET /torznab/api', () => {
  it('describes its capabilities', async () => {
    const r = await get('/torznab/api?t=caps');
    expect(r.type).toContain('xml');
    expect(r.body).toContain('<searching>');
    expect(r.body).toMatch(/<tv-search available="yes" supportedParams="q,season,ep"\/>/);
    expect(r.body).toContain('<category id="5000" name="TV"/>');
  });

  it('returns an RSS feed matching the data, filtered by category', async () => {
    const r = await get('/torznab/api?t=search&q=sintel&apikey=ignored');
    const items = r.body.split('<item>').slice(1);
    expect(items).toHaveLength(2);
    const sintel = items.find((i) => i.includes('<title>Sintel 2010 1080p</title>'))!;
    expect(sintel).toContain(`<guid isPermaLink="false">${toHex(ih(1))}</guid>`);
    expect(sintel).toContain('<size>1200000000</size>');
    expect(sintel).toContain('<torznab:attr name="seeders" value="50"/>');
    expect(sintel).toContain('<torznab:attr name="peers" value="54"/>');
    expect(sintel).toContain(`<torznab:attr name="infohash" value="${toHex(ih(1))}"/>`);
    expect(sintel).toContain('<torznab:attr name="category" value="2000"/>');
    expect(sintel).toContain('&amp;dn=Sintel%202010%201080p');
    const tv = await get('/torznab/api?t=tvsearch&q=sintel&cat=5030');
    expect(
      tv.body
        .split('<item>')
        .slice(1)
        .map((i) => /<title>(.*)<\/title>/.exec(i)![1])
    ).toEqual(['Sintel 2010 1080p']);
    const audio = await get('/torznab/api?t=music&cat=3000');
    expect(audio.body.split('<item>')).toHaveLength(2);
    const books = await get('/torznab/api?t=book&q=pride');
    expect(books.body).toContain('<category>7000</category>');
    const evil = await get('/torznab/api?t=search&q=script');
    expect(evil.body).toContain('<title>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
  });

  it('answers unknown functions and bad parameters with Newznab error codes', async () => {
    expect((await get('/torznab/api?t=register')).body).toContain('<error code="202"');
    expect((await get('/torznab/api?t=search&limit=zzz')).body).toContain('<error code="201"');
  });
});

describe('GET /metrics', () => {
  it('speaks the Prometheus text format with the crawl and database figures', async () => {
    stats.newInfoHashes = 6; // found during the next minute
    clock.advance(60_000); // one per-minute sample
    const r = await get('/metrics');
    expect(r.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = r.body.trim().split('\n');
    for (const l of lines)
      expect(l).toMatch(
        /^(# (HELP|TYPE) \w+ .+|\w+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?\d+(\.\d+)?(e[+-]?\d+)?)$/
      );
    const value = (name: string): number =>
      Number(lines.find((l) => l.startsWith(name + ' '))?.split(' ')[1]);
    expect(value('trackerless_index_torrents')).toBe(6);
    expect(value('trackerless_index_resolved_torrents')).toBe(5);
    expect(value('trackerless_crawler_queries_sent_total')).toBe(1234);
    expect(value('trackerless_crawler_rate_limit_deferrals_total')).toBe(17);
    expect(value('trackerless_crawler_infohashes_discovered_per_minute')).toBe(6);
    expect(value('trackerless_index_database_bytes')).toBeGreaterThan(0);
    expect(lines).toContain('trackerless_crawler_queue_size{queue="frontier"} 42');
    expect(lines).toContain('# TYPE trackerless_crawler_queries_sent_total counter');
  });
});

describe('per-IP limit', () => {
  it('answers 429 beyond the burst, and serves again once tokens return', async () => {
    const limited = await IndexServer.listen({ index: store, port: 0, clock, requestsPerSecond: 2 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await fetch(`${limited.url}/api/search?limit=1`)).status);
      expect(statuses.slice(0, 6)).toEqual([200, 200, 200, 200, 200, 200]); // burst = 3 s worth
      expect(statuses.slice(6)).toEqual([429, 429]);
      clock.advance(1000);
      expect((await fetch(`${limited.url}/api/search?limit=1`)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

// node:http keeps the agent's sockets; make sure HEAD answers have no body.
it('answers HEAD without a body', async () => {
  const { status, length } = await new Promise<{ status: number; length: number }>((resolve, reject) => {
    const req = request(base + '/', { method: 'HEAD' }, (res) => {
      let length = 0;
      res.on('data', (c: Buffer) => (length += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, length }));
    });
    req.on('error', reject);
    req.end();
  });
  expect(status).toBe(200);
  expect(length).toBe(0);
});
