/**
 * aria2c (Debian's aria2 1.36) downloads from our seeder on 127.0.0.1, from the magnet link
 * alone, finding the seeder through the DHT only: aria2's only DHT entry point is our node A
 * (its saved routing table is an empty temp file), LPD off, no trackers, no x.pe hints.
 * Metadata from us (ut_metadata), then the pieces; `--seed-time=0` makes aria2c exit 0 once
 * the download is complete and checked.
 *
 * aria2 is slow to start here (~15-25 s: it searches before its entry point answers), so the
 * deadline is 90 s. We seed v1 torrents (aria2 cannot finish v1+v2 hybrids). A missing aria2c
 * is a failure, not a skip.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMagnet, seed, type Swarm } from '../../lib/index.js';
import { freeUdpPort } from '../support/cli-process.js';
import { startLoopbackDht, waitForAnnounce, type LoopbackDht } from '../support/loopback-swarm.js';

const HOST = '127.0.0.1';
const KiB = 1024;
const MiB = 1024 * KiB;
const ARIA2_DEADLINE_MS = 90_000;

let dir: string;
let network: LoopbackDht | undefined;
const swarms: Swarm[] = [];
const children = new Set<ChildProcess>();

function aria2Problem(): string | null {
  const r = spawnSync('aria2c', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return `cannot run aria2c: ${r.error.message}`;
  return r.status === 0 ? null : `aria2c --version exited with ${r.status}: ${r.stderr}`;
}

function freeTcpPort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve) =>
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    })
  );
}

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-aria2-'));
  network = await startLoopbackDht(HOST, 3, { queryTimeoutMs: 1000 });
}, 30_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(swarms.map((s) => s.destroy()));
  await network?.destroy();
  await fsp.rm(dir, { recursive: true, force: true });
}, 30_000);

describe('aria2c downloads from our seeder on loopback, through the DHT only', () => {
  it(
    'from the magnet link alone: metadata and pieces from us, identical bytes',
    async () => {
      const problem = aria2Problem();
      if (problem) throw new Error(`aria2c is required for this test (apt-get install aria2): ${problem}`);
      const src = join(dir, 'src');
      await fsp.mkdir(src);
      const data = randomBytes(2 * MiB + 999);
      await fsp.writeFile(join(src, 'aria.bin'), data);

      const seeded = await seed(join(src, 'aria.bin'), {
        bootstrap: [network!.bootstrap[1]!],
        dhtOptions: { host: HOST, port: 0, queryTimeoutMs: 1000 },
        listen: { host: HOST, port: 0 },
        create: { pieceLength: 64 * KiB }
      });
      swarms.push(seeded.swarm);
      expect(parseMagnet(seeded.magnet).peers).toEqual([]);
      await waitForAnnounce(seeded.swarm);

      const out = join(dir, 'out');
      await fsp.mkdir(out);
      const dhtFile = join(dir, 'dht.dat');
      await fsp.writeFile(dhtFile, '');
      const args = [
        '--enable-dht=true',
        `--dht-entry-point=${network!.bootstrap[0]!}`,
        `--dht-listen-port=${await freeUdpPort()}`,
        `--listen-port=${await freeTcpPort()}`,
        '--enable-dht6=false',
        '--disable-ipv6=true',
        '--bt-enable-lpd=false',
        `--dht-file-path=${dhtFile}`,
        '--seed-time=0',
        '--bt-save-metadata=false',
        '--file-allocation=none',
        '--summary-interval=0',
        '--console-log-level=notice',
        '--no-conf=true',
        `--dir=${out}`,
        seeded.magnet
      ];
      const started = Date.now();
      const child = spawn('aria2c', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      let output = '';
      child.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
      child.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
      const timer = setTimeout(() => child.kill('SIGKILL'), ARIA2_DEADLINE_MS);
      const code = await new Promise<number | null>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (c) => resolve(c));
      });
      clearTimeout(timer);
      children.delete(child);
      const elapsed = Date.now() - started;
      if (code !== 0) {
        throw new Error(
          `aria2c exited with ${code} after ${elapsed} ms (deadline ${ARIA2_DEADLINE_MS} ms); ` +
            `our seeder: ${JSON.stringify(seeded.swarm.progress())}; aria2 output:\n${output.slice(-3000)}`
        );
      }
      const got = await fsp.readFile(join(out, 'aria.bin'));
      expect(got.length).toBe(data.length);
      expect(got.equals(data)).toBe(true);
      expect(seeded.swarm.progress().uploaded).toBeGreaterThanOrEqual(data.length);
      console.log(
        `(c) ours -> aria2c: ${(data.length / MiB).toFixed(1)} MiB, aria2c exited 0 after ${elapsed} ms`
      );
    },
    ARIA2_DEADLINE_MS + 30_000
  );
});
