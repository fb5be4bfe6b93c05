/**
 * BEP 33 DHT scrape: a get_peers walk with scrape=1 to the infohash, then the filters of the
 * k closest responders combined (scrape/scrape-estimate.ts). No peer is contacted.
 */
import type { NodeLookups } from './node-lookups.js';
import type { ScrapeResult } from './types.js';
import { combineScrapes, type ScrapeReply } from '../scrape/scrape-estimate.js';
import { AbortError } from '../errors.js';
import { toHex } from '../util/bytes.js';

export async function runScrape(
  lookups: NodeLookups,
  localId: Uint8Array,
  infoHash: Uint8Array,
  signal?: AbortSignal
): Promise<ScrapeResult> {
  // Only replies that carry something are kept (at most 2 x 256 B each, one per responder).
  const replies = new Map<string, ScrapeReply>();
  const lookup = await lookups.run(
    infoHash,
    {
      query: { method: 'get_peers', id: localId, infoHash, scrape: true },
      onReply: (body, from) => {
        if (body.BFsd || body.BFpe || body.values?.length)
          replies.set(toHex(from.id), { BFsd: body.BFsd, BFpe: body.BFpe, values: body.values });
      }
    },
    signal
  );
  if (lookup.aborted) throw new AbortError();
  const closest: ScrapeReply[] = [];
  for (const r of lookup.closest) {
    const reply = replies.get(toHex(r.node.id));
    if (reply) closest.push(reply);
  }
  return { ...combineScrapes(closest), lookup };
}
