/**
 * uTP over IPv6 on ::1: a dual-stack swarm's IPv6 DHT node shares its UDP socket (and the TCP
 * port number) with uTP over IPv6, so a uTP-only downloader reaches the seeder at [::1]; the
 * uTP dialer picks the socket of the peer's family, and without one for IPv6 it fails at once
 * (so 'utp-first' moves to TCP without waiting).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BitTorrentEngine as Engine } from '../../lib/engine/bittorrent-engine.js';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import { formatAddress } from '../../lib/net/address.js';
import { PeerEndpoints } from '../../lib/swarm/peer-endpoints.js';
import { Swarm, type SwarmOptions } from '../../lib/swarm/swarm.js';
import { createTorrentFromBuffer } from '../../lib/torrent/create.js';
import { startLoopbackDht, type LoopbackDht } from '../support/loopback-swarm.js';

const data = Buffer.alloc(1024 * 1024 + 777);
for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 9)) & 0xff;
const info = createTorrentFromBuffer('v6.bin', data, 64 * 1024);

let v4: LoopbackDht;
let v6: LoopbackDht;
beforeAll(async () => {
  v4 = await startLoopbackDht('127.0.0.1', 2);
  v6 = await startLoopbackDht('::1', 2);
});
afterAll(async () => {
  await Promise.all([v4.destroy(), v6.destroy()]);
});

/** Dual stack on loopback: IPv4 DHT on 127.0.0.1, IPv6 DHT on ::1, TCP on '::'. */
function dualStack(): Partial<SwarmOptions> {
  return {
    bootstrap: v4.bootstrap,
    dhtOptions: { host: '127.0.0.1', port: 0 },
    ipv6: { dhtOptions: { host: '::1', port: 0 }, bootstrap: v6.bootstrap },
    listen: { host: '::', port: 0 },
    engineOptions: { tickMs: 50 }
  };
}

describe('uTP over IPv6', () => {
  it('a uTP-only downloader fetches from [::1] through the IPv6 DHT socket, on the TCP port number', async () => {
    const seed = await Swarm.create({
      ...dualStack(),
      torrent: info,
      storage: MemoryStorage.fromData(info, data),
      existing: 'complete',
      seed: true
    });
    const storage = new MemoryStorage(info);
    const leech = await Swarm.create({
      ...dualStack(),
      torrent: info,
      storage,
      existing: 'none',
      transport: 'utp'
    });
    try {
      // One port number: TCP, and each family's UDP socket shared by its DHT node and uTP.
      expect(seed.dht6!.address()).toEqual({ host: '::1', port: seed.port });
      expect(seed.dht!.address().port).toBe(seed.port);
      const transports = new Set<string>();
      seed.on('progress', () => {
        for (const p of (seed.engine as Engine).peerStatus())
          transports.add(`${p.transport} ${formatAddress(p.address)}`);
      });
      leech.on('progress', () => {
        for (const p of (leech.engine as Engine).peerStatus())
          transports.add(`${p.transport} ${formatAddress(p.address)}`);
      });
      leech.addPeer({ host: '::1', port: seed.port! });
      await leech.done({ signal: AbortSignal.timeout(30_000) });
      const got = Buffer.concat(
        await Promise.all(Array.from({ length: info.pieceCount }, (_, i) => storage.readPiece(i)))
      );
      expect(got.equals(data)).toBe(true);
      expect([...transports].some((t) => t === `utp [::1]:${seed.port}`)).toBe(true);
      expect([...transports].every((t) => t.startsWith('utp [::1]:'))).toBe(true);
      // The IPv6 DHT node kept working on the shared socket: it answered its bootstrap nodes.
      expect(seed.dht6!.stats().malformed).toBe(0);
      expect(seed.dht6!.stats().responsesIn).toBeGreaterThan(0);
    } finally {
      await leech.destroy();
      await seed.destroy();
    }
  }, 40_000);

  it('without an IPv6 socket, a uTP dial to an IPv6 peer fails at once', async () => {
    const endpoints = await PeerEndpoints.open({
      listen: { host: '127.0.0.1', port: 0 },
      utp: true,
      shareWithDht: false
    });
    try {
      const started = Date.now();
      await expect(endpoints.utpDialer!.connect({ host: '::1', port: 1 }, {})).rejects.toMatchObject({
        code: 'ERR_INVALID_ADDRESS'
      });
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await endpoints.close();
    }
  });
});
