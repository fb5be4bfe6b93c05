/**
 * Fill OUR node's routing table directly (benchmark-only access to a private field): the
 * public path, addNode(), pings each address, and these constructed contacts do not exist.
 * The anchor has a public addNode({id, host, port}) that inserts without a ping.
 */
import type { DHT } from '../../lib/index.js';
import type { RoutingTable } from '../../lib/routing/routing-table.js';
import type { Contact } from './contacts.js';

export function injectContacts(dht: DHT, contacts: Contact[]): void {
  const table = (dht as unknown as { table: RoutingTable }).table;
  for (const c of contacts) table.nodeSeen({ id: c.id, host: c.host, port: c.port });
}
