/**
 * A seeding engine over memory storage on its own TCP listener on 127.0.0.1 (a fresh port):
 * the seeder the transfer and slowloris benchmarks and tests download from.
 */
import { BitTorrentEngine } from '../../lib/engine/bittorrent-engine.js';
import { TcpPeerListener } from '../../lib/engine/peers/tcp-peer-listener.js';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import type { TorrentInfo } from '../../lib/torrent/metainfo.js';

export interface MemorySeed {
  readonly listener: TcpPeerListener;
  readonly engine: BitTorrentEngine;
  readonly port: number;
  /** Destroy the engine, then close the listener. */
  stop(): Promise<void>;
}

export async function startMemorySeed(info: TorrentInfo, data: Uint8Array): Promise<MemorySeed> {
  const listener = await TcpPeerListener.listen({ host: '127.0.0.1', port: 0 });
  const engine = new BitTorrentEngine({
    infoHash: info.infoHash,
    info,
    storage: MemoryStorage.fromData(info, data),
    existing: 'complete',
    seed: true,
    listener
  });
  try {
    await engine.start();
  } catch (err) {
    await listener.close();
    throw err;
  }
  return {
    listener,
    engine,
    port: listener.port,
    stop: async () => {
      await engine.destroy();
      await listener.close();
    }
  };
}
