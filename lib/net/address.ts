/**
 * Addresses: the one `Address` type of the library (DHT nodes, peers, sockets), its text form,
 * and the parsing and validation of user-given addresses ("host:port", "[v6]:port", {host, port}).
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../errors.js';

/** A UDP/TCP endpoint. `host` is an IP literal (IPv4 dotted quad or IPv6). */
export interface Address {
  host: string;
  port: number;
}

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

/**
 * "host:port", an IPv6 host in brackets ("[::1]:6881"): the text users read, and the key of
 * every map or set of addresses (one address, one key).
 */
export function formatAddress(a: Address): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
