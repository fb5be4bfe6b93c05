/**
 * Fill OUR node's routing table directly (benchmark-only access to a private field): the
 * public path, addNode(), pings each address, and these constructed contacts do not exist.
 * The anchor has a public addNode({id, host, port}) that inserts without a ping.
 */
import type { DHT } from '../../lib/index.js';
import type { RoutingTable } from '../../lib/routing/routing-table.js';
import type { PeerStore } from '../../lib/store/peer-store.js';
import type { Contact } from './contacts.js';

/** The part of a DHT's private NodeCore (lib/dht/node-core.ts) these helpers reach. */
type CoreOf = { core?: { table?: RoutingTable; peers?: PeerStore } };

export function injectContacts(dht: DHT, contacts: Contact[]): void {
  const table = (dht as unknown as CoreOf).core?.table;
  if (!table || typeof table.nodeSeen !== 'function')
    throw new Error('bench: DHT.core.table (RoutingTable) not found: update bench/lib/inject.ts');
  for (const c of contacts) table.nodeSeen({ id: c.id, host: c.host, port: c.port });
}

/** OUR node's peer store (benchmark-only access to a private field). */
export function peerStoreOf(dht: DHT): PeerStore {
  const store = (dht as unknown as CoreOf).core?.peers;
  if (!store || typeof store.add !== 'function')
    throw new Error('bench: DHT.core.peers (PeerStore) not found: update bench/lib/inject.ts');
  return store;
}
