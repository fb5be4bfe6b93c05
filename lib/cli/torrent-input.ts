/**
 * What names a torrent on the command line: a magnet link, a bare infohash (40 hex or 32
 * base32 characters) or the path of a .torrent file. Every bad value is a UsageError (exit 2)
 * that says what was expected, found before any socket is opened.
 */
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import {
  parseInfoHash,
  parseMagnet,
  parseTorrentFile,
  toHex,
  type Address,
  type Magnet,
  type TorrentInfo
} from '../index.js';
import { DEFAULT_METAINFO_LIMITS } from '../torrent/metainfo.js';
import { UsageError } from './program.js';

export type TorrentInput =
  /** A magnet link or an infohash: the metadata comes from peers. */
  | { kind: 'magnet'; magnet: Magnet }
  /** A .torrent file: the metadata is known before any peer is asked. */
  | { kind: 'torrent'; magnet: Magnet; info: TorrentInfo; path: string; nodes: Address[] };

/** The help text of an argument that takes any of them. */
export const TORRENT_INPUT_HELP =
  "a magnet link (quote it: it contains '&'), an infohash (40 hex) or a .torrent file";

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** True when `value` reads as a magnet link or an infohash rather than a path. */
export function namesInfoHash(value: string): boolean {
  return /^magnet:/i.test(value) || /^[0-9a-f]{40}$/i.test(value) || /^[a-z2-7]{32}$/i.test(value);
}

/** A magnet link or an infohash (no file system access). */
export function parseLinkOrInfoHash(value: string): Magnet {
  try {
    if (/^magnet:/i.test(value)) return parseMagnet(value);
    if (/^[0-9a-f]{64}$/i.test(value)) {
      throw new Error(
        'a 64-hex infohash is a v2 (BEP 52) one; v2 torrents are not supported: give the v1 (40-hex) infohash of a hybrid torrent'
      );
    }
    return parseMagnet(`magnet:?xt=urn:btih:${toHex(parseInfoHash(value))}`);
  } catch (err) {
    throw new UsageError(messageOf(err));
  }
}

/** Read and parse a .torrent file; a clear UsageError if it is missing, too big or not one. */
export async function readTorrentFile(
  path: string
): Promise<{ info: TorrentInfo; magnet: Magnet; nodes: Address[] }> {
  const absolute = resolve(path);
  let bytes: Buffer;
  try {
    const stat = await fsp.stat(absolute);
    if (!stat.isFile()) throw new Error('not a file');
    // Checked before reading: a huge file is refused without loading it.
    if (stat.size > DEFAULT_METAINFO_LIMITS.maxTorrentFileBytes)
      throw new Error(`${stat.size} bytes is more than a .torrent file may be`);
    bytes = await fsp.readFile(absolute);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new UsageError(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : messageOf(err)}`);
  }
  try {
    const { info, nodes } = parseTorrentFile(bytes);
    return { info, nodes, magnet: parseMagnet(`magnet:?xt=urn:btih:${toHex(info.infoHash)}`) };
  } catch (err) {
    throw new UsageError(`${path} is not a usable .torrent file: ${messageOf(err)}`);
  }
}

/**
 * Resolve a command-line torrent argument. A value that is neither a link nor an infohash is
 * taken as a .torrent path; when no such file exists the message lists all three forms.
 */
export async function readTorrentInput(value: string): Promise<TorrentInput> {
  if (namesInfoHash(value) || /^[0-9a-f]{64}$/i.test(value))
    return { kind: 'magnet', magnet: parseLinkOrInfoHash(value) };
  const exists = await fsp.stat(value).then(
    () => true,
    () => false
  );
  if (!exists) {
    throw new UsageError(
      `${JSON.stringify(value.slice(0, 200))} is not a magnet link, an infohash (40 hex) or an existing .torrent file`
    );
  }
  const { info, magnet, nodes } = await readTorrentFile(value);
  return { kind: 'torrent', magnet, info, path: value, nodes };
}
