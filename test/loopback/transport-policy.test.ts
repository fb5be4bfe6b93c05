/**
 * The connection policy over real sockets on 127.0.0.1: a Swarm listens on TCP and uTP with
 * one port number (the DHT shares the UDP socket), dials per its `transport` policy, falls back
 * when a transport fails, accepts both, and records which transport each peer uses.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { PeerStatus } from '../../lib/engine/peers/peers.js';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import { createTorrentFromBuffer } from '../../lib/torrent/create.js';
import { Swarm, type SwarmOptions } from '../../lib/swarm/swarm.js';
import type { TorrentInfo } from '../../lib/torrent/metainfo.js';
import { BitTorrentEngine as Engine } from '../../lib/engine/bittorrent-engine.js';
import { UtpPeerListener } from '../../lib/engine/peers/utp-peer-listener.js';
import { createUdpTransport } from '../../lib/net/udp-transport.js';
import { UtpSocket } from '../../lib/utp/socket.js';
import { startLoopbackDht, type LoopbackDht } from '../support/loopback-swarm.js';

const HOST = '127.0.0.1';

/** Deterministic bytes. */
function keystream(n: number, key: number): Buffer {
  const out = Buffer.alloc(n);
  let x = key * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
const data = keystream(2 * 1024 * 1024 + 4321, 7);
const info: TorrentInfo = createTorrentFromBuffer('policy.bin', data, 64 * 1024);

let network: LoopbackDht;
beforeAll(async () => {
  network = await startLoopbackDht(HOST, 2);
});
afterAll(async () => {
  await network.destroy();
});

function peersOf(swarm: Swarm): PeerStatus[] {
  return (swarm.engine as Engine).peerStatus();
}

async function seeder(extra: Partial<SwarmOptions> = {}): Promise<Swarm> {
  return Swarm.create({
    torrent: info,
    storage: MemoryStorage.fromData(info, data),
    existing: 'complete',
    seed: true,
    noDht: true,
    listen: { host: HOST, port: 0 },
    // Slow enough that the leech's peer list is sampled while connected.
    uploadLimit: 4 * 1024 * 1024,
    engineOptions: { tickMs: 50 },
    ...extra
  });
}

/**
 * What a swarm's peer list showed while it ran ("transport/in|out" of every peer, sampled on
 * each progress event), with when each was first seen (performance.now()): connections close
 * once the download completes.
 */
function watchPeers(swarm: Swarm): Map<string, number> {
  const seen = new Map<string, number>();
  swarm.on('progress', () => {
    for (const p of peersOf(swarm)) {
      const key = `${p.transport}/${p.outgoing ? 'out' : 'in'}`;
      if (!seen.has(key)) seen.set(key, performance.now());
    }
  });
  return seen;
}

/**
 * Download from `seed` (added by hand): what each side saw, and how long after the dial the
 * leech first had a TCP connection.
 */
async function download(seed: Swarm, extra: Partial<SwarmOptions> = {}) {
  const storage = new MemoryStorage(info);
  const seedSaw = watchPeers(seed);
  const leech = await Swarm.create({
    torrent: info,
    storage,
    existing: 'none',
    noDht: true,
    listen: { host: HOST, port: 0 },
    engineOptions: { tickMs: 50 },
    ...extra
  });
  const leechSaw = watchPeers(leech);
  try {
    const started = performance.now();
    leech.addPeer({ host: HOST, port: seed.port! });
    await leech.done({ signal: AbortSignal.timeout(30_000) });
    const got = Buffer.concat(
      await Promise.all(Array.from({ length: info.pieceCount }, (_, i) => storage.readPiece(i)))
    );
    expect(got.equals(data)).toBe(true);
    const tcpAt = leechSaw.get('tcp/out');
    return {
      leechSaw: [...leechSaw.keys()],
      seedSaw: [...seedSaw.keys()],
      tcpAfterMs: tcpAt === undefined ? undefined : tcpAt - started
    };
  } finally {
    await leech.destroy();
  }
}

describe('connection policy', () => {
  it('uTP first by default, on the TCP port number shared with the DHT node', async () => {
    const seed = await Swarm.create({
      torrent: info,
      storage: MemoryStorage.fromData(info, data),
      existing: 'complete',
      seed: true,
      bootstrap: network.bootstrap,
      dhtOptions: { host: HOST, port: 0 },
      listen: { host: HOST, port: 0 },
      uploadLimit: 4 * 1024 * 1024,
      engineOptions: { tickMs: 50 }
    });
    try {
      // One port number: TCP listener, uTP and the DHT node on one UDP socket.
      expect(seed.dht!.address().port).toBe(seed.port);
      const { leechSaw, seedSaw } = await download(seed);
      expect(leechSaw).toEqual(['utp/out']);
      expect(seedSaw).toEqual(['utp/in']);
      expect(seed.dht!.stats().malformed).toBe(0);
    } finally {
      await seed.destroy();
    }
  });

  it("'tcp' dials TCP only; the acceptor takes either", async () => {
    const seed = await seeder();
    try {
      const { leechSaw, seedSaw } = await download(seed, { transport: 'tcp' });
      expect(leechSaw).toEqual(['tcp/out']);
      expect(seedSaw).toEqual(['tcp/in']);
    } finally {
      await seed.destroy();
    }
  });

  it("'utp' with MSE required both ways: encrypted uTP", async () => {
    const seed = await seeder({ encryption: 'required' });
    try {
      const { leechSaw, seedSaw } = await download(seed, { transport: 'utp', encryption: 'required' });
      expect(leechSaw).toEqual(['utp/out']);
      expect(seedSaw).toEqual(['utp/in']);
    } finally {
      await seed.destroy();
    }
  });

  it("'utp-first' falls back to TCP when the peer has no uTP", async () => {
    const seed = await seeder({ utp: false });
    try {
      const { leechSaw, tcpAfterMs } = await download(seed);
      expect(leechSaw).toEqual(['tcp/out']);
      // The uTP attempt gave up after its fallback timeout (3 s), not the 10 s connect timeout:
      // timed to the TCP connection, not to the end of the download, whose CPU a loaded machine
      // stretches.
      expect(tcpAfterMs).toBeLessThan(9_000);
    } finally {
      await seed.destroy();
    }
  });

  it("'both' races the transports and keeps one connection", async () => {
    const seed = await seeder();
    try {
      const { leechSaw } = await download(seed, { transport: 'both' });
      // One connection survives the race (the loser is closed before any handshake).
      expect(leechSaw).toHaveLength(1);
      expect(['tcp/out', 'utp/out']).toContain(leechSaw[0]);
    } finally {
      await seed.destroy();
    }
  });

  it("'tcp-first' falls back to uTP when TCP is refused (a peer that accepts uTP only)", async () => {
    // The peer: an engine behind a UtpPeerListener on a bare UDP port; no TCP listens there.
    const udp = await createUdpTransport({ host: HOST });
    const socket = new UtpSocket(udp);
    const listener = new UtpPeerListener(socket, udp.address().port);
    const peer = new Engine({
      infoHash: info.infoHash,
      info,
      storage: MemoryStorage.fromData(info, data),
      existing: 'complete',
      seed: true,
      listener
    });
    await peer.start();
    const storage = new MemoryStorage(info);
    const leech = await Swarm.create({
      torrent: info,
      storage,
      existing: 'none',
      noDht: true,
      transport: 'tcp-first',
      listen: { host: HOST, port: 0 }
    });
    try {
      leech.addPeer({ host: HOST, port: listener.port });
      await leech.done({ signal: AbortSignal.timeout(30_000) });
      expect(listener.stats.accepted).toBe(1);
      expect(peer.peerStatus().map((p) => p.transport)).toEqual(['utp']);
    } finally {
      await leech.destroy();
      await peer.destroy();
      listener.close();
      socket.close();
      await udp.close();
    }
  });
});
