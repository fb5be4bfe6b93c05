/**
 * The package as users get it: lib/ is built with the build config into a temporary package
 * (package.json as published, dist/lib), then
 * - loaded with require() (CommonJS, Node >= 20.19 loads the ES modules) and with import,
 *   every entry point: '.', './engine', './wire', './crawler', './testing';
 * - type-checked from a consumer under moduleResolution nodenext, node16 and bundler, with
 *   the published .d.ts files (skipLibCheck off), including a check that the engine's
 *   internals are not part of its type.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const ENTRIES = [
  'trackerless',
  'trackerless/engine',
  'trackerless/wire',
  'trackerless/crawler',
  'trackerless/testing'
];

let dir: string;
/** The built package: <dir>/node_modules/trackerless. */
let pkg: string;

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-package-'));
  pkg = join(dir, 'node_modules', 'trackerless');
  await fsp.mkdir(pkg, { recursive: true });
  await fsp.copyFile(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  // The package's own dependencies resolve from its node_modules, as after `npm install`.
  await fsp.symlink(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  await fsp.writeFile(
    join(dir, 'tsconfig.build.json'),
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.build.json'),
      compilerOptions: {
        rootDir: ROOT,
        outDir: join(pkg, 'dist'),
        sourceMap: false,
        typeRoots: [join(ROOT, 'node_modules', '@types')]
      },
      include: [join(ROOT, 'lib')]
    })
  );
  await run(process.execPath, [TSC, '-p', join(dir, 'tsconfig.build.json')], { timeout: 240_000 });
}, 300_000);

afterAll(async () => {
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

/** Run a script file in the consumer directory; returns its stdout parsed as JSON. */
async function runScript(name: string, source: string): Promise<unknown> {
  const file = join(dir, name);
  await fsp.writeFile(file, source);
  const { stdout } = await run(process.execPath, [file], { cwd: dir, timeout: 60_000 });
  return JSON.parse(stdout) as unknown;
}

describe('the published package', () => {
  it('loads with require() (CommonJS) from every entry point', async () => {
    const out = await runScript(
      'load.cjs',
      `const entries = ${JSON.stringify(ENTRIES)};
       const seen = {};
       for (const e of entries) seen[e] = Object.keys(require(e)).sort();
       const { DHT, Swarm, TrackerlessError, parseMagnet } = require('trackerless');
       const m = parseMagnet('magnet:?xt=urn:btih:' + 'ab'.repeat(20));
       console.log(JSON.stringify({ seen, dht: typeof DHT, swarm: typeof Swarm,
         error: new TrackerlessError('ERR_TIMEOUT', 'x') instanceof Error, hash: m.infoHashHex }));`
    );
    const o = out as {
      seen: Record<string, string[]>;
      dht: string;
      swarm: string;
      error: boolean;
      hash: string;
    };
    expect(o.dht).toBe('function');
    expect(o.swarm).toBe('function');
    expect(o.error).toBe(true);
    expect(o.hash).toBe('ab'.repeat(20));
    expect(o.seen['trackerless/engine']).toContain('BitTorrentEngine');
    expect(o.seen['trackerless/wire']).toContain('PeerWire');
    expect(o.seen['trackerless/crawler']).toContain('Crawler');
    expect(o.seen['trackerless/testing']).toContain('SimNetwork');
  });

  it('loads with import, and the root stays small (no engine, crawler or test rigs)', async () => {
    const out = await runScript(
      'load.mjs',
      `const seen = {};
       for (const e of ${JSON.stringify(ENTRIES)}) seen[e] = Object.keys(await import(e)).sort();
       console.log(JSON.stringify(seen));`
    );
    const seen = out as Record<string, string[]>;
    const root = seen['trackerless']!;
    expect(root).toEqual(
      expect.arrayContaining([
        'DHT',
        'Swarm',
        'Client',
        'ClientTorrent',
        'seed',
        'parseMagnet',
        'TrackerlessError'
      ])
    );
    for (const name of [
      'BitTorrentEngine',
      'Crawler',
      'SimNetwork',
      'WarmTestnet',
      'PeerWire',
      'MemoryStorage'
    ])
      expect(root).not.toContain(name);
    expect(root.length).toBeLessThanOrEqual(60);
  });

  it('publishes no @internal declarations', async () => {
    const { stdout } = await run('grep', ['-rl', '@internal', join(pkg, 'dist')]).catch(
      (err: { code?: number; stdout?: string }) =>
        err.code === 1 ? { stdout: '' } : Promise.reject(err as Error)
    );
    expect(stdout).toBe('');
  });

  it.each([
    ['nodenext', 'nodenext'],
    ['node16', 'node16'],
    ['esnext', 'bundler']
  ])(
    'type-checks a consumer with module %s, moduleResolution %s',
    async (module, moduleResolution) => {
      const consumer = join(dir, `consumer-${moduleResolution}`);
      await fsp.mkdir(consumer, { recursive: true });
      await fsp.writeFile(join(consumer, 'package.json'), JSON.stringify({ type: 'module' }));
      await fsp.writeFile(
        join(consumer, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module,
            moduleResolution,
            target: 'ES2022',
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: ['node'],
            typeRoots: [join(ROOT, 'node_modules', '@types')]
          },
          files: ['index.ts']
        })
      );
      await fsp.writeFile(
        join(consumer, 'index.ts'),
        `import { DHT, Swarm, parseMagnet, TrackerlessError, type Address, type SwarmOptions } from 'trackerless';
       import { Client, type ClientOptions, type ClientTorrent } from 'trackerless';
       import { BitTorrentEngine, MemoryStorage, type PieceExchangeEngine } from 'trackerless/engine';
       import { PeerWire, pipePair, type WireStream } from 'trackerless/wire';
       import { Crawler, type CrawlerOptions } from 'trackerless/crawler';
       import { SimNetwork, SimTestnet } from 'trackerless/testing';
       const a: Address = { host: '127.0.0.1', port: 6881 };
       const o: SwarmOptions = { magnet: parseMagnet('magnet:?xt=urn:btih:' + 'ab'.repeat(20)), noDht: true };
       export function parts(engine: BitTorrentEngine): unknown[] {
         // @ts-expect-error the engine's collaborators are not part of its type
         void engine.downloader;
         const e: PieceExchangeEngine = engine;
         const s: WireStream = pipePair()[0];
         const c: CrawlerOptions['query'] | undefined = undefined;
         return [a, o, e, s, c, DHT, Swarm, TrackerlessError, MemoryStorage, PeerWire, Crawler, SimNetwork, SimTestnet];
       }
       export async function download(options: ClientOptions): Promise<string[]> {
         const client = await Client.create(options);
         const t: ClientTorrent = await client.add('magnet:?xt=urn:btih:' + 'ab'.repeat(20), { outDir: 'out' });
         await t.done({ signal: AbortSignal.timeout(1000) });
         client.setLimits({ downloadLimit: 1 << 20 });
         await client.destroy();
         return t.files.map((f) => f.path + ' ' + f.progress);
       }`
      );
      // A full type-check of the package's declarations and @types/node: slow when the CPU is shared.
      const result = await run(process.execPath, [TSC, '-p', consumer], { timeout: 280_000 }).then(
        () => '',
        (err: { stdout?: string }) => err.stdout ?? String(err)
      );
      expect(result).toBe('');
    },
    300_000
  );
});
