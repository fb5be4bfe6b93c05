/**
 * BEP 33 on one node and in the combiner: seed flags stored per IP, scrape=1 answered with
 * BFsd/BFpe only when something is stored, replies within 1024 bytes, and the union rules
 * (legacy `values`, saturated filters).
 */
import { describe, expect, it } from '@jest/globals';
import { probeNode } from '../support/node-probe.js';
import { PeerStore } from '../../lib/store/peer-store.js';
import { ScrapeBloomFilter } from '../../lib/scrape/bloom-filter.js';
import { combineScrapes } from '../../lib/scrape/scrape-estimate.js';
import { parseIp } from '../../lib/net/ip.js';
import { FakeClock } from '../support/fake-clock.js';

const IH = new Uint8Array(20).fill(0xab);
const ip = (host: string): Uint8Array => parseIp(host)!;

describe('peer store scrape filters', () => {
  it('puts seeds and other peers in their own filters, by IP, live entries only', () => {
    const clock = new FakeClock();
    const store = new PeerStore({ clock, ttlMs: 1000 });
    expect(store.scrapeFilters(IH)).toBeUndefined();
    store.add(IH, { host: '10.0.0.1', port: 1 }, true);
    store.add(IH, { host: '10.0.0.2', port: 2 }, false);
    store.add(IH, { host: '10.0.0.2', port: 3 }, false); // same IP, another port: one entry in the filter
    clock.advance(600);
    store.add(IH, { host: '2001:db8::5', port: 4 }, false);
    const f = store.scrapeFilters(IH)!;
    expect(f.seeds.mayContainIp(ip('10.0.0.1'))).toBe(true);
    expect(f.peers.mayContainIp(ip('10.0.0.1'))).toBe(false);
    expect(f.peers.mayContainIp(ip('10.0.0.2'))).toBe(true);
    expect(f.peers.mayContainIp(ip('2001:db8::5'))).toBe(true);
    expect(Math.round(f.peers.estimate())).toBe(2);
    clock.advance(500); // the first three expired
    const later = store.scrapeFilters(IH)!;
    expect(later.seeds.isEmpty()).toBe(true);
    expect(Math.round(later.peers.estimate())).toBe(1);
    clock.advance(1000);
    expect(store.scrapeFilters(IH)).toBeUndefined();
  });
});

describe('combineScrapes', () => {
  const filterOf = (hosts: string[]): Uint8Array => {
    const f = new ScrapeBloomFilter();
    for (const h of hosts) f.insertIp(ip(h));
    return f.bytes;
  };
  const hosts = (n: number, prefix: string): string[] =>
    Array.from({ length: n }, (_, i) => `${prefix}.${i >> 8}.${i & 255}`);

  it('ORs the filters: overlapping stores count each IP once', () => {
    const seeds = hosts(40, '10.1');
    const peers = hosts(100, '10.2');
    const est = combineScrapes([
      { BFsd: filterOf(seeds.slice(0, 30)), BFpe: filterOf(peers.slice(0, 70)) },
      { BFsd: filterOf(seeds.slice(10)), BFpe: filterOf(peers.slice(30)) },
      {} // a node with nothing for the infohash
    ]);
    expect(est.nodes).toBe(2);
    expect(Math.abs(est.seeders - 40)).toBeLessThanOrEqual(2);
    expect(Math.abs(est.leechers - 100)).toBeLessThanOrEqual(5);
  });

  it('counts legacy values as peers, except IPs another node reports as seeds', () => {
    const est = combineScrapes([
      { BFsd: filterOf(['10.0.0.1', '10.0.0.2']), BFpe: filterOf([]) },
      {
        values: [
          { host: '10.0.0.1', port: 1 },
          { host: '10.0.0.3', port: 1 },
          { host: '10.0.0.4', port: 1 }
        ]
      }
    ]);
    expect(Math.round(est.seeders)).toBe(2);
    expect(Math.round(est.leechers)).toBe(2);
    expect(est.nodes).toBe(2);
  });

  it('ignores a saturated filter (one lying node cannot claim the whole internet)', () => {
    const est = combineScrapes([
      { BFsd: new Uint8Array(256).fill(0xff), BFpe: new Uint8Array(256).fill(0xff) },
      { BFsd: filterOf(['10.0.0.1']), BFpe: filterOf(['10.0.0.2', '10.0.0.3']) }
    ]);
    expect(Math.round(est.seeders)).toBe(1);
    expect(Math.round(est.leechers)).toBe(2);
    expect(est.nodes).toBe(1);
  });
});

describe('a node answering scrape=1 (BEP 33)', () => {
  it('adds BFsd/BFpe only when asked and only when it stores the infohash', async () => {
    const { dht, client } = await probeNode();
    const asker = client();
    const getPeers = { method: 'get_peers' as const, id: asker.id, infoHash: IH, scrape: true };
    const empty = await asker.body(getPeers);
    expect(empty.BFsd).toBeUndefined();
    expect(empty.BFpe).toBeUndefined();

    // 5 seeds and 12 leechers announce, each from its own IP.
    for (let i = 0; i < 17; i++) {
      const peer = client();
      const { token } = await peer.body({ method: 'get_peers', id: peer.id, infoHash: IH });
      const ok = await peer.body({
        method: 'announce_peer',
        id: peer.id,
        infoHash: IH,
        port: 6000 + i,
        token: token!,
        impliedPort: false,
        seed: i < 5
      });
      expect(ok.id).toEqual(dht.nodeId);
    }
    const plain = await asker.body({ method: 'get_peers', id: asker.id, infoHash: IH });
    expect(plain.BFsd).toBeUndefined();
    expect(plain.values).toHaveLength(17);

    const scraped = await asker.body(getPeers);
    expect(Math.round(new ScrapeBloomFilter(scraped.BFsd).estimate())).toBe(5);
    expect(Math.round(new ScrapeBloomFilter(scraped.BFpe).estimate())).toBe(12);
    expect(scraped.values!.length).toBeGreaterThan(0); // values still come, trimmed to fit
    await dht.destroy();
  });

  it('keeps a scrape reply within 1024 bytes with 200 stored peers', async () => {
    const { dht, client } = await probeNode();
    for (let i = 0; i < 200; i++) {
      const peer = client();
      const { token } = await peer.body({ method: 'get_peers', id: peer.id, infoHash: IH });
      await peer.ask({
        method: 'announce_peer',
        id: peer.id,
        infoHash: IH,
        port: 1 + i,
        token: token!,
        impliedPort: false,
        seed: i % 3 === 0
      });
    }
    const asker = client();
    const body = await asker.body({ method: 'get_peers', id: asker.id, infoHash: IH, scrape: true });
    expect(asker.lastSize()).toBeLessThanOrEqual(1024);
    expect(body.BFsd).toHaveLength(256);
    expect(Math.abs(new ScrapeBloomFilter(body.BFpe).estimate() - 133)).toBeLessThan(7);
    await dht.destroy();
  });
});
