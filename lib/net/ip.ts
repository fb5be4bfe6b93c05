/**
 * IP literals as bytes and back: a tiny pure parser and formatter, so wire formats (KRPC, PEX,
 * holepunch, scrape filters) and policies (BEP 42, subnets) need no node:net.
 *
 * Family is purely syntactic: a host containing ':' is IPv6 (16 bytes), so an IPv4-mapped
 * literal like "::ffff:1.2.3.4" stays IPv6. Normalising those is the transport's job.
 */
import { InvalidArgumentError } from '../errors.js';

export type IpFamily = 4 | 6;

/**
 * An IP address parsed once for compact records: IPv4 as a 32-bit integer (signed: no
 * allocation per address), IPv6 as its 16 bytes (see `packIp`).
 */
export type PackedIp = number | Uint8Array;

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * Parse an IPv4 dotted quad (no leading zeros, like node's net.isIPv4) into an unsigned
 * 32-bit number, or -1. Hand-rolled and allocation-free: it runs for the requester's address
 * in every reply we send.
 */
function parseIpv4Number(host: string): number {
  let result = 0;
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= host.length; i++) {
    const c = i < host.length ? host.charCodeAt(i) : 46; // treat the end as a final '.'
    if (c === 46) {
      if (digits === 0 || part > 3) return -1;
      result = result * 256 + value; // not `<<`: that would go negative above 127.x.x.x
      part++;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return -1; // leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return -1;
    } else {
      return -1;
    }
  }
  return part === 4 ? result : -1;
}

function parseIpv4(host: string): Uint8Array | undefined {
  const n = parseIpv4Number(host);
  return n < 0 ? undefined : new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

/** Parse an IPv6 literal (with optional '::' and trailing dotted quad; no zone id). */
function parseIpv6(host: string): Uint8Array | undefined {
  const halves = host.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  const words: number[] = [];
  const tailWords: number[] = [];
  const all = [...head.map((g) => ({ g, into: words })), ...tail.map((g) => ({ g, into: tailWords }))];
  for (let i = 0; i < all.length; i++) {
    const { g, into } = all[i]!;
    const isLast = i === all.length - 1 && (halves.length === 1 || tail.length > 0);
    if (isLast && g.includes('.')) {
      // An embedded IPv4 address is only allowed as the last 32 bits (never before '::').
      const v4 = parseIpv4(g);
      if (!v4) return undefined;
      into.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    } else if (HEX_GROUP.test(g)) {
      into.push(parseInt(g, 16));
    } else {
      return undefined;
    }
  }
  const total = words.length + tailWords.length;
  if (halves.length === 2) {
    if (total > 7) return undefined; // '::' must stand for at least one zero group
    while (words.length + tailWords.length < 8) words.push(0);
  } else if (total !== 8) {
    return undefined;
  }
  words.push(...tailWords);
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** Bytes of an IP literal (4 for IPv4, 16 for IPv6), or undefined if it is not one. */
export function parseIp(host: string): Uint8Array | undefined {
  if (typeof host !== 'string' || host.length > 45) return undefined; // 45 = longest IPv6 text
  return host.includes(':') ? parseIpv6(host) : parseIpv4(host);
}

/**
 * `host` parsed once for compact records (see PackedIp): an IPv4 literal as a number (no
 * allocation), IPv6 as 16 bytes, undefined when it is not an IP literal.
 */
export function packIp(host: string): PackedIp | undefined {
  if (typeof host !== 'string' || host.length > 45) return undefined;
  if (host.includes(':')) return parseIpv6(host);
  const n = parseIpv4Number(host);
  // As a signed 32-bit value: a small integer to V8 (never a boxed heap number); the writer
  // takes bytes out with shifts and masks, which read the sign bit as the top address bit.
  return n < 0 ? undefined : n | 0;
}

/** Text form of a packed IPv4 address (the number `packIp` makes). */
export function formatIpv4(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}

/** Write a packed IP (4 or 16 bytes) at `pos`; returns the position after it. */
export function writePackedIp(out: Uint8Array, pos: number, ip: PackedIp): number {
  if (typeof ip === 'number') {
    out[pos] = ip >>> 24;
    out[pos + 1] = (ip >>> 16) & 0xff;
    out[pos + 2] = (ip >>> 8) & 0xff;
    out[pos + 3] = ip & 0xff;
    return pos + 4;
  }
  out.set(ip, pos);
  return pos + ip.length;
}

/** 4, 6, or undefined when `host` is not an IP literal we can put in a compact record. */
export function ipFamily(host: string): IpFamily | undefined {
  const bytes = parseIp(host);
  return bytes === undefined ? undefined : bytes.length === 4 ? 4 : 6;
}

/**
 * Text form of 4 or 16 address bytes. IPv6 uses the same canonical compressed form as libuv's
 * inet_ntop (what node's dgram reports as rinfo.address), so decoded hosts compare equal to
 * transport addresses: longest run (>= 2) of zero groups becomes '::' (first one on ties),
 * lowercase hex, and a dotted quad for "::a.b.c.d" and "::ffff:a.b.c.d".
 */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16)
    throw new InvalidArgumentError('ERR_INVALID_ADDRESS', `IP must be 4 or 16 bytes, got ${bytes.length}`);
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0));
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  const v4Tail = (): string => `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  if (bestBase === 0 && bestLen === 6) return `::${v4Tail()}`;
  if (bestBase === 0 && bestLen === 5 && words[5] === 0xffff) return `::ffff:${v4Tail()}`;
  const parts: string[] = [];
  for (let i = 0; i < 8; i++) {
    if (i === bestBase) {
      parts.push(i === 0 ? ':' : '');
      i += bestLen - 1;
      if (i === 7) parts.push('');
      continue;
    }
    parts.push((words[i] ?? 0).toString(16));
  }
  return parts.join(':');
}
