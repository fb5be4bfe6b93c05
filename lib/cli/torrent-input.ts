/**
 * What names a torrent on the command line: a magnet link, a bare infohash (40 hex or 32
 * base32 characters) or the path of a .torrent file — read by the library's one input parser
 * (client/torrent-input.ts, what `client.add` takes), with its errors turned into UsageErrors
 * (exit 2) found before any socket is opened.
 */
import { bareMagnet, resolveInput } from '../client/torrent-input.js';
import type { Address, Magnet, TorrentInfo } from '../index.js';
import { UsageError } from './program.js';

export type TorrentInput =
  /** A magnet link or an infohash: the metadata comes from peers. */
  | { kind: 'magnet'; magnet: Magnet }
  /** A .torrent file: the metadata is known before any peer is asked. */
  | { kind: 'torrent'; magnet: Magnet; info: TorrentInfo; path: string; nodes: Address[] };

/** The help text of an argument that takes any of them. */
export const TORRENT_INPUT_HELP =
  "a magnet link (quote it: it contains '&'), an infohash (40 hex) or a .torrent file";

/** True when `value` reads as a magnet link or an infohash rather than a path. */
export function namesInfoHash(value: string): boolean {
  return /^magnet:/i.test(value) || /^[0-9a-f]{40}$/i.test(value) || /^[a-z2-7]{32}$/i.test(value);
}

/** Resolve a command-line torrent argument; anything that is not a link or an infohash is a path. */
export async function readTorrentInput(value: string): Promise<TorrentInput> {
  if (/^[0-9a-f]{64}$/i.test(value)) {
    throw new UsageError(
      'a 64-hex infohash is a v2 (BEP 52) one; v2 torrents are not supported: give the v1 (40-hex) infohash of a hybrid torrent'
    );
  }
  let resolved;
  try {
    resolved = await resolveInput(value);
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    const message = typeof e.message === 'string' ? e.message : String(err);
    throw new UsageError(
      e.code === 'ERR_INVALID_TORRENT' ? `${value} is not a usable .torrent file: ${message}` : message
    );
  }
  const magnet = resolved.magnet ?? bareMagnet(resolved.infoHash);
  if (!resolved.info) return { kind: 'magnet', magnet };
  return { kind: 'torrent', magnet, info: resolved.info, path: value, nodes: resolved.nodes ?? [] };
}
