/**
 * What an IP address is, for the protections that treat addresses differently (issue 8):
 * its scope (loopback, local, public) and the subnet it shares with its neighbours.
 *
 * - loopback: 127.0.0.0/8 and ::1. A packet from another machine can never carry such a
 *   source (kernels drop it as "martian"), so only processes on this host use it — and test
 *   rigs put many nodes on 127.0.0.1.
 * - local: the ranges BEP 42 exempts from node-id enforcement (10/8, 172.16/12, 192.168/16,
 *   169.254/16, 127/8) plus their IPv6 counterparts (::1, fc00::/7 unique local,
 *   fe80::/10 link local).
 * - public: everything else.
 *
 * Hosts are compared as text: every address in the DHT is a canonical literal (decoded from a
 * compact record or reported by the socket), so one address has one spelling.
 */
import { parseIp } from './ip.js';

export type IpScope = 'loopback' | 'local' | 'public';

/** Which addresses a limit leaves alone: none, loopback only, or every local address. */
export type ExemptScope = 'none' | 'loopback' | 'local';

export function ipScope(host: string): IpScope {
  // IPv4 without allocating: this runs for every unsolicited datagram and table insert.
  if (!host.includes(':')) {
    const a = octet(host, 0);
    const dot = host.indexOf('.');
    const c = dot < 0 ? -1 : octet(host, dot + 1);
    if (a === 127) return 'loopback';
    if (a === 10 || (a === 172 && c >= 16 && c < 32) || (a === 192 && c === 168) || (a === 169 && c === 254))
      return 'local';
    return 'public';
  }
  const b = parseIp(host);
  if (!b) return 'public';
  if (b.every((x, i) => (i < 15 ? x === 0 : x === 1))) return 'loopback';
  if ((b[0]! & 0xfe) === 0xfc || (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80)) return 'local';
  if (isV4Mapped(b)) return ipScope(`${b[12]}.${b[13]}.${b[14]}.${b[15]}`);
  return 'public';
}

/** Is `host` inside what `exempt` leaves alone? */
export function isExempt(host: string, exempt: ExemptScope): boolean {
  if (exempt === 'none') return false;
  const scope = ipScope(host);
  return scope === 'loopback' || (exempt === 'local' && scope === 'local');
}

/** A subnet as a Map key: a number for an IPv4 /24, text otherwise. */
export type SubnetKey = string | number;

/**
 * The subnet an address shares with close neighbours: its /24 for IPv4 (as the number of its
 * first three octets: every routing-table entry and vote keeps one, and a number costs no
 * string), its /64 for IPv6 (one site or one customer, as libtorrent's routing-table and
 * lookup restrictions assume).
 */
export function subnetKey(host: string): SubnetKey {
  if (!host.includes(':')) {
    const a = octet(host, 0);
    const dot1 = host.indexOf('.');
    const b = dot1 < 0 ? -1 : octet(host, dot1 + 1);
    const dot2 = b < 0 ? -1 : host.indexOf('.', dot1 + 1);
    const c = dot2 < 0 ? -1 : octet(host, dot2 + 1);
    const dot3 = c < 0 ? -1 : host.indexOf('.', dot2 + 1);
    if (a >= 0 && a < 256 && b < 256 && c < 256 && dot3 > 0 && host.indexOf('.', dot3 + 1) < 0)
      return (a << 16) | (b << 8) | c;
    const dot = host.lastIndexOf('.');
    return dot < 0 ? host : host.slice(0, dot);
  }
  const b = parseIp(host);
  if (!b) return host;
  let key = '';
  for (let i = 0; i < 8; i++) key += b[i]!.toString(16).padStart(2, '0');
  return key;
}

/** The decimal number at `from` up to the next '.' (or the end), or -1. */
function octet(host: string, from: number): number {
  let v = 0;
  let i = from;
  for (; i < host.length && host.charCodeAt(i) !== 46; i++) {
    const d = host.charCodeAt(i) - 48;
    if (d < 0 || d > 9 || i - from > 2) return -1;
    v = v * 10 + d;
  }
  return i === from ? -1 : v;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}
