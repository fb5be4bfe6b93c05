/**
 * UtMetadataResolver on 127.0.0.1: a seeder (our swarm) announces a small multi-file torrent
 * on a loopback DHT; the resolver finds it with get_peers and fetches the info dictionary over
 * ut_metadata; a crawler with --resolve semantics writes name/size/files to SQLite. Also: an
 * unknown infohash resolves to null within the caller's deadline, and nothing is announced.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DHT } from '../../lib/dht/dht.js';
import { seed } from '../../lib/swarm/seed.js';
import type { Swarm } from '../../lib/swarm/swarm.js';
import { UtMetadataResolver } from '../../lib/crawler/ut-metadata-resolver.js';
import { createDhtCrawler } from '../../lib/crawler/dht-crawler.js';
import { MemoryCrawlerStore } from '../../lib/crawler/store/memory-store.js';
import { toHex } from '../../lib/util/bytes.js';
import { waitFor } from '../support/wait.js';

let dir: string;
const nodes: DHT[] = [];
let swarm: Swarm;
let infoHash: Uint8Array;

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-resolve-'));
  const a = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [], queryTimeoutMs: 500 });
  nodes.push(
    a,
    await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [a.address()], queryTimeoutMs: 500 })
  );
  await fsp.mkdir(join(dir, 'album'));
  await fsp.writeFile(join(dir, 'album', 'one.bin'), randomBytes(40_000));
  await fsp.writeFile(join(dir, 'album', 'two.bin'), randomBytes(3_000));
  const seeded = await seed(join(dir, 'album'), {
    bootstrap: nodes.map((d) => `127.0.0.1:${d.address().port}`),
    dhtOptions: { host: '127.0.0.1', port: 0, queryTimeoutMs: 500 },
    listen: { host: '127.0.0.1', port: 0 }
  });
  swarm = seeded.swarm;
  infoHash = seeded.info.infoHash;
  // The seeder's announce has to land before anyone can find it.
  await waitFor(
    'the seeder to be announced',
    async () => (await nodes[1]!.getPeers(infoHash)).peers.length > 0,
    { timeoutMs: 15_000, intervalMs: 200 }
  );
}, 30_000);

afterAll(async () => {
  await swarm?.destroy();
  await Promise.all(nodes.map((d) => d.destroy()));
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('UtMetadataResolver', () => {
  it('finds the peer on the DHT and fetches name, size and files', async () => {
    const dht = await DHT.create({
      host: '127.0.0.1',
      port: 0,
      bootstrap: [nodes[0]!.address()],
      queryTimeoutMs: 500
    });
    try {
      const announced: string[] = [];
      for (const n of nodes) n.on('announce', (_p, ih) => announced.push(toHex(ih)));
      const meta = await new UtMetadataResolver({ dht }).resolve(infoHash, AbortSignal.timeout(15_000));
      expect(meta).toEqual({
        name: 'album',
        size: 43_000,
        files: expect.arrayContaining([
          { path: 'album/one.bin', size: 40_000 },
          { path: 'album/two.bin', size: 3_000 }
        ])
      });
      expect(announced).toEqual([]); // the resolver never announces itself
      const none = await new UtMetadataResolver({ dht }).resolve(randomBytes(20), AbortSignal.timeout(3_000));
      expect(none).toBeNull();
    } finally {
      await dht.destroy();
    }
  }, 30_000);

  it('a crawler with the resolver stores the metadata of what it finds', async () => {
    const dht = await DHT.create({
      host: '127.0.0.1',
      port: 0,
      bootstrap: [nodes[0]!.address()],
      queryTimeoutMs: 500
    });
    const store = new MemoryCrawlerStore();
    const crawler = createDhtCrawler(dht, {
      store,
      resolver: new UtMetadataResolver({ dht }),
      resolveTimeoutMs: 10_000,
      bootstrap: [nodes[0]!.address()]
    });
    await crawler.start();
    try {
      await waitFor('metadata in the store', () => store.records.get(toHex(infoHash))?.meta, {
        timeoutMs: 20_000,
        intervalMs: 100
      });
    } finally {
      await crawler.stop();
      await dht.destroy();
    }
    expect(store.records.get(toHex(infoHash))!.meta).toMatchObject({ name: 'album', size: 43_000 });
    expect(crawler.stats().resolve).toMatchObject({ resolved: 1 });
  }, 30_000);
});
