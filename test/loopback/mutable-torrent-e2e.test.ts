/**
 * BEP 46 end to end on 127.0.0.1: a publisher seeds version 1 of a folder and publishes its
 * infohash under an ed25519 key; a downloader given only the `xs=urn:btpk:` magnet link
 * downloads it and keeps following; the publisher seeds version 2 (one file changed, one
 * added) under the same key; the downloader picks it up and ends with version 2 on disk.
 * Real TCP and UDP sockets on port 0; every swarm and node is closed at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seed } from '../../lib/swarm/seed.js';
import { generateKeyPair } from '../../lib/item/ed25519.js';
import { toMutableMagnet } from '../../lib/magnet/magnet.js';
import {
  publishMutableTorrent,
  type MutableTorrentVersion
} from '../../lib/mutable-torrent/mutable-torrent.js';
import { MutableSwarm } from '../../lib/mutable-torrent/mutable-swarm.js';
import { toHex } from '../../lib/util/bytes.js';
import { AbortError } from '../../lib/errors.js';
import { sameTree, writeTree } from '../support/file-tree.js';
import { loopbackSwarmOptions, startLoopbackDht, type LoopbackDht } from '../support/loopback-swarm.js';
import { waitFor } from '../support/wait.js';

const KiB = 1024;
let dir: string;
let network: LoopbackDht;

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-bep46-'));
  network = await startLoopbackDht('127.0.0.1');
});

afterAll(async () => {
  await network.destroy();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('BEP 46 mutable torrent over loopback', () => {
  it('publish v1, a downloader follows the key, publish v2, it picks it up', async () => {
    const common = loopbackSwarmOptions('127.0.0.1', network.bootstrap);
    const keyPair = generateKeyPair();
    const salt = new TextEncoder().encode('release');
    const src = join(dir, 'pub');
    await writeTree(src, { 'site/index.html': 40 * KiB, 'site/logo.png': 300 * KiB });
    const v1 = await seed(join(src, 'site'), { ...common, create: { pieceLength: 64 * KiB } });
    const put1 = await publishMutableTorrent(v1.swarm.dht!, { keyPair, salt, infoHash: v1.info.infoHash });
    expect(put1.seq).toBe(1);
    expect(put1.storedOn).toBeGreaterThan(0);

    const out = join(dir, 'follower');
    const versions: MutableTorrentVersion[] = [];
    const follower = await MutableSwarm.create({
      ...common,
      magnet: toMutableMagnet({ publicKey: keyPair.publicKey, salt }),
      outDir: out,
      seed: true,
      followIntervalMs: 500
    });
    follower.on('version', (v) => versions.push(v));
    let v2: Awaited<ReturnType<typeof seed>> | undefined;
    try {
      const first = await follower.done();
      expect(toHex(first.infoHash)).toBe(toHex(v1.info.infoHash));
      await sameTree(src, out, ['site/index.html', 'site/logo.png']);

      // Version 2: index.html rewritten, a new file; logo.png unchanged.
      await v1.swarm.stop();
      await fsp.rm(join(src, 'site/index.html'));
      await writeTree(src, { 'site/index.html': 41 * KiB, 'site/news.txt': 5 * KiB });
      v2 = await seed(join(src, 'site'), { ...common, create: { pieceLength: 64 * KiB } });
      expect(toHex(v2.info.infoHash)).not.toBe(toHex(v1.info.infoHash));
      const put2 = await publishMutableTorrent(v2.swarm.dht!, { keyPair, salt, infoHash: v2.info.infoHash });
      expect(put2.seq).toBe(2);

      const second = await waitFor(
        'the follower to complete version 2',
        async () => {
          const v = await follower.done();
          return v.seq === 2 ? v : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100 }
      );
      expect(toHex(second.infoHash)).toBe(toHex(v2.info.infoHash));
      await sameTree(src, out, ['site/index.html', 'site/logo.png', 'site/news.txt']);
      expect(versions.map((v) => v.seq)).toEqual([1, 2]);
      expect(follower.current?.infoHash && toHex(follower.current.infoHash)).toBe(toHex(v2.info.infoHash));
    } finally {
      await follower.stop();
      await v2?.swarm.destroy();
      await v1.swarm.destroy();
    }
  }, 90_000);

  it('done() rejects with AbortError when the follower stops before any version is found', async () => {
    const follower = await MutableSwarm.create({
      ...loopbackSwarmOptions('127.0.0.1', network.bootstrap),
      magnet: toMutableMagnet({ publicKey: generateKeyPair().publicKey, salt: new Uint8Array(0) }),
      outDir: join(dir, 'never'),
      seed: true,
      followIntervalMs: 500
    });
    const pending = expect(follower.done()).rejects.toBeInstanceOf(AbortError);
    await follower.stop();
    await pending;
    await expect(follower.done()).rejects.toBeInstanceOf(AbortError);
    expect(follower.version).toBeUndefined();
  }, 30_000);
});
