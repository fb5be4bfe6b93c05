/**
 * Name resolution for user-given bootstrap addresses: the only DNS use of the library (every
 * other address must already be an IP literal).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { TrackerlessError } from '../errors.js';
import { isIpLiteral, type Address } from './address.js';

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
