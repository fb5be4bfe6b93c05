/**
 * A swarm over IPv6 only, on ::1: the DHT nodes speak BEP 32 (nodes6, 18-byte peer values),
 * the seeder listens on ::1, and the downloader finds it from the magnet link through the DHT
 * alone; and, without a DHT, dialling the bracketed IPv6 x.pe hint of a magnet link.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMagnet } from '../../lib/magnet/magnet.js';
import { seed } from '../../lib/swarm/seed.js';
import { Swarm, type SwarmListeners } from '../../lib/swarm/swarm.js';
import type { DHT } from '../../lib/dht/dht.js';
import {
  loopbackSwarmOptions,
  startLoopbackDht,
  waitForAnnounce,
  type LoopbackDht
} from '../support/loopback-swarm.js';

const KiB = 1024;
let dir: string;
let network: LoopbackDht;

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-v6-'));
  network = await startLoopbackDht('::1');
});

afterAll(async () => {
  await network.destroy();
  await fsp.rm(dir, { recursive: true, force: true });
});

function common(): ReturnType<typeof loopbackSwarmOptions> {
  return loopbackSwarmOptions('::1', network.bootstrap);
}

function brief(dht: DHT | undefined): object | undefined {
  if (!dht) return undefined;
  const s = dht.stats();
  return {
    nodes: s.nodes,
    good: s.goodNodes,
    peers: s.storedPeers,
    out: s.queriesOut,
    in: s.queriesIn,
    timeouts: s.timeouts
  };
}

/** What a downloader met from its creation on (its `listeners`), for a failure message. */
interface Watch {
  listeners: SwarmListeners;
  found: string[];
  warnings: string[];
}

function watch(): Watch {
  const found: string[] = [];
  const warnings: string[] = [];
  return {
    found,
    warnings,
    listeners: {
      peer: (p, source) => void (found.length < 20 && found.push(`${p.host}:${p.port} (${source})`)),
      warning: (e) => void (warnings.length < 20 && warnings.push(e.message))
    }
  };
}

/**
 * `swarm.done()` within `ms`, else a failure that says how far the download got and what the
 * DHT nodes hold (the test's timeout alone says nothing).
 */
async function doneWithin(swarm: Swarm, ms: number, seeder: Swarm, w: Watch): Promise<void> {
  try {
    await swarm.done({ signal: AbortSignal.timeout(ms) });
  } catch (err) {
    const state = {
      progress: swarm.progress(),
      found: w.found,
      warnings: w.warnings,
      dht: brief(swarm.dht),
      dht6: brief(swarm.dht6),
      seederDht: brief(seeder.dht),
      seederDht6: brief(seeder.dht6),
      seederPeers: seeder.progress().peers,
      network: network.nodes.map(brief)
    };
    throw new Error(`download not done after ${ms} ms: ${JSON.stringify(state)}`, { cause: err });
  }
}

describe('swarm over IPv6 (::1)', () => {
  it('our seeder -> our downloader, discovered through an IPv6 DHT', async () => {
    const src = join(dir, 'v6');
    await fsp.mkdir(src, { recursive: true });
    const data = randomBytes(900 * KiB + 3);
    await fsp.writeFile(join(src, 'v6.bin'), data);
    const { swarm: seeder, magnet } = await seed(join(src, 'v6.bin'), {
      ...common(),
      create: { pieceLength: 64 * KiB }
    });
    await waitForAnnounce(seeder);
    expect(parseMagnet(magnet).peers).toEqual([]);
    const out = join(dir, 'v6-out');
    const w = watch();
    const down = await Swarm.create({ ...common(), magnet, outDir: out, listeners: w.listeners });
    try {
      await doneWithin(down, 50_000, seeder, w);
      expect((await fsp.readFile(join(out, 'v6.bin'))).equals(data)).toBe(true);
    } finally {
      await down.destroy();
      await seeder.destroy();
    }
  }, 60_000);

  it('dual stack: a swarm with IPv4 and IPv6 DHT nodes finds a peer known only to the IPv6 DHT', async () => {
    const src = join(dir, 'dual');
    await fsp.mkdir(src, { recursive: true });
    const data = randomBytes(500 * KiB);
    await fsp.writeFile(join(src, 'd.bin'), data);
    // Two separate IPv4 networks: the seeder's and the downloader's never meet over IPv4.
    const v4a = await startLoopbackDht('127.0.0.1', 2);
    const v4b = await startLoopbackDht('127.0.0.1', 2);
    const { discovery, engineOptions } = common();
    const v4 = (net: LoopbackDht) => loopbackSwarmOptions('127.0.0.1', net.bootstrap);
    const w = watch();
    const ipv6 = { dhtOptions: { host: '::1', port: 0, queryTimeoutMs: 500 }, bootstrap: network.bootstrap };
    const seeded = await seed(join(src, 'd.bin'), {
      ...v4(v4a),
      listen: { host: '::', port: 0 },
      discovery,
      engineOptions,
      ipv6
    });
    const down = await Swarm.create({
      ...v4(v4b),
      listen: { host: '::', port: 0 },
      discovery,
      engineOptions,
      ipv6,
      magnet: seeded.magnet,
      outDir: join(dir, 'dual-out'),
      listeners: w.listeners
    });
    const found: string[] = [];
    down.on('peer', (p) => found.push(p.host));
    try {
      expect(seeded.swarm.dht6!.address().host).toBe('::1');
      await doneWithin(down, 50_000, seeded.swarm, w);
      expect((await fsp.readFile(join(dir, 'dual-out', 'd.bin'))).equals(data)).toBe(true);
      expect(found).toContain('::1'); // the seeder, announced on the IPv6 DHT only reachable one
      expect(found).not.toContain('127.0.0.1');
    } finally {
      await down.destroy();
      await seeded.swarm.destroy();
      await Promise.all([v4a.destroy(), v4b.destroy()]);
    }
  }, 60_000);

  it('dials a bracketed IPv6 x.pe hint without a DHT', async () => {
    const src = join(dir, 'hint6');
    await fsp.mkdir(src, { recursive: true });
    const data = randomBytes(300 * KiB);
    await fsp.writeFile(join(src, 'h.bin'), data);
    const { listen, engineOptions } = common();
    const seeded = await seed(join(src, 'h.bin'), { listen, engineOptions, noDht: true });
    const magnet = seeded.swarm.magnetLink([{ host: '::1', port: seeded.swarm.port! }]);
    const down = await Swarm.create({
      listen,
      engineOptions,
      magnet,
      outDir: join(dir, 'hint6-out'),
      noDht: true
    });
    try {
      expect(parseMagnet(magnet).peers).toEqual([{ host: '::1', port: seeded.swarm.port }]);
      await down.done();
      expect((await fsp.readFile(join(dir, 'hint6-out', 'h.bin'))).equals(data)).toBe(true);
    } finally {
      await down.destroy();
      await seeded.swarm.destroy();
    }
  }, 30_000);
});
