/**
 * BEP 3 metainfo: the info dictionary and .torrent files, validated at the boundary.
 *
 * Info dictionaries arrive from strangers (ut_metadata, BEP 9) and their names become paths on
 * our disk, so everything is checked here once and the rest of the code can trust a
 * `TorrentInfo`: sizes are capped, piece hashes match the total length, and no path can leave
 * the download directory.
 *
 * Bencode is read with our own strict reader (strict-bencode.ts), which remembers where each
 * dictionary starts and ends: the infohash is the SHA-1 of those original bytes (BEP 3).
 */
import { createHash } from 'node:crypto';
import bencode from 'bencode';
import { InvalidArgumentError } from '../errors.js';
import type { Address } from '../net/address.js';
import { BDict, CH_E, decodeStrict, type BValue } from './strict-bencode.js';
import { pieceCount as countPieces } from './piece-layout.js';

/** SHA-1 length: one piece hash (BEP 3). */
export const PIECE_HASH_LENGTH = 20;
/** Smallest piece length we accept: one 16 KiB block (BEP 3 request size). */
export const MIN_PIECE_LENGTH = 16 * 1024;
/** Largest piece length we accept; a piece is buffered whole while it is verified. */
export const MAX_PIECE_LENGTH = 64 * 1024 * 1024;

export interface TorrentFileEntry {
  /**
   * Path relative to the download directory, root name included: `[name]` for a single-file
   * torrent, `[name, ...path]` for a multi-file one. Every component is a safe file name.
   */
  path: string[];
  length: number;
  /** Offset of the file's first byte in the concatenated torrent data. */
  offset: number;
  /** BEP 47 padding file (`attr` holds 'p'): all zeros, never written to disk. */
  padding?: true;
}

export interface TorrentInfo {
  /** SHA-1 of `infoBytes`. */
  infoHash: Uint8Array;
  /** The info dictionary exactly as received (what BEP 9 serves and the infohash covers). */
  infoBytes: Uint8Array;
  name: string;
  pieceLength: number;
  /** Number of pieces: ceil(length / pieceLength). */
  pieceCount: number;
  /**
   * The pieces' SHA-1 hashes back to back (20 bytes each, `pieceCount * 20` bytes); read one
   * with `pieceHash(info, i)`. One buffer rather than an array of views: a 5 MiB info
   * dictionary holds 262,144 hashes, and building a view per piece cost ~60 ms.
   */
  pieceHashes: Uint8Array;
  /** Total length in bytes. */
  length: number;
  files: TorrentFileEntry[];
  /** BEP 27 `private=1`: such torrents must not use the DHT or PEX. */
  private: boolean;
}

/** Caps that bound the work and memory a hostile info dictionary can cost us. */
export interface MetainfoLimits {
  maxInfoBytes: number;
  maxTorrentFileBytes: number;
  maxFiles: number;
  maxPieces: number;
  maxPathDepth: number;
  /** Linux NAME_MAX is 255 bytes: longer names could not be stored anyway. */
  maxPathComponentBytes: number;
  maxDepth: number;
  maxTokens: number;
}

export const DEFAULT_METAINFO_LIMITS: Readonly<MetainfoLimits> = {
  maxInfoBytes: 16 * 1024 * 1024,
  maxTorrentFileBytes: 64 * 1024 * 1024,
  maxFiles: 200_000,
  maxPieces: 1 << 20,
  maxPathDepth: 64,
  maxPathComponentBytes: 255,
  maxDepth: 64,
  maxTokens: 4_000_000
};

export interface ParsedTorrentFile {
  info: TorrentInfo;
  /** `announce` and `announce-list` flattened, deduplicated (informational: we are trackerless). */
  trackers: string[];
  /**
   * BEP 5 `nodes`: DHT nodes the torrent's author suggests for joining (host names or IP
   * literals, as written). Malformed entries are skipped; at most MAX_TORRENT_NODES kept.
   */
  nodes: Address[];
}

/** `nodes` entries kept from a .torrent: enough to join, too few to be a flooding list. */
export const MAX_TORRENT_NODES = 16;

/** A DNS name (RFC 1123 labels) or an IP literal's characters; checked, never resolved here. */
const NODE_HOST = /^(?=.{1,253}$)[A-Za-z0-9:.\-[\]]+$/;

function fail(message: string): never {
  throw new InvalidArgumentError('ERR_INVALID_TORRENT', `invalid torrent: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Field helpers

const utf8 = new TextDecoder('utf-8', { fatal: false });

function isBytes(v: BValue | undefined): v is Uint8Array {
  return v instanceof Uint8Array;
}

function intField(dict: BDict, key: string, min: number, max: number): number {
  const v = dict.map.get(key);
  if (v === undefined) fail(`missing "${key}"`);
  if (typeof v !== 'number' && typeof v !== 'bigint') fail(`"${key}" must be an integer in [${min}, ${max}]`);
  if (typeof v === 'bigint' || v < min || v > max) fail(`"${key}" = ${v} is out of range [${min}, ${max}]`);
  return v;
}

/** UTF-8 text of `key`, preferring the `key.utf-8` variant some old clients wrote. */
function textField(dict: BDict, key: string): Uint8Array | undefined {
  const preferred = dict.map.get(`${key}.utf-8`);
  if (isBytes(preferred)) return preferred;
  const v = dict.map.get(key);
  if (v === undefined) return undefined;
  if (!isBytes(v)) fail(`"${key}" must be a byte string`);
  return v;
}

/**
 * One path component as a safe file name. Invalid UTF-8 becomes U+FFFD (names are advisory,
 * BEP 3) — the safety checks run on the decoded string, which is what reaches the disk.
 */
function pathComponent(raw: Uint8Array, what: string, limits: MetainfoLimits): string {
  if (raw.length === 0) fail(`${what} has an empty path component`);
  const s = utf8.decode(raw);
  if (Buffer.byteLength(s) > limits.maxPathComponentBytes) {
    fail(`${what} has a path component longer than ${limits.maxPathComponentBytes} bytes`);
  }
  if (s === '.' || s === '..') fail(`${what} has a "${s}" path component (path traversal)`);
  if (/[/\\\0]/.test(s)) fail(`${what} has a path component containing "/", "\\" or NUL`);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Info dictionary

function infoFromDict(
  dict: BDict,
  infoBytes: Uint8Array,
  limits: MetainfoLimits,
  knownInfoHash?: Uint8Array
): TorrentInfo {
  const pieceLength = intField(dict, 'piece length', MIN_PIECE_LENGTH, MAX_PIECE_LENGTH);
  if ((pieceLength & (pieceLength - 1)) !== 0) fail(`"piece length" ${pieceLength} is not a power of two`);

  const piecesRaw = dict.map.get('pieces');
  if (piecesRaw === undefined) {
    if (dict.map.has('meta version')) fail('BitTorrent v2-only torrents (no "pieces") are not supported');
    fail('missing "pieces"');
  }
  if (!isBytes(piecesRaw)) fail('"pieces" must be a byte string');
  if (piecesRaw.length % PIECE_HASH_LENGTH !== 0)
    fail(`"pieces" length ${piecesRaw.length} is not a multiple of 20`);

  const nameRaw = textField(dict, 'name');
  if (nameRaw === undefined) fail('missing "name"');
  const name = pathComponent(nameRaw, '"name"', limits);

  const hasLength = dict.map.has('length');
  const hasFiles = dict.map.has('files');
  if (hasLength === hasFiles) fail('exactly one of "length" and "files" must be present');

  const files: TorrentFileEntry[] = [];
  let total = 0;
  if (hasLength) {
    total = intField(dict, 'length', 0, Number.MAX_SAFE_INTEGER);
    files.push({ path: [name], length: total, offset: 0 });
  } else {
    const list = dict.map.get('files');
    if (!Array.isArray(list)) fail('"files" must be a list');
    if (list.length === 0) fail('"files" is empty');
    if (list.length > limits.maxFiles) fail(`${list.length} files exceeds the cap of ${limits.maxFiles}`);
    // Two entries for one path, or a file that is also another file's directory, would make
    // storage ambiguous: reject both (order-independent, components can't contain '/').
    const filePaths = new Set<string>();
    const dirPaths = new Set<string>();
    for (const [i, entry] of list.entries()) {
      const what = `files[${i}]`;
      if (!(entry instanceof BDict)) fail(`${what} must be a dictionary`);
      const length = intField(entry, 'length', 0, Number.MAX_SAFE_INTEGER);
      const rawPath = entry.map.get('path.utf-8') ?? entry.map.get('path');
      if (!Array.isArray(rawPath)) fail(`${what} "path" must be a list`);
      if (rawPath.length === 0) fail(`${what} has an empty path`);
      if (rawPath.length > limits.maxPathDepth) fail(`${what} path is deeper than ${limits.maxPathDepth}`);
      const path = rawPath.map((c) =>
        isBytes(c) ? pathComponent(c, what, limits) : fail(`${what} path must hold strings`)
      );
      const attr = entry.map.get('attr');
      const padding = isBytes(attr) && attr.includes(0x70 /* 'p' */);
      const key = path.join('/');
      // Pad files (hybrid torrents) share names like ".pad/16384" and are never stored.
      if (!padding) {
        if (filePaths.has(key) || dirPaths.has(key)) fail(`${what} path "${key}" is used twice`);
        for (let d = 1; d < path.length; d++) {
          const dir = path.slice(0, d).join('/');
          if (filePaths.has(dir)) fail(`${what} path "${key}" is inside file "${dir}"`);
          dirPaths.add(dir);
        }
        filePaths.add(key);
      }
      files.push({
        path: [name, ...path],
        length,
        offset: total,
        ...(padding ? { padding: true as const } : {})
      });
      total += length;
      if (total > Number.MAX_SAFE_INTEGER) fail('total length is too large');
    }
  }
  if (total === 0) fail('total length is zero');

  const pieceCount = countPieces({ length: total, pieceLength });
  if (pieceCount > limits.maxPieces) fail(`${pieceCount} pieces exceeds the cap of ${limits.maxPieces}`);
  if (piecesRaw.length !== pieceCount * PIECE_HASH_LENGTH) {
    fail(
      `"pieces" holds ${piecesRaw.length / PIECE_HASH_LENGTH} hashes, ${pieceCount} expected for ${total} bytes`
    );
  }
  // One copy of our own (the caller's buffer may be reused); the hashes are a view into it.
  const bytes = new Uint8Array(infoBytes);
  const hashesAt = piecesRaw.byteOffset - infoBytes.byteOffset;
  return {
    infoHash: knownInfoHash ?? infoHashOf(bytes),
    infoBytes: bytes,
    name,
    pieceLength,
    pieceCount,
    pieceHashes: bytes.subarray(hashesAt, hashesAt + piecesRaw.length),
    length: total,
    files,
    private: dict.map.get('private') === 1
  };
}

/** SHA-1 of the raw bencoded info dictionary: the v1 infohash. */
export function infoHashOf(infoBytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(infoBytes).digest());
}

function mergeLimits(limits?: Partial<MetainfoLimits>): MetainfoLimits {
  return { ...DEFAULT_METAINFO_LIMITS, ...limits };
}

/**
 * Parse and validate a bencoded info dictionary (as fetched with ut_metadata).
 * Throws InvalidArgumentError('ERR_INVALID_TORRENT') with the reason.
 *
 * `verifiedInfoHash`: the caller has already checked SHA-1(infoBytes) (BEP 9 does, before
 * parsing) — pass it to skip hashing the bytes a second time.
 */
export function parseInfo(
  infoBytes: Uint8Array,
  limits?: Partial<MetainfoLimits>,
  verifiedInfoHash?: Uint8Array
): TorrentInfo {
  const lim = mergeLimits(limits);
  if (verifiedInfoHash !== undefined && verifiedInfoHash.length !== PIECE_HASH_LENGTH)
    fail('infohash must be 20 bytes');
  if (!(infoBytes instanceof Uint8Array)) fail('info must be bytes');
  if (infoBytes.length > lim.maxInfoBytes)
    fail(`info dictionary of ${infoBytes.length} bytes exceeds ${lim.maxInfoBytes}`);
  const root = decodeStrict(infoBytes, lim);
  if (!(root instanceof BDict)) fail('info must be a dictionary');
  return infoFromDict(root, infoBytes, lim, verifiedInfoHash && new Uint8Array(verifiedInfoHash));
}

/** Parse a whole .torrent file. The infohash covers the `info` bytes exactly as in the file. */
export function parseTorrentFile(bytes: Uint8Array, limits?: Partial<MetainfoLimits>): ParsedTorrentFile {
  const lim = mergeLimits(limits);
  if (!(bytes instanceof Uint8Array)) fail('torrent file must be bytes');
  if (bytes.length > lim.maxTorrentFileBytes)
    fail(`torrent file of ${bytes.length} bytes exceeds ${lim.maxTorrentFileBytes}`);
  const root = decodeStrict(bytes, lim);
  if (!(root instanceof BDict)) fail('a torrent file must be a dictionary');
  const infoDict = root.map.get('info');
  if (!(infoDict instanceof BDict)) fail('missing "info" dictionary');
  if (infoDict.end - infoDict.start > lim.maxInfoBytes)
    fail(`info dictionary exceeds ${lim.maxInfoBytes} bytes`);
  const info = infoFromDict(infoDict, bytes.subarray(infoDict.start, infoDict.end), lim);

  // Trackers are informational for a trackerless client: malformed entries are skipped.
  const trackers = new Set<string>();
  const addTracker = (v: BValue | undefined): void => {
    if (isBytes(v) && v.length > 0) trackers.add(utf8.decode(v));
  };
  addTracker(root.map.get('announce'));
  const tiers = root.map.get('announce-list');
  if (Array.isArray(tiers)) for (const tier of tiers) if (Array.isArray(tier)) tier.forEach(addTracker);
  return { info, trackers: [...trackers], nodes: torrentNodes(root.map.get('nodes')) };
}

/** BEP 5: `nodes = [["<host>", port], ...]`. Hints, like trackers: bad entries are skipped. */
function torrentNodes(v: BValue | undefined): Address[] {
  const out: Address[] = [];
  if (!Array.isArray(v)) return out;
  const seen = new Set<string>();
  for (const entry of v) {
    if (out.length >= MAX_TORRENT_NODES) break;
    if (!Array.isArray(entry) || entry.length !== 2) continue;
    const [hostBytes, port] = entry;
    if (!isBytes(hostBytes) || typeof port !== 'number') continue;
    if (!Number.isInteger(port) || port < 1 || port > 65535) continue;
    const host = utf8.decode(hostBytes).replace(/^\[(.*)\]$/, '$1');
    if (!NODE_HOST.test(host) || seen.has(`${host}:${port}`)) continue;
    seen.add(`${host}:${port}`);
    out.push({ host, port });
  }
  return out;
}

/**
 * Build a .torrent file around `info.infoBytes`. The info bytes are spliced in verbatim (never
 * re-encoded) so the file's infohash is `info.infoHash`.
 */
export function toTorrentFile(
  info: Pick<TorrentInfo, 'infoBytes'>,
  opts: { trackers?: string[]; createdBy?: string; creationDate?: number; nodes?: readonly Address[] } = {}
): Uint8Array {
  const outer: Record<string, unknown> = {};
  const trackers = opts.trackers ?? [];
  if (trackers[0] !== undefined) outer['announce'] = trackers[0];
  if (trackers.length > 1) outer['announce-list'] = trackers.map((t) => [t]);
  if (opts.createdBy !== undefined) outer['created by'] = opts.createdBy;
  if (opts.creationDate !== undefined) outer['creation date'] = Math.floor(opts.creationDate);
  // Every key above sorts before "info" and `nodes` after it: info goes between them, so the
  // dictionary stays canonical.
  const head = bencode.encode(outer);
  const key = new TextEncoder().encode('4:info');
  const nodes = opts.nodes ?? [];
  const tailDict = bencode.encode(nodes.length > 0 ? { nodes: nodes.map((n) => [n.host, n.port]) } : {});
  const tail = tailDict.subarray(1, tailDict.length - 1); // the entries, without 'd' ... 'e'
  const out = new Uint8Array(head.length - 1 + key.length + info.infoBytes.length + tail.length + 1);
  out.set(head.subarray(0, head.length - 1), 0);
  out.set(key, head.length - 1);
  out.set(info.infoBytes, head.length - 1 + key.length);
  out.set(tail, head.length - 1 + key.length + info.infoBytes.length);
  out[out.length - 1] = CH_E;
  return out;
}

/** The 20-byte SHA-1 of piece `index` (a view into `info.pieceHashes`). */
export function pieceHash(info: Pick<TorrentInfo, 'pieceHashes'>, index: number): Uint8Array {
  const start = index * PIECE_HASH_LENGTH;
  if (!Number.isInteger(index) || index < 0 || start >= info.pieceHashes.length) {
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `piece index ${index} out of range [0, ${info.pieceHashes.length / PIECE_HASH_LENGTH})`
    );
  }
  return info.pieceHashes.subarray(start, start + PIECE_HASH_LENGTH);
}
