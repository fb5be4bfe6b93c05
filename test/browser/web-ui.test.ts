/**
 * The web page in a real browser (Debian's headless Chromium driven by playwright-core),
 * against `trackerless crawl --serve --resolve` indexing a loopback DHT where two seeders
 * announced torrents (one with a hostile name): type a query, see the expected rows, open a
 * detail page with its file tree, copy a magnet link, and look at it on a phone-sized screen.
 * Screenshots go to test-artifacts/web-ui/ (gitignored).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { DHT } from '../../lib/dht/dht.js';
import { seed } from '../../lib/swarm/seed.js';
import type { Swarm } from '../../lib/swarm/swarm.js';
import { runCli, type CliIO } from '../../lib/cli/program.js';
import { crawlCommand } from '../../lib/cli/commands/crawl.js';
import { toHex } from '../../lib/util/bytes.js';
import { waitFor } from '../support/wait.js';
import { ROOT } from '../support/cli-process.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-artifacts', 'web-ui');
const EVIL = `<img src=x onerror=alert(1)> & "Mint" 'quoted'`;

let dir: string;
const nodes: DHT[] = [];
const swarms: Swarm[] = [];
const infoHashes: Record<string, string> = {};
let crawl: Promise<number>;
const stop = new AbortController();
const err: string[] = [];
let base = '';
let context: BrowserContext;

async function seedDir(name: string, files: Record<string, number>): Promise<void> {
  const root = join(dir, 'content', name);
  for (const [path, size] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), Buffer.alloc(size, path.length));
  }
  const s = await seed(root, {
    bootstrap: nodes.map((d) => `127.0.0.1:${d.address().port}`),
    dhtOptions: { host: '127.0.0.1', port: 0, queryTimeoutMs: 500 },
    listen: { host: '127.0.0.1', port: 0 }
  });
  swarms.push(s.swarm);
  infoHashes[name] = toHex(s.info.infoHash);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (.ci/run does)`);
  dir = await mkdtemp(join(tmpdir(), 'trackerless-webui-'));
  await mkdir(SHOTS, { recursive: true });
  const a = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [], queryTimeoutMs: 500 });
  nodes.push(
    a,
    await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [a.address()], queryTimeoutMs: 500 })
  );
  await seedDir('Sintel 2010 1080p', {
    'Sintel.2010.1080p.mkv': 60_000,
    'Subs/English.srt': 2_000,
    'Subs/Français.srt': 2_100
  });
  await seedDir(EVIL, { 'notes.txt': 500 });
  for (const ih of Object.values(infoHashes))
    await waitFor(
      'the seeders to be announced',
      async () => (await nodes[1]!.getPeers(ih)).peers.length > 0,
      {
        timeoutMs: 15_000,
        intervalMs: 200
      }
    );
  const io: CliIO = {
    stdout: () => undefined,
    stderr: (s) => err.push(s),
    interrupt: stop.signal
  };
  crawl = runCli(
    [
      'crawl',
      '--db',
      join(dir, 'crawl.db'),
      '--host',
      '127.0.0.1',
      '--bootstrap',
      `127.0.0.1:${a.address().port}`,
      '--serve',
      '127.0.0.1:0',
      '--resolve',
      '--scrape',
      '--scrape-interval',
      '0.2',
      '--progress-interval',
      '0',
      '--duration',
      '300'
    ],
    { commands: [crawlCommand], io }
  );
  base = await waitFor('the crawl to serve', () => /serving (http:\/\/[^ ]+)\//.exec(err.join(''))?.[1], {
    timeoutMs: 15_000,
    intervalMs: 50
  });
  await waitFor(
    'both torrents resolved and searchable',
    async () => {
      const r = (await (await fetch(`${base}/api/search`)).json()) as { results: unknown[] };
      return r.results.length === 2;
    },
    { timeoutMs: 40_000, intervalMs: 250 }
  );
  await waitFor(
    'BEP 33 estimates for both',
    async () => {
      const r = (await (await fetch(`${base}/api/search`)).json()) as {
        results: Array<{ seeders: number | null }>;
      };
      return r.results.every((t) => t.seeders !== null);
    },
    {
      timeoutMs: 30_000,
      intervalMs: 250,
      detail: () => err.join('').slice(-2000)
    }
  );
  context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync'
    ]
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
}, 90_000);

afterAll(async () => {
  await context?.close();
  stop.abort('SIGINT');
  await crawl;
  await Promise.all(swarms.map((s) => s.destroy()));
  await Promise.all(nodes.map((d) => d.destroy()));
  await rm(dir, { recursive: true, force: true });
}, 30_000);

/** A page that fails the test on any dialog (an injected alert) or console error (e.g. CSP). */
async function newPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return { page, problems };
}

describe('the web page, in Chromium, over a crawl of a loopback DHT', () => {
  it('searches, shows the rows, opens a torrent, copies its magnet link', async () => {
    const { page, problems } = await newPage();
    await page.goto(`${base}/`);
    await page.screenshot({ path: join(SHOTS, '1-home.png'), fullPage: true });
    await page.getByRole('searchbox', { name: 'Search torrents' }).fill('sintel');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?q=sintel/);
    const rows = page.locator('table.results tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().locator('td.name').innerText()).toBe('Sintel 2010 1080p');
    expect(await rows.first().locator('a.magnet').getAttribute('href')).toBe(
      `magnet:?xt=urn:btih:${infoHashes['Sintel 2010 1080p']}&dn=Sintel%202010%201080p`
    );
    await page.screenshot({ path: join(SHOTS, '2-search.png'), fullPage: true });

    await rows.first().getByRole('link', { name: 'Sintel 2010 1080p', exact: true }).click();
    await page.waitForURL(new RegExp(`/torrent/${infoHashes['Sintel 2010 1080p']}$`));
    expect(await page.locator('h1').innerText()).toBe('Sintel 2010 1080p');
    const tree = await page.locator('.tree').innerText();
    expect(tree).toContain('Sintel.2010.1080p.mkv');
    expect(tree).toContain('Subs/');
    expect(tree).toContain('Français.srt');
    expect(await page.locator('.facts').innerText()).toContain(infoHashes['Sintel 2010 1080p']);
    // Liveness from a real BEP 33 scrape of the loopback DHT: the seeder announced itself.
    const facts = await page.locator('.facts').innerText();
    const seeders = Number(/Seeders\s+(\d+)/.exec(facts)?.[1]);
    const leechers = Number(/Leechers\s+(\d+)/.exec(facts)?.[1]);
    expect(seeders + leechers).toBeGreaterThanOrEqual(1);
    expect(facts).not.toContain('not scraped yet');
    await page.getByRole('button', { name: /Copy magnet link/ }).click();
    await waitFor(
      'the copy confirmation',
      async () => (await page.getByRole('status').innerText()) === 'Magnet link copied',
      {
        timeoutMs: 5_000,
        intervalMs: 50
      }
    );
    // Strings are evaluated in the page (this file is compiled without the DOM's types).
    const copied = await page.evaluate<string>('navigator.clipboard.readText()');
    expect(copied).toBe(`magnet:?xt=urn:btih:${infoHashes['Sintel 2010 1080p']}&dn=Sintel%202010%201080p`);
    await page.screenshot({ path: join(SHOTS, '3-detail.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows a hostile torrent name as text and runs none of it', async () => {
    const { page, problems } = await newPage();
    await page.goto(`${base}/?q=mint`);
    const name = page.locator('table.results tbody tr td.name');
    expect(await name.innerText()).toBe(EVIL);
    expect(await page.locator('main img').count()).toBe(0);
    await name.getByRole('link', { name: EVIL, exact: true }).click();
    await page.waitForURL(/\/torrent\//);
    expect(await page.locator('h1').innerText()).toBe(EVIL);
    expect(await page.title()).toContain(EVIL);
    // A query with markup is echoed back as text in the search box.
    await page.goto(`${base}/?q=${encodeURIComponent('"><script>alert(2)</script>')}`);
    expect(await page.getByRole('searchbox').inputValue()).toBe('"><script>alert(2)</script>');
    await page.screenshot({ path: join(SHOTS, '4-hostile.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('fits a phone screen: no sideways scrolling, rows as cards, controls large enough to tap', async () => {
    const { page, problems } = await newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/?q=sintel`);
    const widths = await page.evaluate<{ scroll: number; view: number }>(
      '({ scroll: document.documentElement.scrollWidth, view: window.innerWidth })'
    );
    expect(widths.scroll).toBeLessThanOrEqual(widths.view);
    const display = await page.evaluate<string>(
      "getComputedStyle(document.querySelector('table.results tbody tr')).display"
    );
    expect(display).toBe('block');
    const box = await page.getByRole('button', { name: 'Search', exact: true }).boundingBox();
    expect(box!.height).toBeGreaterThanOrEqual(44);
    await page.screenshot({ path: join(SHOTS, '5-phone.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });
});
