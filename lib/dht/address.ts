/**
 * Parsing and validation of user-given addresses ("host:port", "[v6]:port", {host, port}).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { InvalidArgumentError, TrackerlessError } from '../errors.js';
import type { Address } from '../krpc/types.js';

export function validatePort(port: unknown, what = 'port', allowZero = false): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw new InvalidArgumentError(
      'ERR_INVALID_PORT',
      `${what} must be an integer ${allowZero ? 0 : 1}-65535, got ${String(port)}`
    );
  }
  return port;
}

/** Parse "host:port" / "[v6]:port" or an {host, port} object. Hostnames are allowed here. */
export function parseHostPort(input: string | Address): Address {
  if (typeof input === 'object' && input !== null) {
    if (typeof input.host !== 'string' || input.host.length === 0) {
      throw new InvalidArgumentError('ERR_INVALID_ADDRESS', 'address host must be a non-empty string');
    }
    return { host: input.host, port: validatePort(input.port) };
  }
  if (typeof input !== 'string')
    throw new InvalidArgumentError('ERR_INVALID_ADDRESS', 'address must be "host:port"');
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(input) ?? /^([^:\s]+):(\d{1,5})$/.exec(input);
  if (!m)
    throw new InvalidArgumentError(
      'ERR_INVALID_ADDRESS',
      `expected "host:port", got ${JSON.stringify(input)}`
    );
  return { host: m[1]!, port: validatePort(Number(m[2]), `port in ${JSON.stringify(input)}`) };
}

export function isIpLiteral(host: string): boolean {
  return isIP(host) !== 0;
}

export function formatAddress(a: Address): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Bootstrap entries kept (a user list longer than this is a mistake, not a need). */
const MAX_BOOTSTRAP = 16;

/** Resolve bootstrap hostnames to addresses of `family`; unresolvable ones are reported and skipped. */
export async function resolveBootstrap(
  list: Address[],
  family: 4 | 6,
  warn: (err: Error) => void
): Promise<Address[]> {
  const out: Address[] = [];
  for (const a of list.slice(0, MAX_BOOTSTRAP)) {
    if (isIpLiteral(a.host)) {
      out.push(a);
      continue;
    }
    try {
      const { address } = await dnsLookup(a.host, { family });
      out.push({ host: address, port: a.port });
    } catch (err) {
      warn(new TrackerlessError('ERR_INVALID_ADDRESS', `cannot resolve bootstrap ${a.host}`, { cause: err }));
    }
  }
  return out;
}
