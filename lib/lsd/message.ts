/**
 * The BEP 14 announce, an HTTP-like request sent over UDP multicast:
 *
 *   BT-SEARCH * HTTP/1.1\r\n
 *   Host: 239.192.152.143:6771\r\n
 *   Port: 6881\r\n
 *   Infohash: <40 hex>\r\n        (one or more)
 *   cookie: <opaque>\r\n          (optional)
 *   \r\n
 *   \r\n
 *
 * Pure: bytes <-> a typed announce. Decoding never throws; it returns null for anything that
 * is not a usable announce and reads at most LSD_MAX_HEADER_LINES lines and
 * LSD_MAX_INFOHASHES_RECEIVED infohashes. Header names are case-insensitive and unknown headers
 * are ignored (BEP 14: "additional headers that are not understood ... should be ignored").
 */
import { fromHex, toHex } from '../util/bytes.js';
import { ID_LENGTH } from '../constants.js';
import {
  LSD_GROUP_V4,
  LSD_GROUP_V6,
  LSD_MAX_COOKIE_LENGTH,
  LSD_MAX_HEADER_LINES,
  LSD_MAX_INFOHASHES_RECEIVED,
  LSD_MAX_PACKET_BYTES,
  LSD_PORT
} from './constants.js';

export interface LsdAnnounce {
  /** TCP port the sender accepts peers on. */
  port: number;
  /** Torrents the sender is in (at least one). */
  infoHashes: Uint8Array[];
  /** The sender's cookie, if any (lets a sender recognise its own announces). */
  cookie?: string;
}

const REQUEST_LINE = 'BT-SEARCH * HTTP/1.1';
const enc = new TextEncoder();

/** The `Host` header value for a group of the given family (RFC 2732 brackets for IPv6). */
export function lsdHost(family: 4 | 6): string {
  return family === 4 ? `${LSD_GROUP_V4}:${LSD_PORT}` : `[${LSD_GROUP_V6}]:${LSD_PORT}`;
}

/** Bytes of an announce with `count` infohashes (to size packets before building them). */
export function announceLength(family: 4 | 6, port: number, count: number, cookie?: string): number {
  const fixed =
    REQUEST_LINE.length +
    2 +
    `Host: ${lsdHost(family)}\r\n`.length +
    `Port: ${port}\r\n`.length +
    (cookie !== undefined ? `cookie: ${cookie}\r\n`.length : 0) +
    4;
  return fixed + count * `Infohash: ${'0'.repeat(2 * ID_LENGTH)}\r\n`.length;
}

/** Most infohashes one announce can carry within LSD_MAX_PACKET_BYTES. */
export function maxInfoHashesPerAnnounce(family: 4 | 6, port: number, cookie?: string): number {
  const one = announceLength(family, port, 1, cookie) - announceLength(family, port, 0, cookie);
  return Math.floor((LSD_MAX_PACKET_BYTES - announceLength(family, port, 0, cookie)) / one);
}

/** Encode an announce for the group of `family`. The caller keeps it within the packet size. */
export function encodeAnnounce(a: LsdAnnounce, family: 4 | 6): Uint8Array {
  let text = `${REQUEST_LINE}\r\nHost: ${lsdHost(family)}\r\nPort: ${a.port}\r\n`;
  for (const ih of a.infoHashes) text += `Infohash: ${toHex(ih)}\r\n`;
  if (a.cookie !== undefined) text += `cookie: ${a.cookie}\r\n`;
  return enc.encode(`${text}\r\n\r\n`);
}

/** Decode an announce; null if it is malformed, lacks a valid port, or names no valid infohash. */
export function decodeAnnounce(data: Uint8Array): LsdAnnounce | null {
  // Everything BEP 14 defines is ASCII; latin1 maps each byte to one character, never throws.
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  // The header ends with an empty line; a datagram without one was cut short.
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = text.slice(0, end).split('\r\n', LSD_MAX_HEADER_LINES + 1);
  const request = lines[0]!.split(' ');
  if (request.length !== 3 || request[0]!.toUpperCase() !== 'BT-SEARCH' || !/^HTTP\/1\.\d$/.test(request[2]!))
    return null;
  let port: number | undefined;
  let cookie: string | undefined;
  const infoHashes: Uint8Array[] = [];
  const seen = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) return null;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'port') {
      // One Port; a second, different one makes the announce ambiguous.
      const p = /^\d{1,5}$/.test(value) ? Number(value) : 0;
      if (p < 1 || p > 65535 || (port !== undefined && port !== p)) return null;
      port = p;
    } else if (name === 'infohash') {
      // A bad Infohash line is skipped, not fatal: the others in the packet may be fine.
      const hex = value.toLowerCase();
      if (!/^[0-9a-f]{40}$/.test(hex) || /^0+$/.test(hex) || seen.has(hex)) continue;
      if (infoHashes.length >= LSD_MAX_INFOHASHES_RECEIVED) continue;
      seen.add(hex);
      infoHashes.push(fromHex(hex));
    } else if (name === 'cookie') {
      if (value.length > 0 && value.length <= LSD_MAX_COOKIE_LENGTH) cookie = value;
    }
  }
  if (port === undefined || infoHashes.length === 0) return null;
  return { port, infoHashes, ...(cookie !== undefined ? { cookie } : {}) };
}
