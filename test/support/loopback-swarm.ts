/**
 * A few real DHT nodes on a loopback address (127.0.0.1 or ::1) for swarm tests, and the
 * Swarm options those tests share: loopback only, short timeouts, fast re-queries.
 */
import { DHT } from '../../lib/dht/dht.js';
import type { Swarm, SwarmOptions } from '../../lib/swarm/swarm.js';
import { waitFor } from './wait.js';

export interface LoopbackDht {
  nodes: DHT[];
  /** "host:port" of every node ("[::1]:port" for IPv6). */
  bootstrap: string[];
  destroy(): Promise<void>;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * `count` DHT nodes on `host`, the later ones bootstrapped from the first. Their queries time
 * out after `queryTimeoutMs` (500 ms: our own nodes answer at once; the interop tests give
 * other clients longer).
 */
export async function startLoopbackDht(
  host: '127.0.0.1' | '::1',
  count = 4,
  { queryTimeoutMs = 500 }: { queryTimeoutMs?: number } = {}
): Promise<LoopbackDht> {
  const first = await DHT.create({ host, port: 0, bootstrap: [], queryTimeoutMs });
  const nodes = [first];
  const boot = [hostPort(host, first.address().port)];
  for (let i = 1; i < count; i++)
    nodes.push(await DHT.create({ host, port: 0, bootstrap: boot, queryTimeoutMs }));
  return {
    nodes,
    bootstrap: nodes.map((d) => hostPort(host, d.address().port)),
    destroy: async () => {
      await Promise.all(nodes.map((d) => d.destroy()));
    }
  };
}

/** Options every loopback swarm of the tests shares. */
export function loopbackSwarmOptions(
  host: '127.0.0.1' | '::1',
  bootstrap: string[]
): Pick<SwarmOptions, 'bootstrap' | 'dhtOptions' | 'listen' | 'discovery' | 'engineOptions'> {
  return {
    bootstrap,
    dhtOptions: { host, port: 0, queryTimeoutMs: 500 },
    listen: { host, port: 0 },
    discovery: { requeryMs: 1000, requeryMaxMs: 2000, idlePollMs: 500 },
    engineOptions: { tickMs: 250 }
  };
}

/**
 * Wait until `swarm`'s DHT node has sent an announce_peer (on loopback a sent datagram
 * arrives). A first announce can fail when every reply to its get_peers is late (a loaded
 * machine); the swarm then tries again after its requery delay.
 */
export async function waitForAnnounce(swarm: Swarm, timeoutMs = 30_000): Promise<void> {
  await waitFor('the seeder announce', () => (swarm.dht!.stats().queriesOut['announce_peer'] ?? 0) > 0, {
    timeoutMs,
    intervalMs: 100
  });
}
