/**
 * Parsers for command-line values. Each throws commander's InvalidArgumentError, so commander
 * reports `trackerless: error: option '--port <port>' argument 'x' is invalid. <why>` and the
 * program exits with code 2. They validate with the library's own parsers, so the CLI accepts
 * exactly what the API accepts.
 */
import { InvalidArgumentError } from 'commander';
import { isIP } from 'node:net';
import { formatAddress, parseHostPort } from '../net/address.js';
import { parseInfoHash } from '../id/node-id.js';
import { parseMagnet } from '../magnet/magnet.js';

/** Longest wait a --timeout / --stats-interval may ask for, seconds (one day). */
const MAX_SECONDS = 86_400;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A port number: 1-65535, or 0 ("any free port") when `allowZero`. Digits only. */
export function portParser(allowZero: boolean): (value: string) => number {
  return (value) => {
    const port = /^[0-9]{1,5}$/.test(value) ? Number(value) : NaN;
    if (!(port >= (allowZero ? 0 : 1) && port <= 65535)) {
      throw new InvalidArgumentError(`expected a port number ${allowZero ? 0 : 1}-65535.`);
    }
    return port;
  };
}

/** The address to bind: an IP literal (the DHT never resolves names for its own socket). */
export function parseBindHost(value: string): string {
  if (isIP(value) === 0)
    throw new InvalidArgumentError('expected an IP address such as 127.0.0.1 or 0.0.0.0.');
  return value;
}

/**
 * Repeatable `--bootstrap host:port` (also comma-separated). Collects normalised "host:port"
 * strings. A `false` previous value (from `--no-bootstrap` earlier on the line) starts over:
 * the last of the two wins, as commander does for --foo / --no-foo.
 */
export function collectBootstrap(value: string, previous: string[] | false | undefined): string[] {
  const list = Array.isArray(previous) ? [...previous] : [];
  for (const part of value.split(',')) {
    const text = part.trim();
    if (text === '') continue;
    try {
      list.push(formatAddress(parseHostPort(text)));
    } catch (err) {
      throw new InvalidArgumentError(`${messageOf(err)} (e.g. 127.0.0.1:6881).`);
    }
  }
  if (list.length === 0) throw new InvalidArgumentError('expected host:port, e.g. 127.0.0.1:6881.');
  return list;
}

/** A duration in seconds: a positive number (fractions allowed), or 0 when `allowZero`. */
export function secondsParser(allowZero: boolean): (value: string) => number {
  return (value) => {
    const s = /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : NaN;
    if (!(s >= 0) || (!allowZero && s === 0) || s > MAX_SECONDS) {
      throw new InvalidArgumentError(
        `expected a number of seconds${allowZero ? ' (0 = off)' : ' above 0'}, at most ${MAX_SECONDS}.`
      );
    }
    return s;
  };
}

/** An infohash (40 hex or 32 base32 characters) or a magnet link carrying one: 20 bytes. */
export function parseTarget(value: string): Uint8Array {
  try {
    return /^magnet:/i.test(value) ? parseMagnet(value).infoHash : parseInfoHash(value);
  } catch (err) {
    throw new InvalidArgumentError(messageOf(err));
  }
}

/** A BEP 44 sequence number (or cas): a non-negative integer below 2^53. */
export function seqParser(value: string): number {
  const n = /^[0-9]{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('expected an integer 0-9007199254740991.');
  return n;
}

/** A BEP 44 salt given as text: at most 64 bytes of UTF-8. */
export function saltParser(value: string): string {
  if (Buffer.byteLength(value) > 64) throw new InvalidArgumentError('a salt is at most 64 bytes.');
  return value;
}

/** What `get` looks up: a 40-hex immutable target or a 64-hex public key (mutable). */
export function parseItemKey(value: string): { kind: 'immutable' | 'mutable'; key: Uint8Array } {
  if (/^[0-9a-fA-F]{40}$/.test(value)) return { kind: 'immutable', key: Buffer.from(value, 'hex') };
  if (/^[0-9a-fA-F]{64}$/.test(value)) return { kind: 'mutable', key: Buffer.from(value, 'hex') };
  throw new InvalidArgumentError('expected a 40-hex target (immutable) or a 64-hex public key (mutable).');
}

/** `--piece-length <KiB>`: a power of two in KiB, 16-65536; returns bytes. */
export function pieceLengthParser(value: string): number {
  const kib = /^[0-9]{2,5}$/.test(value) ? Number(value) : NaN;
  if (!(kib >= 16 && kib <= 65536 && (kib & (kib - 1)) === 0)) {
    throw new InvalidArgumentError('expected a power of two in KiB, 16-65536.');
  }
  return kib * 1024;
}
