/**
 * Which network interfaces local service discovery runs on.
 *
 * By default only interfaces that are not on the public Internet: an IPv4 interface whose
 * addresses are private (10/8, 172.16/12, 192.168/16) or link-local (169.254/16); an IPv6
 * interface whose addresses are unique-local (fc00::/7) or link-local (fe80::/10). An interface
 * holding any public address is left out (its announces would tell strangers what we download),
 * and so is loopback. The user may name interfaces or addresses instead, and then gets exactly
 * those, whatever their addresses.
 *
 * An announce is taken only from a source inside one of the interface's subnets (IPv6
 * link-local sources always qualify): the UDP source is where the peer will be dialled, and a
 * source outside the LAN did not come from it.
 */
import { networkInterfaces } from 'node:os';
import { parseIp } from '../net/ip.js';
import { InvalidArgumentError } from '../errors.js';

/** One address of a network interface (what the OS reports, normalised). */
export interface InterfaceAddress {
  /** Interface name (eth0, en0, ...). */
  name: string;
  address: string;
  family: 4 | 6;
  prefixLength: number;
  /** Loopback. */
  internal: boolean;
}

/** An interface LSD runs on, for one address family. */
export interface LsdInterface {
  name: string;
  family: 4 | 6;
  /**
   * What the socket joins the group and sends on: the IPv4 address, or '::%name' for IPv6
   * (the interface by name; IPv6 multicast is per interface, not per address).
   */
  multicastInterface: string;
  /** Subnets announces are accepted from. */
  subnets: { address: string; prefixLength: number }[];
}

/**
 * 'local' (the default: private and link-local interfaces only), or a list of interface
 * names and IP addresses to run on.
 */
export type InterfaceChoice = 'local' | readonly string[];

/** The machine's interface addresses (node:os), normalised. */
export function systemInterfaces(): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  for (const [name, list] of Object.entries(networkInterfaces())) {
    for (const a of list ?? []) {
      const prefixLength = Number(a.cidr?.split('/')[1] ?? (a.family === 'IPv4' ? 32 : 128));
      out.push({
        name,
        address: a.address,
        family: a.family === 'IPv4' ? 4 : 6,
        prefixLength,
        internal: a.internal
      });
    }
  }
  return out;
}

/** The interfaces (one entry per interface and family) `choice` selects among `all`. */
export function chooseInterfaces(all: readonly InterfaceAddress[], choice: InterfaceChoice): LsdInterface[] {
  let picked: InterfaceAddress[];
  if (choice === 'local') {
    const exposed = new Set(
      all.filter((a) => !a.internal && addressScope(a.address) === 'public').map((a) => a.name)
    );
    picked = all.filter((a) => !a.internal && !exposed.has(a.name) && addressScope(a.address) !== 'public');
  } else {
    for (const want of choice) {
      if (!all.some((a) => a.name === want || a.address === want))
        throw new InvalidArgumentError('ERR_INVALID_ADDRESS', `no network interface or address "${want}"`);
    }
    const byAddress = new Set(choice.filter((c) => parseIp(c) !== undefined));
    const byName = new Set(choice.filter((c) => parseIp(c) === undefined));
    picked = all.filter((a) => byName.has(a.name) || byAddress.has(a.address));
  }
  const out = new Map<string, LsdInterface>();
  for (const a of picked) {
    const key = `${a.family}/${a.name}`;
    let entry = out.get(key);
    if (!entry) {
      entry = {
        name: a.name,
        family: a.family,
        multicastInterface: a.family === 4 ? a.address : `::%${a.name}`,
        subnets: []
      };
      out.set(key, entry);
    }
    entry.subnets.push({ address: a.address, prefixLength: a.prefixLength });
  }
  return [...out.values()];
}

/** Does an announce from `host` belong on `iface`? */
export function acceptsSource(iface: LsdInterface, host: string): boolean {
  const bare = host.split('%')[0]!;
  const bytes = parseIp(bare);
  if (!bytes || (bytes.length === 4) !== (iface.family === 4)) return false;
  if (iface.family === 6 && isLinkLocal6(bytes)) return true;
  return iface.subnets.some((s) => inPrefix(bytes, s.address, s.prefixLength));
}

/** 'loopback', 'local' (private, unique-local or link-local) or 'public'. */
export function addressScope(host: string): 'loopback' | 'local' | 'public' {
  const b = parseIp(host.split('%')[0]!);
  if (!b) return 'public';
  if (b.length === 4) {
    const [x, y] = [b[0]!, b[1]!];
    if (x === 127) return 'loopback';
    if (x === 10 || (x === 172 && y >= 16 && y < 32) || (x === 192 && y === 168) || (x === 169 && y === 254))
      return 'local';
    return 'public';
  }
  if (b.every((v, i) => v === (i === 15 ? 1 : 0))) return 'loopback';
  if ((b[0]! & 0xfe) === 0xfc || isLinkLocal6(b)) return 'local';
  return 'public';
}

function isLinkLocal6(b: Uint8Array): boolean {
  return b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
}

function inPrefix(bytes: Uint8Array, network: string, prefixLength: number): boolean {
  const net = parseIp(network.split('%')[0]!);
  if (!net || net.length !== bytes.length) return false;
  let bits = Math.max(0, Math.min(prefixLength, bytes.length * 8));
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i]! & mask) !== (net[i]! & mask)) return false;
  }
  return true;
}
