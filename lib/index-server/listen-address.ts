/** `[HOST:]PORT` as typed on a command line -> where to listen (loopback unless a host is given). */
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../errors.js';

export function parseListenAddress(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]:|([0-9.]+|localhost):)?(\d{1,5})$/.exec(value.trim());
  const host = m ? (m[1] ?? m[2] ?? '127.0.0.1') : '';
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535) || (host !== 'localhost' && isIP(host) === 0))
    throw new InvalidArgumentError(
      'ERR_INVALID_ADDRESS',
      `expected [HOST:]PORT such as 8080 or 127.0.0.1:8080, got '${value}'`
    );
  return { host, port };
}
