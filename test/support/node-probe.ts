/**
 * One DHT node on the simulated network (virtual time) and hand-made clients that query it
 * from addresses of their own: server rules checked datagram by datagram.
 */
import { SimNetwork } from '../../lib/testing/sim-network.js';
import { DHT } from '../../lib/dht/dht.js';
import type { DhtOptions } from '../../lib/dht/options.js';
import { decodeMessage, encodeQuery } from '../../lib/krpc/codec.js';
import type { Message, Query, ResponseBody } from '../../lib/krpc/types.js';
import { seededRandom } from '../../lib/util/random.js';

export interface ProbeClient {
  id: Uint8Array;
  host: string;
  /** Send `query` (or raw bytes) and return what came back for it (undefined: no answer). */
  ask(query: Query | Uint8Array): Promise<Message | undefined>;
  /** Like ask, but the reply must be a response: its body. */
  body(query: Query): Promise<ResponseBody>;
  /** Size in bytes of the last datagram received. */
  lastSize(): number;
}

/**
 * One DHT node on a fresh simulated network (5 ms links, seeded by `seeds.net`), no bootstrap,
 * bound and ready; `rnd` (seeded by `seeds.random`) is its random source, shared with the test.
 */
export async function simNode(extra: Partial<DhtOptions>, seeds: { net: number; random: number }) {
  const net = new SimNetwork({ seed: seeds.net, latencyMs: 5 });
  const rnd = seededRandom(seeds.random);
  const dht = new DHT({
    transport: net.createTransport(),
    clock: net.clock,
    random: rnd,
    bootstrap: [],
    ...extra
  });
  await net.runFor(1);
  await dht.ready;
  return { net, dht, rnd };
}

export async function probeNode(extra: Partial<DhtOptions> = {}, seed = 3) {
  const { net, dht, rnd } = await simNode(extra, { net: seed, random: seed * 7 + 1 });
  let tidCounter = 0;

  /** A client with its own address (a new host each time unless `host` is given). */
  const client = (host?: string): ProbeClient => {
    const transport = net.createTransport(host, host === undefined ? undefined : 0);
    const id = rnd.bytes(20);
    const received: Array<{ message: Message; size: number }> = [];
    transport.onMessage((data) => {
      const d = decodeMessage(data);
      if (d.ok && d.message.type !== 'query') received.push({ message: d.message, size: data.length });
    });
    const ask = async (query: Query | Uint8Array): Promise<Message | undefined> => {
      const tid = Uint8Array.of(0xee, ++tidCounter & 0xff, tidCounter >> 8);
      transport.send(query instanceof Uint8Array ? query : encodeQuery(tid, query), dht.address());
      await net.runFor(50);
      const hit = received.findLast((r) => Buffer.from(r.message.tid).equals(Buffer.from(tid)));
      return query instanceof Uint8Array ? received.at(-1)?.message : hit?.message;
    };
    return {
      id,
      host: transport.address().host,
      ask,
      async body(query) {
        const m = await ask(query);
        if (m?.type !== 'response') throw new Error(`expected a response, got ${JSON.stringify(m)}`);
        return m.body;
      },
      lastSize: () => received.at(-1)?.size ?? 0
    };
  };
  return { net, dht, rnd, client };
}
