/**
 * Wiring of the crawler core to a DHT node: the query is `dht.sampleInfohashes`, seeds come
 * from its routing table, passive records from its 'infohash' event, and the node's own
 * address/id is excluded. The DHT must be ready (bound) before this is called.
 */
import type { DHT } from '../dht/dht.js';
import type { Address } from '../net/address.js';
import type { NodeInfo } from '../krpc/types.js';
import { bytesEqual } from '../util/bytes.js';
import { Crawler } from './crawler.js';
import { type CrawlerOptions } from './options.js';
import type { SampleQuery } from './types.js';

export interface DhtCrawlerOptions extends Omit<CrawlerOptions, 'query' | 'seeds' | 'isSelf' | 'passive'> {
  /** Record infohashes seen in get_peers / announce_peer sent to our node (default true). */
  passive?: boolean;
}

/** The crawler's query over a DHT node's public API (one KRPC query, no lookup). */
export function dhtSampleQuery(dht: DHT): SampleQuery {
  return async (node, target, signal) => {
    const r = await dht.sampleInfohashes(node, target, { signal });
    // A node without BEP 51 (no `samples`) is reported as such, not as an empty one: the
    // crawler counts it as unsupported and revisits it only after the longest BEP 51 interval.
    if (!r.supported) return { id: r.id, nodes: r.nodes };
    return { id: r.id, samples: r.samples, num: r.num, interval: r.interval, nodes: r.nodes };
  };
}

/** A crawler that queries through `dht`. Call `start()` on it; `stop()` leaves the DHT running. */
export function createDhtCrawler(dht: DHT, opts: DhtCrawlerOptions): Crawler {
  const own = dht.address();
  const isSelf = (a: Address & { id?: Uint8Array }): boolean =>
    (a.port === own.port && (a.host === own.host || own.host === '0.0.0.0' || own.host === '::')) ||
    (a.id !== undefined && bytesEqual(a.id, dht.nodeId));
  const { passive = true, ...rest } = opts;
  return new Crawler({
    ...rest,
    query: dhtSampleQuery(dht),
    seeds: () => dht.nodes(),
    isSelf,
    ...(passive
      ? {
          passive: (record) => {
            const listener = (ih: Uint8Array, kind: 'get_peers' | 'announce_peer', _from: NodeInfo): void =>
              record(ih, kind);
            dht.on('infohash', listener);
            return () => dht.off('infohash', listener);
          }
        }
      : {})
  });
}
