/**
 * Seed a file or folder (or a torrent whose data is in a Storage): create the torrent, start a
 * seeding Swarm, announce it on the DHT, and return the magnet link.
 *
 *   const { magnet, swarm } = await seed('./photos', { bootstrap: ['127.0.0.1:6881'] });
 *   console.log(magnet); // give it to the downloaders
 */
import { dirname, resolve } from 'node:path';
import type { Storage } from '../engine/storage/storage.js';
import type { ExistingData } from '../engine/storage/storage-setup.js';
import type { Address } from '../net/address.js';
import { createTorrent, type CreateTorrentOptions } from '../torrent/create.js';
import type { TorrentInfo } from '../torrent/metainfo.js';
import { Swarm, type SwarmOptions } from './swarm.js';

export interface SeedOptions extends Omit<
  SwarmOptions,
  'magnet' | 'torrent' | 'outDir' | 'storage' | 'seed' | 'existing' | 'selectFiles'
> {
  /** Torrent creation (path input only): piece length, private flag, progress. The name is the base name of the path (the files are found under it). */
  create?: Omit<CreateTorrentOptions, 'signal' | 'name'>;
  /**
   * What to assume about the data. Default 'complete' for a path (it was just hashed to make
   * the torrent), 'verify' for a given storage.
   */
  existing?: ExistingData;
  /** Put `x.pe` hints with these addresses in the magnet link (e.g. our public address). */
  peerHints?: Address[];
}

export interface SeedResult {
  swarm: Swarm;
  info: TorrentInfo;
  magnet: string;
}

/** The data of an existing torrent, to seed with `seed({ info, storage })`. */
export interface SeedData {
  info: TorrentInfo;
  storage: Storage;
}

export async function seed(input: string | SeedData, options: SeedOptions = {}): Promise<SeedResult> {
  const { create, existing, peerHints, ...swarmOptions } = options;
  let info: TorrentInfo;
  let where: Pick<SwarmOptions, 'outDir' | 'storage'>;
  if (typeof input === 'string') {
    const path = resolve(input);
    info = await createTorrent(path, { ...create, ...(options.signal ? { signal: options.signal } : {}) });
    // The torrent's paths start with its name (the base name of `path`): store from the parent.
    where = { outDir: dirname(path) };
  } else {
    info = input.info;
    where = { storage: input.storage };
  }
  const swarm = await Swarm.create({
    ...swarmOptions,
    ...where,
    torrent: info,
    seed: true,
    existing: existing ?? (typeof input === 'string' ? 'complete' : 'verify'),
    // Seeding a user's folder must not write `.trackerless/` into it.
    engineOptions: { resume: false, ...swarmOptions.engineOptions }
  });
  return { swarm, info, magnet: swarm.magnetLink(peerHints ?? []) };
}
