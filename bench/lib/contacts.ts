/**
 * Constructed routing-table contents: `count` contacts, 8 per bucket, bucket b holding ids that
 * share exactly b leading bits with `localId` (b = 0, 1, 2, ...). Every bucket has room in both
 * implementations (k = 8 ours, k = 20 anchor), so both tables end up with exactly `count`
 * entries and the same ids. Addresses are 127.0.0.1 on high ports nobody listens on.
 */
import { randomIdWithPrefix } from '../../lib/id/node-id.js';
import type { RandomSource } from '../../lib/util/random.js';

export interface Contact {
  id: Uint8Array;
  host: string;
  port: number;
}

export function constructedContacts(
  localId: Uint8Array,
  count: number,
  rnd: RandomSource,
  basePort = 10_000
): Contact[] {
  const out: Contact[] = [];
  for (let i = 0; i < count; i++) {
    const bucket = Math.floor(i / 8);
    out.push({
      id: randomIdWithPrefix(localId, bucket, rnd),
      host: '127.0.0.1',
      port: basePort + (i % 20_000)
    });
  }
  return out;
}
