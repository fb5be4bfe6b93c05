/**
 * What `client.add` accepts, turned into what a Swarm needs: a magnet link, an infohash (40
 * hex or 32 base32 characters), the bytes of a .torrent file, the path of one, or parsed
 * metadata (from `createTorrent`). Everything is validated here, before the client changes:
 * bad input is an InvalidArgumentError with the code of what was wrong.
 */
import { promises as fsp } from 'node:fs';
import { InvalidArgumentError } from '../errors.js';
import { parseInfoHash } from '../id/node-id.js';
import { parseMagnet, type Magnet } from '../magnet/magnet.js';
import {
  DEFAULT_METAINFO_LIMITS,
  parseInfo,
  parseTorrentFile,
  type TorrentInfo
} from '../torrent/metainfo.js';
import { toHex } from '../util/bytes.js';
import type { Address } from '../net/address.js';

/** A magnet link, an infohash, a .torrent file's bytes or path, or parsed metadata. */
export type TorrentInput = string | Uint8Array | TorrentInfo;

export interface ResolvedInput {
  infoHash: Uint8Array;
  /** Known up front (.torrent input) or undefined (fetched from peers). */
  info?: TorrentInfo;
  /** The magnet link's hints and selection (magnet or infohash input). */
  magnet?: Magnet;
  /** DHT nodes a .torrent file names (BEP 5 `nodes`). */
  nodes?: Address[];
}

const INFOHASH = /^(?:[0-9a-fA-F]{40}|[A-Za-z2-7]{32})$/;

export async function resolveInput(input: TorrentInput, signal?: AbortSignal): Promise<ResolvedInput> {
  if (input instanceof Uint8Array) return fromTorrentBytes(input);
  if (typeof input === 'string') {
    if (/^magnet:/i.test(input)) {
      const magnet = parseMagnet(input);
      return { infoHash: magnet.infoHash, magnet };
    }
    if (INFOHASH.test(input)) {
      const infoHash = parseInfoHash(input);
      return { infoHash, magnet: bareMagnet(infoHash) };
    }
    return fromTorrentBytes(await readTorrentFile(input, signal));
  }
  if (isTorrentInfo(input)) {
    // Re-read from its bytes: the object may have been built or changed by hand.
    const info = parseInfo(input.infoBytes);
    return { infoHash: info.infoHash, info };
  }
  throw new InvalidArgumentError(
    'ERR_INVALID_ARGUMENT',
    'add() takes a magnet link, an infohash, a .torrent file (path or bytes) or torrent metadata'
  );
}

/** A magnet with nothing but the infohash. */
export function bareMagnet(infoHash: Uint8Array): Magnet {
  return { infoHash, infoHashHex: toHex(infoHash), peers: [], peerHosts: [], trackers: [] };
}

function fromTorrentBytes(bytes: Uint8Array): ResolvedInput {
  const { info, nodes } = parseTorrentFile(bytes);
  return { infoHash: info.infoHash, info, ...(nodes.length > 0 ? { nodes } : {}) };
}

/** The file's bytes, refusing anything larger than a .torrent file may be. */
async function readTorrentFile(path: string, signal?: AbortSignal): Promise<Uint8Array> {
  const max = DEFAULT_METAINFO_LIMITS.maxTorrentFileBytes;
  let size: number;
  try {
    const st = await fsp.stat(path);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch (err) {
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `${JSON.stringify(path)} is neither a magnet link, an infohash nor a readable .torrent file (${(err as Error).message})`
    );
  }
  if (size > max) throw new InvalidArgumentError('ERR_INVALID_TORRENT', `${path}: larger than ${max} bytes`);
  return fsp.readFile(path, signal ? { signal } : {});
}

function isTorrentInfo(v: unknown): v is TorrentInfo {
  const o = v as Partial<TorrentInfo> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    o.infoHash instanceof Uint8Array &&
    o.infoBytes instanceof Uint8Array &&
    Array.isArray(o.files)
  );
}
