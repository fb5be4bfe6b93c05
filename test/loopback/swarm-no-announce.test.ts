/**
 * `discovery: { announce: false }` (what the CLI's `info` uses): a swarm that only looks finds
 * the seeder and fetches the metadata, but leaves no address in the DHT's peer stores; a swarm
 * with the default announces and its port is found by a later get_peers (the control: the
 * check can fail).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import { seed } from '../../lib/swarm/seed.js';
import { Swarm } from '../../lib/swarm/swarm.js';
import { seededRandom } from '../../lib/util/random.js';
import { loopbackSwarmOptions, startLoopbackDht, type LoopbackDht } from '../support/loopback-swarm.js';

let dir: string;
let network: LoopbackDht;

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-no-announce-'));
  network = await startLoopbackDht('127.0.0.1');
});

afterAll(async () => {
  await network.destroy();
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Ports of the peers the DHT stores for `infoHash`, asked from one of the network's nodes. */
async function storedPorts(infoHash: Uint8Array): Promise<number[]> {
  const { peers } = await network.nodes[0]!.getPeers(infoHash);
  return peers.map((p) => p.port);
}

describe('a swarm that does not announce', () => {
  it('fetches the metadata and leaves no address in the DHT; the default swarm does', async () => {
    const file = join(dir, 'a.bin');
    await fsp.writeFile(file, Buffer.from(seededRandom(5).bytes(300_000)));
    const common = loopbackSwarmOptions('127.0.0.1', network.bootstrap);
    const seeded = await seed(file, common);
    const looker = await Swarm.create({
      ...common,
      magnet: seeded.magnet,
      storage: (info) => new MemoryStorage(info),
      discovery: { ...common.discovery, announce: false }
    });
    const announcer = await Swarm.create({
      ...common,
      magnet: seeded.magnet,
      storage: (info) => new MemoryStorage(info),
      seed: false
    });
    try {
      const announced = new Promise((resolve) => announcer.once('announced', resolve));
      await looker.metadata({ signal: AbortSignal.timeout(30_000) });
      await announced;
      const ports = await storedPorts(seeded.swarm.infoHash);
      expect(ports).toContain(seeded.swarm.port);
      expect(ports).toContain(announcer.port);
      expect(ports).not.toContain(looker.port);
    } finally {
      await looker.destroy();
      await announcer.destroy();
      await seeded.swarm.destroy();
    }
  });
});
