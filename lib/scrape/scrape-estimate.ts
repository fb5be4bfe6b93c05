/**
 * BEP 33 distributed counting: the scrape filters of the nodes closest to an infohash are ORed
 * together (each node saw only the announces that reached it), and the size of each union is
 * the estimate of seeders and of other peers (leechers).
 *
 * Rules from the BEP:
 * - A reply with `values` but no filters (a node without BEP 33) counts as a peer filter built
 *   locally, leaving out IPs the seed filters of other nodes already hold, so that no peer is
 *   counted as a seed and a leecher at once.
 * - Filters near saturation are not trusted ("checking if they are not full (within the 6000
 *   entry limit)"): one lying or overloaded node must not turn the union into "everything".
 */
import type { Address } from '../net/address.js';
import { parseIp } from '../net/ip.js';
import { ScrapeBloomFilter } from './bloom-filter.js';

/** BEP 33: stores keep max(seeds, peers) below 6,000; a filter estimating more is discarded. */
export const MAX_TRUSTED_FILTER_ESTIMATE = 6_000;

/** What one node answered to a get_peers with scrape=1. */
export interface ScrapeReply {
  BFsd?: Uint8Array | undefined;
  BFpe?: Uint8Array | undefined;
  values?: readonly Address[] | undefined;
}

export interface ScrapeEstimate {
  /** Estimated distinct seeding IPs. */
  seeders: number;
  /** Estimated distinct non-seeding IPs. */
  leechers: number;
  /** Replies that contributed (filters, or legacy values). */
  nodes: number;
}

/** Combine the replies of the nodes closest to one infohash into one estimate. */
export function combineScrapes(replies: readonly ScrapeReply[]): ScrapeEstimate {
  const seeds = new ScrapeBloomFilter();
  const peers = new ScrapeBloomFilter();
  const legacy: Uint8Array[] = [];
  let nodes = 0;
  for (const reply of replies) {
    const sd = trusted(reply.BFsd);
    const pe = trusted(reply.BFpe);
    if (sd || pe) {
      if (sd) seeds.union(sd);
      if (pe) peers.union(pe);
      nodes++;
    } else if (reply.BFsd === undefined && reply.BFpe === undefined && reply.values?.length) {
      for (const v of reply.values) {
        const ip = parseIp(v.host);
        if (ip) legacy.push(ip);
      }
      nodes++;
    }
  }
  // After every seed filter is in: an IP some node knows as a seed is not also a leecher.
  for (const ip of legacy) if (!seeds.mayContainIp(ip)) peers.insertIp(ip);
  return { seeders: seeds.estimate(), leechers: peers.estimate(), nodes };
}

function trusted(bytes: Uint8Array | undefined): ScrapeBloomFilter | undefined {
  if (bytes?.length !== 256) return undefined;
  const filter = new ScrapeBloomFilter(bytes);
  return filter.estimate() <= MAX_TRUSTED_FILTER_ESTIMATE ? filter : undefined;
}
