/**
 * A Client with the `ipv6` option on ::1: a second DHT node speaks BEP 32 beside the IPv4 one
 * (which has nobody to talk to here), every torrent shares both and one TCP listener, and a
 * torrent is found and downloaded through the IPv6 DHT alone.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../../lib/client/client.js';
import { seed } from '../../lib/swarm/seed.js';
import { sameTree, writeTree } from '../support/file-tree.js';
import { loopbackSwarmOptions, startLoopbackDht, type LoopbackDht } from '../support/loopback-swarm.js';

const KiB = 1024;
let dir: string;
let network: LoopbackDht;

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-client6-'));
  network = await startLoopbackDht('::1');
});

afterAll(async () => {
  await network.destroy();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('Client over IPv6 (::1)', () => {
  it('finds and downloads a torrent through its IPv6 DHT node, sharing it between torrents', async () => {
    const src = join(dir, 'src');
    await writeTree(src, { 'six.bin': 900 * KiB + 6 });
    const seeded = await seed(join(src, 'six.bin'), {
      ...loopbackSwarmOptions('::1', network.bootstrap),
      create: { pieceLength: 64 * KiB }
    });
    await new Promise<void>((resolve) => seeded.swarm.once('announced', () => resolve()));
    const client = await Client.create({
      bootstrap: [],
      dhtOptions: { host: '127.0.0.1', port: 0 },
      ipv6: { dhtOptions: { host: '::1', port: 0, queryTimeoutMs: 500 }, bootstrap: network.bootstrap },
      listen: { host: '::1', port: 0 },
      discovery: { requeryMs: 1000, requeryMaxMs: 2000, idlePollMs: 500 }
    });
    try {
      expect(client.dht6?.address().host).toBe('::1');
      const out = join(dir, 'out');
      const t = await client.add(seeded.magnet, { outDir: out });
      const other = await client.add('ab'.repeat(20), { outDir: out, paused: true });
      await t.done();
      await sameTree(src, out, ['six.bin']);
      expect(t.swarm?.dht).toBe(client.dht);
      expect(t.swarm?.dht6).toBe(client.dht6);
      await other.resume();
      expect(other.swarm?.dht6).toBe(client.dht6);
    } finally {
      await client.destroy();
      await seeded.swarm.destroy();
    }
  }, 60_000);
});
