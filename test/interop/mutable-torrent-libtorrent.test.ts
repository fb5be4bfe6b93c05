/**
 * BEP 46 with libtorrent 2.0 (python3-libtorrent) on 127.0.0.1. The DHT is three libtorrent
 * nodes (test/interop/lt_node.py); every node of ours is read-only (BEP 43), so the mutable
 * items and the announces live on libtorrent's nodes alone.
 *
 *   (a) we seed version 1 of a folder and publish it under an ed25519 key; libtorrent reads
 *       the item (dht_get_mutable_item), finds `{ ih: <infohash> }` and downloads that torrent
 *       from us; we publish version 2 and libtorrent reads seq 2 and the new infohash.
 *   (b) libtorrent seeds version 1; our follower, given only the `xs=urn:btpk:` link, resolves
 *       the key through libtorrent's nodes and downloads from libtorrent; version 2 is
 *       published and seeded by another libtorrent session; the follower switches to it.
 *
 * libtorrent's python bindings can only put a string as a mutable value (their put_string
 * sets `e = data`), not the `{ ih }` dict BEP 46 needs, so the publisher is always ours.
 * A missing python3-libtorrent is a failure, not a skip: CI installs it (.ci/run).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DHT,
  MutableSwarm,
  createTorrent,
  generateKeyPair,
  publishMutableTorrent,
  seed,
  toHex,
  toMagnet,
  toMutableMagnet,
  toTorrentFile,
  type MutableTorrentVersion,
  type TorrentInfo
} from '../../lib/index.js';
import { decodeItemValue } from '../../lib/item/item.js';
import { LtNode, libtorrentProblem } from '../support/lt-node.js';
import { LtSwarm } from '../support/lt-swarm.js';
import { sameTree, writeTree } from '../support/file-tree.js';
import { waitFor } from '../support/wait.js';

const HOST = '127.0.0.1';
const KiB = 1024;

let dir: string;
const lts: LtNode[] = [];
const ltSwarms: LtSwarm[] = [];
const dhts: DHT[] = [];
let bootstrap: string[] = [];

beforeAll(async () => {
  const problem = libtorrentProblem();
  if (problem) {
    throw new Error(
      `python3-libtorrent is required for the interop tests: ${problem}. Install it: apt-get install -y python3-libtorrent (.ci/run does).`
    );
  }
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-bep46-lt-'));
  // The first libtorrent node bootstraps from a dead loopback port, the later ones from it.
  // libtorrent keeps bootstrap nodes out of its routing table, but the first node learns the
  // others from their queries: its own lookups (the reads below) reach all three. Our nodes
  // are read-only, so no one learns of them. Wait, bounded, for that routing table.
  for (let i = 0; i < 3; i++)
    lts.push(await LtNode.start(i === 0 ? [{ host: HOST, port: 9 }] : [{ host: HOST, port: lts[0]!.port }]));
  let seen = 0;
  await waitFor(
    'the first libtorrent node to know the other two',
    async () => (seen = await lts[0]!.dhtNodes()) >= 2,
    {
      timeoutMs: 40_000,
      intervalMs: 250,
      detail: () => `${seen} nodes`
    }
  );
  bootstrap = lts.map((l) => `${HOST}:${l.port}`);
}, 60_000);

afterAll(async () => {
  await Promise.all(ltSwarms.map((l) => l.close()));
  await Promise.all(dhts.map((d) => d.destroy()));
  await Promise.all(lts.map((l) => l.close()));
  await fsp.rm(dir, { recursive: true, force: true });
}, 30_000);

/** Options of our swarms: read-only DHT nodes bootstrapped from libtorrent's, loopback only. */
function ours() {
  return {
    bootstrap,
    dhtOptions: { host: HOST, port: 0, readOnly: true, queryTimeoutMs: 1000 },
    listen: { host: HOST, port: 0 },
    discovery: { requeryMs: 1000, requeryMaxMs: 2000, idlePollMs: 500 },
    engineOptions: { tickMs: 250 }
  } as const;
}

async function publisherDht(): Promise<DHT> {
  const dht = await DHT.create({ host: HOST, port: 0, bootstrap, readOnly: true, queryTimeoutMs: 1000 });
  dhts.push(dht);
  return dht;
}

/** The infohash in a BEP 46 value as libtorrent returned it (bencoded, hex). */
function ihOf(vHex: string | null): string {
  if (vHex === null) throw new Error('libtorrent found no value');
  const v = decodeItemValue(Buffer.from(vHex, 'hex'));
  const ih = typeof v === 'object' && !(v instanceof Uint8Array) && !Array.isArray(v) ? v.ih : undefined;
  if (!(ih instanceof Uint8Array)) throw new Error(`not a BEP 46 value: ${vHex}`);
  return toHex(ih);
}

/** A folder's torrent as a .torrent file for libtorrent. */
async function torrentFileOf(path: string, name: string): Promise<{ info: TorrentInfo; file: string }> {
  const info = await createTorrent(path, { pieceLength: 64 * KiB });
  const file = join(dir, `${name}.torrent`);
  await fsp.writeFile(file, toTorrentFile(info));
  return { info, file };
}

async function ltSeed(torrentFile: string, savePath: string): Promise<LtSwarm> {
  const lt = await LtSwarm.start({ mode: 'seed', torrentFile, savePath, bootstrap });
  ltSwarms.push(lt);
  await lt.next((e) => e.event === 'status' && e.state === 'seeding', 20_000, 'libtorrent to seed');
  return lt;
}

describe('BEP 46 mutable torrents with libtorrent 2.0 on loopback', () => {
  it('(a) we publish and seed; libtorrent reads the item and downloads the torrent it names', async () => {
    const keyPair = generateKeyPair();
    const salt = new TextEncoder().encode('a');
    const src = join(dir, 'a-src');
    await writeTree(src, { 'site/index.html': 30 * KiB, 'site/data.bin': 200 * KiB });
    const v1 = await seed(join(src, 'site'), { ...ours(), create: { pieceLength: 64 * KiB } });
    try {
      const put1 = await publishMutableTorrent(v1.swarm.dht!, { keyPair, salt, infoHash: v1.info.infoHash });
      expect(put1.seq).toBe(1);
      expect(put1.storedOn).toBe(3); // libtorrent's three nodes, the only ones that store

      const item1 = await lts[0]!.getMutable(keyPair.publicKey, salt);
      expect(item1.seq).toBe(1);
      const ih1 = ihOf(item1.v);
      expect(ih1).toBe(toHex(v1.info.infoHash));

      const out = join(dir, 'a-lt');
      const lt = await LtSwarm.start({
        mode: 'download',
        magnet: toMagnet({ infoHash: ih1 }),
        savePath: out,
        bootstrap
      });
      ltSwarms.push(lt);
      await lt.next((e) => e.event === 'finished', 60_000, 'libtorrent to download version 1');
      await sameTree(src, out, ['site/index.html', 'site/data.bin']);

      // Version 2 under the same key: libtorrent sees the new seq and infohash.
      const dht = await publisherDht();
      const info2 = await createTorrent(join(src, 'site/index.html'), { pieceLength: 16 * KiB });
      const put2 = await publishMutableTorrent(dht, { keyPair, salt, infoHash: info2.infoHash });
      expect(put2.seq).toBe(2);
      const item2 = await lts[0]!.getMutable(keyPair.publicKey, salt);
      expect(item2.seq).toBe(2);
      expect(ihOf(item2.v)).toBe(toHex(info2.infoHash));
    } finally {
      await v1.swarm.destroy();
    }
  }, 120_000);

  it('(b) libtorrent stores the item and seeds; our follower downloads v1, then switches to v2', async () => {
    const keyPair = generateKeyPair();
    const salt = new TextEncoder().encode('b');
    const dht = await publisherDht();
    const src1 = join(dir, 'b-v1');
    const src2 = join(dir, 'b-v2');
    await writeTree(src1, { 'feed/page.html': 20 * KiB, 'feed/big.bin': 300 * KiB });
    await writeTree(src2, { 'feed/page.html': 21 * KiB, 'feed/big.bin': 300 * KiB, 'feed/new.txt': 3 * KiB });
    // big.bin is the same in both versions: the follower only verifies it in place for v2.
    await fsp.copyFile(join(src1, 'feed/big.bin'), join(src2, 'feed/big.bin'));

    const t1 = await torrentFileOf(join(src1, 'feed'), 'b-v1');
    await ltSeed(t1.file, src1);
    expect((await publishMutableTorrent(dht, { keyPair, salt, infoHash: t1.info.infoHash })).seq).toBe(1);

    const out = join(dir, 'b-out');
    const versions: MutableTorrentVersion[] = [];
    const follower = await MutableSwarm.create({
      ...ours(),
      magnet: toMutableMagnet({ publicKey: keyPair.publicKey, salt }),
      outDir: out,
      seed: true,
      followIntervalMs: 500
    });
    follower.on('version', (v) => versions.push(v));
    try {
      const first = await follower.done();
      expect(toHex(first.infoHash)).toBe(toHex(t1.info.infoHash));
      await sameTree(src1, out, ['feed/page.html', 'feed/big.bin']);

      const t2 = await torrentFileOf(join(src2, 'feed'), 'b-v2');
      await ltSeed(t2.file, src2);
      expect((await publishMutableTorrent(dht, { keyPair, salt, infoHash: t2.info.infoHash })).seq).toBe(2);
      const second = await waitFor(
        'the follower to complete version 2',
        async () => {
          const v = await follower.done();
          return v.seq === 2 ? v : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 }
      );
      expect(toHex(second.infoHash)).toBe(toHex(t2.info.infoHash));
      await sameTree(src2, out, ['feed/page.html', 'feed/big.bin', 'feed/new.txt']);
      expect(versions.map((v) => v.seq)).toEqual([1, 2]);
    } finally {
      await follower.stop();
    }
  }, 150_000);
});
