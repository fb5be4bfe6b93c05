/**
 * Issue 8, failure 1 (slowloris) on real loopback TCP: four source addresses keep 24 idle
 * connections each to a seeder's peer port, reopening each as soon as it is closed (300
 * connects/s), and 2,000 more idle connections are opened once from 500 other addresses. An
 * honest downloader must still get in and complete. (Before the InboundGate, 64 idle
 * connections held every handshake slot for 10 s each and the downloader never got in.) The
 * time against a clean run is measured by bench/slowloris.ts; here the bound is generous
 * because the CPU is shared.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { BitTorrentEngine } from '../../lib/engine/bittorrent-engine.js';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import { createTorrentFromBuffer } from '../../lib/torrent/create.js';
import { seededRandom } from '../../lib/util/random.js';
import { Slowloris } from '../../bench/lib/slowloris.js';
import { startMemorySeed } from '../../bench/lib/memory-seed.js';
import { storedBytes } from '../support/pipe-net.js';
import { waitFor } from '../support/wait.js';

const MiB = 1024 * 1024;
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
});

describe('peer listener under a slowloris (loopback TCP)', () => {
  it('an honest downloader still gets in and completes; idle connections are shed or refused', async () => {
    const data = seededRandom(81).bytes(4 * MiB);
    const info = createTorrentFromBuffer('s.bin', data, 256 * 1024);
    const seed = await startMemorySeed(info, data);
    cleanup.push(() => seed.stop());
    const listener = seed.listener;

    const attack = new Slowloris({
      host: '127.0.0.1',
      port: listener.port,
      sources: ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'],
      keepersPerSource: 24,
      burst: 2_000,
      burstSources: Array.from(
        { length: 500 },
        (_, i) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`
      ),
      connectsPerSecond: 300
    });
    cleanup.push(() => attack.stop());
    attack.start();
    // The queue fills with idle connections (about a second on a quiet machine; bounded wait
    // because a loaded one takes longer to open 2,000 sockets).
    await waitFor('the accept queue full of idle connections', () => listener.connections.pending === 64, {
      timeoutMs: 20_000,
      intervalMs: 50
    });

    const holder: { storage?: MemoryStorage } = {};
    const down = new BitTorrentEngine({
      infoHash: info.infoHash,
      storage: (i) => (holder.storage = new MemoryStorage(i)),
      seed: true // keeps its storage open after done
    });
    cleanup.push(() => down.destroy());
    await down.start();
    const started = Date.now();
    down.addPeer({ host: '127.0.0.1', port: listener.port }, 'manual');
    await down.done({ signal: AbortSignal.timeout(30_000) });
    const ms = Date.now() - started;
    expect((await storedBytes(holder.storage!, info)).equals(Buffer.from(data))).toBe(true);
    // The attack ran all along: its connections were shed for newer ones or refused per IP.
    expect(attack.stats.connects).toBeGreaterThan(2_000);
    expect(listener.admission.shed).toBeGreaterThan(0);
    expect(listener.admission.refusedPerIp).toBeGreaterThan(0);
    expect(listener.connections.pending).toBeLessThanOrEqual(64);
    expect(listener.connections.established).toBe(1);
    console.log(
      `slowloris: 4 MiB downloaded in ${ms} ms under attack; listener ${JSON.stringify(listener.admission)}`
    );
  }, 60_000);
});
