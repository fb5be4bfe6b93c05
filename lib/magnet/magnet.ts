/**
 * Magnet links (BEP 9 format, BEP 53 `so=`, BEP 46 `xs=urn:btpk:` + `s=`), decoded by
 * `magnet-uri` with our strict validation around it. A magnet link is user input:
 * every field is validated and any defect is reported as
 * InvalidArgumentError('ERR_INVALID_MAGNET') with a message naming the field.
 *
 * magnet-uri 7 has defects this module covers (test/unit/magnet.test.ts pins each one, so an
 * upgrade that changes them is noticed):
 * - it drops a parameter whose value holds a raw '=' (a tracker URL with a query): such '='
 *   are percent-encoded before decoding;
 * - it ignores an uppercase `MAGNET:` scheme, mixed-case keys ("XT", "Dn") and numbered
 *   `xt.1`: the scheme and keys are normalised first;
 * - it throws a bare URIError on bad percent-encoding: each value is checked first, and the
 *   error names the field;
 * - it takes any 40 characters after `urn:btih:` as hex: every `xt` and `xs` is validated here;
 * - it decodes `dn` and then turns '+' into spaces, so an encoded '+' (%2B) becomes a space,
 *   and it expands `so` ranges without bound (`so=0-99999999` is a 10^8-entry array): `dn`,
 *   `so` and BEP 46's `s` (which it does not know) are read here, not by magnet-uri.
 *
 * Links are written here, not by magnet-uri's encoder: it writes `x.pe` values unencoded and
 * drops one-letter keys such as BEP 46's `s`. Every value is percent-encoded (a space as %20,
 * which every parser reads), keeping ':' readable.
 */
import { isIPv4, isIPv6 } from 'node:net';
import magnetDecode from 'magnet-uri';
import { InvalidArgumentError } from '../errors.js';
import { parseInfoHash } from '../id/node-id.js';
import { formatAddress, type Address } from '../net/address.js';
import { fromHex, toHex } from '../util/bytes.js';

/** Longest magnet link we parse (links carry a hash, a name and some hints: 64 KiB is lavish). */
export const MAX_MAGNET_LENGTH = 64 * 1024;
/** Highest file index accepted in `so=` (bounds the expanded list). */
export const MAX_SELECT_INDEX = 1_000_000;

export interface Magnet {
  infoHash: Uint8Array;
  /** Lowercase hex of `infoHash`. */
  infoHashHex: string;
  /** `dn`: display name, advisory. */
  name?: string;
  /** `x.pe` hints that are IP literals, ready to dial. */
  peers: Address[];
  /** `x.pe` hints given as hostname:port; resolving them is the caller's choice. */
  peerHosts: Address[];
  /** BEP 53 `so=`: zero-based file indices, sorted, unique. */
  selectOnly?: number[];
  /** `tr` URLs, in order, deduplicated. */
  trackers: string[];
}

function invalid(message: string): never {
  throw new InvalidArgumentError('ERR_INVALID_MAGNET', `invalid magnet link: ${message}`);
}

function badArgument(message: string): never {
  throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `invalid ${message}`);
}

function decodeComponent(raw: string, key: string, plusIsSpace: boolean): string {
  try {
    return decodeURIComponent(plusIsSpace ? raw.replace(/\+/g, ' ') : raw);
  } catch {
    return invalid(`bad percent-encoding in "${key}"`);
  }
}

function parsePort(text: string, raw: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) invalid(`x.pe ${JSON.stringify(raw)} has no valid port`);
  const port = Number(text);
  if (port < 1 || port > 65535) invalid(`x.pe ${JSON.stringify(raw)} port ${port} is out of range 1-65535`);
  return port;
}

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
const HOSTNAME =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** `host:port`, `ipv4:port` or `[ipv6]:port` (BEP 9). */
function parsePeer(raw: string): { address: Address; literal: boolean } {
  if (raw.startsWith('[')) {
    const close = raw.indexOf(']');
    if (close < 0 || raw[close + 1] !== ':') invalid(`x.pe ${JSON.stringify(raw)} is not [ipv6]:port`);
    const host = raw.slice(1, close);
    if (!isIPv6(host)) invalid(`x.pe ${JSON.stringify(raw)} has an invalid IPv6 address`);
    return { address: { host, port: parsePort(raw.slice(close + 2), raw) }, literal: true };
  }
  const colon = raw.lastIndexOf(':');
  if (colon < 0) invalid(`x.pe ${JSON.stringify(raw)} has no port`);
  const host = raw.slice(0, colon);
  if (host.includes(':')) invalid(`x.pe ${JSON.stringify(raw)}: IPv6 addresses must be in brackets`);
  const port = parsePort(raw.slice(colon + 1), raw);
  if (isIPv4(host)) return { address: { host, port }, literal: true };
  // Dotted digits that are not a valid IPv4 literal (e.g. 300.1.1.1) are a typo, not a name.
  if (/^[0-9.]+$/.test(host) || !HOSTNAME.test(host))
    invalid(`x.pe ${JSON.stringify(raw)} has an invalid host`);
  return { address: { host: host.toLowerCase(), port }, literal: false };
}

/**
 * BEP 53 `so=0,2,4-6` -> [0, 2, 4, 5, 6]. `label` names the source in errors: with the default
 * ('so') a defect is ERR_INVALID_MAGNET; another label (a command-line option such as
 * '--select', which takes the same syntax) makes it ERR_INVALID_ARGUMENT.
 */
export function parseSelectOnly(value: string, label = 'so'): number[] {
  const selected = new Set<number>();
  const fail = (message: string): never =>
    label === 'so' ? invalid(`so=${value}: ${message}`) : badArgument(`${label} ${value}: ${message}`);
  const index = (text: string): number => {
    if (!/^[0-9]{1,7}$/.test(text)) fail(`${JSON.stringify(text)} is not a file index`);
    const n = Number(text);
    if (n > MAX_SELECT_INDEX) fail(`index ${n} exceeds ${MAX_SELECT_INDEX}`);
    return n;
  };
  for (const part of value.split(',')) {
    const dash = part.indexOf('-');
    if (dash < 0) {
      selected.add(index(part));
      continue;
    }
    const from = index(part.slice(0, dash));
    const to = index(part.slice(dash + 1));
    if (to < from) fail(`range ${part} is reversed`);
    for (let i = from; i <= to; i++) selected.add(i);
  }
  return [...selected].sort((a, b) => a - b);
}

/** Compress sorted unique indices into BEP 53 ranges: [0,2,4,5,6] -> "0,2,4-6". */
export function formatSelectOnly(indices: number[]): string {
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i > MAX_SELECT_INDEX) {
      throw new InvalidArgumentError(
        'ERR_INVALID_MAGNET',
        `file index ${i} is not an integer in [0, ${MAX_SELECT_INDEX}]`
      );
    }
  }
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    const start = sorted[i] as number;
    let end = start;
    while (sorted[i + 1] === end + 1) end = sorted[++i] as number;
    parts.push(end === start ? `${start}` : end === start + 1 ? `${start},${end}` : `${start}-${end}`);
    i++;
  }
  return parts.join(',');
}

/** The fields of a magnet link, before deciding which kind it is. */
interface ScannedMagnet {
  infoHash: Uint8Array | undefined;
  sawV2: boolean;
  name: string | undefined;
  selectOnly: number[] | undefined;
  peers: Address[];
  peerHosts: Address[];
  trackers: string[];
  /** BEP 46 `xs=urn:btpk:<64 hex>`. */
  publicKey: Uint8Array | undefined;
  /** BEP 46 `s=<hex>`. */
  salt: Uint8Array | undefined;
}

/**
 * Parse a magnet link. Requires one v1 infohash (`xt=urn:btih:` with 40 hex or 32 base32
 * characters); several `xt` naming the same btih are fine, different ones are rejected.
 * A BEP 46 link (`xs=urn:btpk:`, no `xt`) is parsed by parseMutableMagnet.
 */
export function parseMagnet(uri: string): Magnet {
  const m = scanMagnet(uri);
  const infoHash = m.infoHash;
  if (!infoHash) {
    invalid(
      m.publicKey
        ? 'it names a mutable torrent (xs=urn:btpk:), resolve it through the DHT first (BEP 46)'
        : m.sawV2
          ? 'only a v2 (btmh) infohash is given; v2 torrents are not supported'
          : 'missing xt=urn:btih:<infohash>'
    );
  }
  const out: Magnet = {
    infoHash,
    infoHashHex: toHex(infoHash),
    peers: m.peers,
    peerHosts: m.peerHosts,
    trackers: m.trackers
  };
  if (m.name !== undefined) out.name = m.name;
  if (m.selectOnly !== undefined) out.selectOnly = m.selectOnly;
  return out;
}

/** A BEP 46 magnet link: the key (and salt) of the mutable item that points at the torrent. */
export interface MutableMagnet {
  /** ed25519 public key, 32 bytes. */
  publicKey: Uint8Array;
  /** Up to 64 bytes; empty when the link has no `s`. */
  salt: Uint8Array;
  name?: string;
  /** `x.pe` hints that are IP literals. */
  peers: Address[];
  trackers: string[];
  selectOnly?: number[];
  /** An `xt` infohash given alongside (a starting point; the DHT item has the latest). */
  infoHash?: Uint8Array;
}

/** True when `uri` is a magnet link with a BEP 46 `xs=urn:btpk:` (whether or not it has an `xt`). */
export function isMutableMagnet(uri: string): boolean {
  return (
    typeof uri === 'string' &&
    /^\s*magnet:\?/i.test(uri) &&
    /[?&]xs(\.[0-9]+)?=urn(:|%3A)btpk(:|%3A)/i.test(uri)
  );
}

/** Parse a BEP 46 link `magnet:?xs=urn:btpk:<64 hex public key>[&s=<hex salt>]`. */
export function parseMutableMagnet(uri: string): MutableMagnet {
  const m = scanMagnet(uri);
  if (!m.publicKey) invalid('missing xs=urn:btpk:<64 hex public key> (BEP 46)');
  const out: MutableMagnet = {
    publicKey: m.publicKey,
    salt: m.salt ?? new Uint8Array(0),
    peers: m.peers,
    trackers: m.trackers
  };
  if (m.name !== undefined) out.name = m.name;
  if (m.selectOnly !== undefined) out.selectOnly = m.selectOnly;
  if (m.infoHash !== undefined) out.infoHash = m.infoHash;
  return out;
}

/** Build `magnet:?xs=urn:btpk:<hex>[&s=<hex>][&dn=]` (BEP 46). */
export function toMutableMagnet(input: { publicKey: Uint8Array; salt?: Uint8Array; name?: string }): string {
  if (!(input.publicKey instanceof Uint8Array) || input.publicKey.length !== 32)
    throw new InvalidArgumentError(
      'ERR_INVALID_MAGNET',
      'cannot build magnet link: a public key is 32 bytes'
    );
  if (input.salt && input.salt.length > 64)
    throw new InvalidArgumentError(
      'ERR_INVALID_MAGNET',
      'cannot build magnet link: a salt is at most 64 bytes'
    );
  let out = `magnet:?xs=urn:btpk:${toHex(input.publicKey)}`;
  if (input.salt?.length) out += `&s=${toHex(input.salt)}`;
  if (input.name !== undefined && input.name !== '') out += `&dn=${encodeValue(input.name)}`;
  return out;
}

/** Keys we read; the others (ws, as, kt, ...) are dropped, as BEP 9 allows. */
const KNOWN_KEYS = new Set(['xt', 'xs', 's', 'dn', 'tr', 'x.pe', 'so']);

/** A magnet-uri field: a string, an array of strings, or absent. */
function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function scanMagnet(uri: string): ScannedMagnet {
  if (typeof uri !== 'string') invalid('expected a string');
  const text = uri.trim();
  if (text.length > MAX_MAGNET_LENGTH) invalid(`longer than ${MAX_MAGNET_LENGTH} characters`);
  if (!/^magnet:\?/i.test(text)) invalid('must start with "magnet:?"');
  const query = text.slice('magnet:?'.length).split('#', 1)[0] ?? '';

  // Normalise the query for magnet-uri; keep the raw values of the keys read here.
  const forDecoder: string[] = [];
  const readHere: { dn: string[]; so: string[]; s: string[] } = { dn: [], so: [], s: [] };
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    // Keys are case-insensitive in the wild ("XT", "Dn"); `xt.1` numbered variants also exist.
    let key = (eq < 0 ? pair : pair.slice(0, eq)).toLowerCase();
    const numbered = /^(xt|xs)\.[0-9]+$/.exec(key);
    if (numbered) key = numbered[1]!;
    if (!KNOWN_KEYS.has(key)) continue;
    const raw = eq < 0 ? '' : pair.slice(eq + 1);
    decodeComponent(raw, key, false); // a bad encoding is reported here, naming the field
    if (key === 'dn' || key === 'so' || key === 's') readHere[key].push(raw);
    else forDecoder.push(`${key}=${raw.replace(/=/g, '%3D')}`);
  }
  const decoded = magnetDecode(`magnet:?${forDecoder.join('&')}`);

  let infoHash: Uint8Array | undefined;
  let sawV2 = false;
  for (const xt of list(decoded.xt)) {
    const value = decodeComponent(xt, 'xt', false); // magnet-uri leaves `xt` encoded
    const btih = /^urn:btih:(.*)$/i.exec(value);
    if (!btih) {
      if (/^urn:btmh:/i.test(value)) sawV2 = true;
      continue; // other URN types (sha1, ed2k, ...) name other networks
    }
    const hashText = btih[1] ?? '';
    let hash: Uint8Array;
    try {
      hash = parseInfoHash(hashText);
    } catch {
      return invalid(
        `xt infohash ${JSON.stringify(hashText.slice(0, 64))} is not 40 hex or 32 base32 characters`
      );
    }
    if (infoHash && toHex(infoHash) !== toHex(hash)) invalid('it names two different btih infohashes');
    infoHash = hash;
  }

  let publicKey: Uint8Array | undefined;
  for (const xs of list(decoded.xs)) {
    const btpk = /^urn:btpk:(.*)$/i.exec(xs);
    if (!btpk) continue; // other exact sources (URLs) are not ours to follow
    if (!/^[0-9a-fA-F]{64}$/.test(btpk[1] ?? '')) invalid('xs=urn:btpk: needs a 64 hex character public key');
    const key32 = fromHex(btpk[1]!);
    if (publicKey && toHex(publicKey) !== toHex(key32)) invalid('it names two different btpk keys');
    publicKey = key32;
  }

  let salt: Uint8Array | undefined;
  for (const raw of readHere.s) {
    const hex = decodeComponent(raw, 's', false);
    if (!/^([0-9a-fA-F]{2}){0,64}$/.test(hex)) invalid('s= (BEP 46 salt) must be hex, at most 64 bytes');
    salt = fromHex(hex);
  }

  const peers: Address[] = [];
  const peerHosts: Address[] = [];
  const seenPeers = new Set<string>();
  for (const raw of decoded.peerAddresses ?? []) {
    const { address, literal } = parsePeer(decodeComponent(raw, 'x.pe', false)); // left encoded
    const id = formatAddress(address);
    if (seenPeers.has(id)) continue;
    seenPeers.add(id);
    (literal ? peers : peerHosts).push(address);
  }
  const trackers = (decoded.announce ?? []).filter((t) => t !== ''); // decoded, deduplicated

  const dn = readHere.dn[0];
  const name = dn === undefined ? undefined : decodeComponent(dn, 'dn', true);
  let selectOnly: number[] | undefined;
  if (readHere.so.length > 0) {
    const selected = new Set<number>();
    for (const raw of readHere.so) {
      for (const i of parseSelectOnly(decodeComponent(raw, 'so', false))) selected.add(i);
    }
    selectOnly = [...selected].sort((a, b) => a - b);
  }
  return { infoHash, sawV2, name, selectOnly, peers, peerHosts, trackers, publicKey, salt };
}

/** Percent-encode a value, keeping the ':' that host:port and URLs are full of readable. */
function encodeValue(value: string): string {
  return encodeURIComponent(value).replace(/%3A/gi, ':');
}

export interface MagnetInput {
  infoHash: Uint8Array | string;
  name?: string;
  peers?: Address[];
  trackers?: string[];
  selectOnly?: number[];
}

/** Build `magnet:?xt=urn:btih:<hex>[&dn=][&tr=]*[&x.pe=]*[&so=]`. */
export function toMagnet(input: MagnetInput): string {
  let hash: Uint8Array;
  try {
    hash = parseInfoHash(input.infoHash);
  } catch (err) {
    throw new InvalidArgumentError(
      'ERR_INVALID_MAGNET',
      `cannot build magnet link: ${(err as Error).message}`
    );
  }
  let out = `magnet:?xt=urn:btih:${toHex(hash)}`;
  if (input.name !== undefined && input.name !== '') out += `&dn=${encodeValue(input.name)}`;
  for (const tracker of input.trackers ?? []) out += `&tr=${encodeValue(tracker)}`;
  for (const peer of input.peers ?? []) {
    if (!Number.isInteger(peer.port) || peer.port < 1 || peer.port > 65535) {
      throw new InvalidArgumentError(
        'ERR_INVALID_MAGNET',
        `cannot build magnet link: bad peer port ${peer.port}`
      );
    }
    const host = isIPv6(peer.host) ? `[${peer.host}]` : peer.host;
    out += `&x.pe=${encodeValue(`${host}:${peer.port}`)}`;
  }
  if (input.selectOnly && input.selectOnly.length > 0) out += `&so=${formatSelectOnly(input.selectOnly)}`;
  return out;
}
