/**
 * A Client keeps its DHT routing table by default in the user's state directory (here a
 * temporary XDG_STATE_HOME, as for every test): a second Client with no bootstrap list joins
 * from the first one's saved table and finds a seeder through the DHT; `dhtState: false`
 * writes nothing. Loopback sockets on port 0, all closed at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../../lib/client/client.js';
import type { ClientOptions } from '../../lib/client/client-options.js';
import { toMagnet } from '../../lib/magnet/magnet.js';
import { createTorrent } from '../../lib/torrent/create.js';
import type { TorrentInfo } from '../../lib/torrent/metainfo.js';
import { defaultStateDir } from '../../lib/util/state-dir.js';
import { sameTree, writeTree } from '../support/file-tree.js';
import { loopbackSwarmOptions, startLoopbackDht, type LoopbackDht } from '../support/loopback-swarm.js';

/** The state home jest gave this file (test/support/state-home/), before a test changes it. */
const givenHome = process.env['XDG_STATE_HOME'] ?? '';

let dir: string;
let network: LoopbackDht;
let seeder: Client;
let info: TorrentInfo;

function options(bootstrap: string[], extra: Partial<ClientOptions> = {}): ClientOptions {
  return { ...loopbackSwarmOptions('127.0.0.1', bootstrap), ...extra };
}

/** A fresh XDG_STATE_HOME for one test (the Client reads it at create time). */
async function freshStateHome(): Promise<string> {
  const home = await fsp.mkdtemp(join(dir, 'state-home-'));
  process.env['XDG_STATE_HOME'] = home;
  return home;
}

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-client-state-'));
  network = await startLoopbackDht('127.0.0.1');
  await writeTree(join(dir, 'src'), { 'f.bin': 300 * 1024 + 5 });
  info = await createTorrent(join(dir, 'src', 'f.bin'), { pieceLength: 32 * 1024 });
  seeder = await Client.create(options(network.bootstrap, { dhtState: false }));
  const t = await seeder.add(info, { outDir: join(dir, 'src'), existing: 'complete' });
  await new Promise<void>((resolve) => t.once('announced', () => resolve()));
}, 60_000);

afterAll(async () => {
  await seeder?.destroy();
  await network?.destroy();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('the Client keeps its DHT table by default', () => {
  it('under a temporary state home in tests, never the real one', () => {
    expect(givenHome.startsWith(join(tmpdir(), 'trackerless-test-state-'))).toBe(true);
    expect(process.env['TRACKERLESS_TEST_STATE_ROOT']).toBeDefined();
    expect(givenHome.startsWith(process.env['TRACKERLESS_TEST_STATE_ROOT']!)).toBe(true);
  });

  it("a second Client with no bootstrap list joins from the first one's saved table", async () => {
    const home = await freshStateHome();
    const stateFile = join(home, 'trackerless', 'dht.json');
    expect(join(defaultStateDir(), 'dht.json')).toBe(stateFile);
    // The first client knows the network from its bootstrap list and saves the table on exit.
    const first = await Client.create(options(network.bootstrap));
    try {
      await first.dht.ready;
    } finally {
      await first.destroy();
    }
    const saved = JSON.parse(await fsp.readFile(stateFile, 'utf8')) as { nodes: { port: number }[] };
    const networkPorts = network.nodes.map((n) => n.address().port);
    expect(saved.nodes.some((n) => networkPorts.includes(n.port))).toBe(true);

    // The second knows no node but the saved ones, and the magnet names no peer.
    const second = await Client.create(options([]));
    try {
      await second.dht.ready;
      expect(second.dht.nodes().some((n) => networkPorts.includes(n.port))).toBe(true);
      const t = await second.add(toMagnet({ infoHash: info.infoHash }), { outDir: join(dir, 'second') });
      await t.done();
      await sameTree(join(dir, 'src'), join(dir, 'second'), ['f.bin']);
    } finally {
      await second.destroy();
    }
  }, 60_000);

  it('dhtState: false keeps nothing', async () => {
    const home = await freshStateHome();
    const client = await Client.create(options(network.bootstrap, { dhtState: false }));
    try {
      await client.dht.ready;
      expect(client.dht.nodes().length).toBeGreaterThan(0);
    } finally {
      await client.destroy();
    }
    expect(existsSync(join(home, 'trackerless'))).toBe(false);
    expect(await fsp.readdir(home)).toEqual([]);
  }, 30_000);

  it('a stateDir holds the table instead, beside the session', async () => {
    const home = await freshStateHome();
    const stateDir = join(dir, 'session');
    const client = await Client.create(options(network.bootstrap, { stateDir }));
    try {
      await client.dht.ready;
    } finally {
      await client.destroy();
    }
    expect(existsSync(join(stateDir, 'dht.json'))).toBe(true);
    expect(await fsp.readdir(home)).toEqual([]);
  }, 30_000);
});
