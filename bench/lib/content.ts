/**
 * Content for the engine benchmark, generated in a temp directory:
 *  - a file of incompressible bytes (AES-CTR keystream: fast, deterministic) and its torrent;
 *  - "zero" torrents whose info dictionary has a chosen size (metadata exchange): many 16 KiB
 *    pieces of zeros over a sparse file, so a 5 MiB info dictionary (262,144 pieces, 4 GiB of
 *    content) costs no disk and its seed is a real, valid seed.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import bencode from 'bencode';
import { createTorrent, parseInfo, toTorrentFile } from '../../lib/index.js';
import type { TorrentInfo } from '../../lib/index.js';

const MiB = 1024 * 1024;

export interface BenchTorrent {
  info: TorrentInfo;
  /** The .torrent file. */
  torrentPath: string;
  /** Directory holding the content (the torrent's name inside it): a seed's save path. */
  dataDir: string;
}

/** `size` bytes of AES-128-CTR keystream (seeded by `seed`), written in 4 MiB chunks. */
export async function writeRandomFile(path: string, size: number, seed = 7): Promise<void> {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(4 * MiB);
  const fh = await fsp.open(path, 'w');
  try {
    for (let written = 0; written < size;) {
      const n = Math.min(zeros.length, size - written);
      const chunk = cipher.update(zeros.subarray(0, n));
      await fh.write(chunk, 0, chunk.length, written);
      written += n;
    }
  } finally {
    await fh.close();
  }
}

/** A single-file torrent over `size` random bytes, under `dir/<name>/`. */
export async function makeFileTorrent(
  dir: string,
  name: string,
  size: number,
  pieceLength?: number
): Promise<BenchTorrent> {
  const dataDir = join(dir, `${name}-data`);
  await fsp.mkdir(dataDir, { recursive: true });
  const file = join(dataDir, name);
  await writeRandomFile(file, size);
  const info = await createTorrent(file, pieceLength ? { pieceLength } : {});
  const torrentPath = join(dir, `${name}.torrent`);
  await fsp.writeFile(torrentPath, toTorrentFile(info, { createdBy: 'trackerless engine-bench' }));
  return { info, torrentPath, dataDir };
}

const PIECE = 16 * 1024;

/**
 * A torrent whose info dictionary is about `infoBytes` long: single file of N x 16 KiB zeros
 * (N = pieces needed), stored as a sparse file. All pieces share one hash (SHA-1 of 16 KiB of
 * zeros), which is valid: the data really is zeros.
 */
export async function makeZeroTorrent(dir: string, name: string, infoBytes: number): Promise<BenchTorrent> {
  const overhead = 80 + name.length; // keys, lengths, name
  const pieces = Math.max(1, Math.round((infoBytes - overhead) / 20));
  const hash = createHash('sha1').update(Buffer.alloc(PIECE)).digest();
  const hashes = Buffer.alloc(pieces * 20);
  for (let i = 0; i < pieces; i++) hash.copy(hashes, i * 20);
  const length = pieces * PIECE;
  const info = parseInfo(bencode.encode({ length, name, 'piece length': PIECE, pieces: hashes }));
  const dataDir = join(dir, `${name}-data`);
  await fsp.mkdir(dataDir, { recursive: true });
  const fh = await fsp.open(join(dataDir, name), 'w');
  try {
    await fh.truncate(length); // sparse: no blocks allocated
  } finally {
    await fh.close();
  }
  const torrentPath = join(dir, `${name}.torrent`);
  await fsp.writeFile(torrentPath, toTorrentFile(info));
  return { info, torrentPath, dataDir };
}
