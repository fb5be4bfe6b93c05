/**
 * A Client re-created on a saved session lists every torrent at once and starts them in the
 * background, a few at a time: `create` does not wait for the data checks. No peers (no
 * bootstrap node, no DHT state): the torrents are seeds of data on disk. Loopback sockets on
 * port 0, closed at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../../lib/client/client.js';
import type { ClientOptions } from '../../lib/client/client-options.js';
import { createTorrent } from '../../lib/torrent/create.js';
import type { TorrentInfo } from '../../lib/torrent/metainfo.js';
import { writeTree } from '../support/file-tree.js';

const COUNT = 6;
let dir: string;
const infos: TorrentInfo[] = [];

function options(extra: Partial<ClientOptions> = {}): ClientOptions {
  return {
    bootstrap: [],
    dhtState: false,
    dhtOptions: { host: '127.0.0.1', port: 0 },
    listen: { host: '127.0.0.1', port: 0 },
    engineOptions: { tickMs: 250 },
    ...extra
  };
}

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-client-restore-'));
  const files = Object.fromEntries(Array.from({ length: COUNT }, (_, i) => [`f${i}.bin`, 256 * 1024 + i]));
  await writeTree(join(dir, 'data'), files);
  for (let i = 0; i < COUNT; i++)
    infos.push(await createTorrent(join(dir, 'data', `f${i}.bin`), { pieceLength: 16 * 1024 }));
});

afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('restoring a session', () => {
  it('create() returns with every torrent listed, before they start; all start in the background', async () => {
    const stateDir = join(dir, 'session');
    const first = await Client.create(options({ stateDir }));
    try {
      for (const info of infos) await first.add(info, { outDir: join(dir, 'data'), existing: 'complete' });
      expect(first.list().every((t) => t.state === 'seeding')).toBe(true);
    } finally {
      await first.destroy();
    }

    const second = await Client.create(options({ stateDir }));
    try {
      // Listed in the saved order, none running yet: create() did not wait for a start.
      expect(second.list().map((t) => t.id)).toEqual(first.list().map((t) => t.id));
      expect(second.list().filter((t) => t.swarm !== undefined)).toEqual([]);
      const errors: Error[] = [];
      second.on('error', (_t, err) => errors.push(err));
      await second.restored;
      expect(errors).toEqual([]);
      expect(second.list().map((t) => t.state)).toEqual(Array(COUNT).fill('seeding'));
      expect(second.list().every((t) => t.swarm !== undefined && t.complete)).toBe(true);
    } finally {
      await second.destroy();
    }
  }, 60_000);

  it('a client destroyed while restoring reports no error, and `restored` settles', async () => {
    const stateDir = join(dir, 'session');
    const client = await Client.create(options({ stateDir }));
    const errors: Error[] = [];
    client.on('error', (_t, err) => errors.push(err));
    await client.destroy();
    await client.restored;
    expect(errors).toEqual([]);
  }, 30_000);
});
