/**
 * What our own code spends on one flood datagram that the inbound limits drop, without the
 * socket: a node (inbound limits on, loopback not exempt) over a transport that hands it
 * datagrams directly, fed one source's pings after that source is banned. Node's dgram adds its
 * own per-datagram cost on top (a Buffer and an address object each); this is the part we
 * control. Used by bench/dht-flood.ts.
 */
import { GCProfiler } from 'node:v8';
import { DHT } from '../../lib/dht/dht.js';
import { encodeQuery } from '../../lib/krpc/codec.js';
import type { Address } from '../../lib/net/address.js';
import type { DatagramHandler, Transport } from '../../lib/net/transport.js';
import { systemClock } from '../../lib/util/clock.js';
import { seededRandom } from '../../lib/util/random.js';

export interface DropCost {
  /** Wall ns per dropped datagram (median of the rounds). */
  nsPerDatagram: number;
  /** Young-generation collections per million dropped datagrams (what they allocate, median). */
  youngGcsPerMillion: number;
}

export async function measureDropCost(datagrams = 1_000_000, rounds = 5): Promise<DropCost> {
  let handler: DatagramHandler = () => {};
  const local: Address = { host: '127.0.0.1', port: 6881 };
  const transport: Transport = {
    send: () => {},
    sendv: () => {},
    onMessage: (h) => (handler = h),
    onError: () => {},
    address: () => local,
    close: async () => {}
  };
  const dht = new DHT({
    transport,
    clock: systemClock,
    random: seededRandom(4),
    bootstrap: [],
    inboundLimits: { exempt: 'none' }
  });
  dht.on('warning', () => {});
  const ping = encodeQuery(new Uint8Array([1, 2]), { method: 'ping', id: new Uint8Array(20).fill(7) });
  const ns: number[] = [];
  const gcs: number[] = [];

  try {
    await dht.ready;
    for (let r = 0; r < rounds; r++) {
      const profiler = new GCProfiler();
      profiler.start();
      const t0 = process.hrtime.bigint();
      // A fresh address object per datagram, as the UDP transport makes one.
      for (let i = 0; i < datagrams; i++) handler(ping, { host: '198.51.100.66', port: 4000 + (i & 7) });
      ns.push(Number(process.hrtime.bigint() - t0) / datagrams);
      const young = profiler.stop().statistics.filter((g) => g.gcType === 'Scavenge').length;
      gcs.push((young * 1e6) / datagrams);
    }
  } finally {
    await dht.destroy();
  }
  const mid = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  return { nsPerDatagram: mid(ns), youngGcsPerMillion: mid(gcs) };
}
