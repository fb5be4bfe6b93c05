/**
 * The crawler core with a scripted query function and a virtual clock: politeness (interval,
 * per-IP gap, global rate), bad input dropped and counted, bounded memory, passive records and
 * the metadata resolver's concurrency cap and timeout.
 */
import { describe, expect, it } from '@jest/globals';
import { SimNetwork } from '../../lib/testing/sim-network.js';
import { Crawler } from '../../lib/crawler/crawler.js';
import { type CrawlerOptions } from '../../lib/crawler/options.js';
import { MemoryCrawlerStore } from '../../lib/crawler/store/memory-store.js';
import { Frontier } from '../../lib/crawler/frontier.js';
import { NodeSchedule } from '../../lib/crawler/schedule.js';
import { PerIpLimiter } from '../../lib/crawler/limits.js';
import { TokenBucket } from '../../lib/util/token-bucket.js';
import { FakeClock } from '../support/fake-clock.js';
import type { NodeInfo } from '../../lib/krpc/types.js';
import type { MetadataResolver, SampleReply } from '../../lib/crawler/types.js';
import { seededRandom } from '../../lib/util/random.js';
import { toHex } from '../../lib/util/bytes.js';

type Handler = (target: Uint8Array) => SampleReply | Error;

/** A scripted network: address -> handler; every reply arrives 10 virtual ms later. */
function scripted(net: SimNetwork) {
  const handlers = new Map<string, Handler>();
  const log: Array<{ t: number; to: string }> = [];
  const query: CrawlerOptions['query'] = (node, target, signal) => {
    const key = `${node.host}:${node.port}`;
    log.push({ t: net.clock.now(), to: key });
    return new Promise((resolve, reject) => {
      const timer = net.clock.setTimeout(() => {
        const h = handlers.get(key);
        const r = h ? h(target) : new Error('timeout');
        if (r instanceof Error) reject(r);
        else resolve(r);
      }, 10);
      signal.addEventListener('abort', () => {
        timer.cancel();
        reject(new Error('aborted'));
      });
    });
  };
  return { handlers, log, query };
}

const rnd = seededRandom(3);
const ids = (n: number): Uint8Array[] => Array.from({ length: n }, () => rnd.bytes(20));
const node = (i: number, host = `10.0.${i >> 8}.${i & 0xff}`): NodeInfo => ({
  id: rnd.bytes(20),
  host,
  port: 6881
});

describe('crawler politeness', () => {
  it('never re-asks a node before its interval, and revisits when num > samples', async () => {
    const net = new SimNetwork();
    const { handlers, log, query } = scripted(net);
    const a = node(1);
    const held = ids(30);
    let call = 0;
    handlers.set('10.0.0.1:6881', () => {
      const start = (call++ * 20) % 30;
      return {
        id: a.id,
        samples: [...held, ...held].slice(start, start + 20),
        num: 30,
        interval: 300,
        nodes: []
      };
    });
    const store = new MemoryCrawlerStore();
    const crawler = new Crawler({
      query,
      store,
      clock: net.clock,
      random: rnd,
      bootstrap: [a],
      minIntervalMs: 1000
    });
    await crawler.start();
    await net.runFor(700_000);
    await crawler.stop();
    const times = log.map((e) => e.t);
    expect(times.length).toBe(3); // t=1 s (start-up gap), then >= 300 s apart
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(300_000);
    expect(store.count()).toBe(30);
  });

  it('clamps an interval above 21600 s and floors interval 0 at minIntervalMs', async () => {
    const net = new SimNetwork();
    const { handlers, log, query } = scripted(net);
    handlers.set('10.0.0.1:6881', () => ({
      id: new Uint8Array(20).fill(1),
      samples: ids(1),
      num: 5,
      interval: 0,
      nodes: []
    }));
    handlers.set('10.0.0.2:6881', () => ({
      id: new Uint8Array(20).fill(2),
      samples: ids(1),
      num: 5,
      interval: 99_999,
      nodes: []
    }));
    const crawler = new Crawler({
      query,
      store: new MemoryCrawlerStore(),
      clock: net.clock,
      random: rnd,
      minIntervalMs: 60_000,
      bootstrap: [
        { host: '10.0.0.1', port: 6881 },
        { host: '10.0.0.2', port: 6881 }
      ]
    });
    await crawler.start();
    await net.runFor(6 * 3_600_000 + 5000);
    await crawler.stop();
    const to1 = log.filter((e) => e.to === '10.0.0.1:6881').map((e) => e.t);
    const to2 = log.filter((e) => e.to === '10.0.0.2:6881').map((e) => e.t);
    for (let i = 1; i < to1.length; i++) expect(to1[i]! - to1[i - 1]!).toBeGreaterThanOrEqual(60_000);
    expect(to2.length).toBe(2); // at 0 and after exactly 21600 s, not 99999 s
    expect(to2[1]! - to2[0]!).toBeGreaterThanOrEqual(21_600_000);
    expect(crawler.stats().anomalies['interval-out-of-range']).toBeGreaterThan(0);
  });

  it('keeps one IP at <= 1 query/s across ports, and the global rate under its cap', async () => {
    const net = new SimNetwork();
    const { handlers, log, query } = scripted(net);
    const many: NodeInfo[] = [];
    for (let p = 1; p <= 5; p++) many.push({ id: rnd.bytes(20), host: '10.9.9.9', port: 7000 + p });
    for (let i = 0; i < 200; i++) many.push(node(i + 10));
    for (const n of many)
      handlers.set(`${n.host}:${n.port}`, () => ({
        id: n.id,
        samples: [],
        num: 0,
        interval: 21600,
        nodes: []
      }));
    const crawler = new Crawler({
      query,
      store: new MemoryCrawlerStore(),
      clock: net.clock,
      random: rnd,
      queriesPerSecond: 50,
      bootstrap: many
    });
    await crawler.start();
    await net.runFor(30_000);
    await crawler.stop();
    const sameIp = log.filter((e) => e.to.startsWith('10.9.9.9:')).map((e) => e.t);
    expect(sameIp).toHaveLength(5);
    for (let i = 1; i < sameIp.length; i++) expect(sameIp[i]! - sameIp[i - 1]!).toBeGreaterThanOrEqual(1000);
    let maxWindow = 0;
    for (let i = 0, j = 0; i < log.length; i++) {
      while (log[i]!.t - log[j]!.t >= 1000) j++;
      maxWindow = Math.max(maxWindow, i - j + 1);
    }
    expect(log).toHaveLength(205);
    expect(maxWindow).toBeLessThanOrEqual(55); // rate 50 + burst 5
  });
});

describe('crawler input checks', () => {
  it('drops and counts lying num, oversized and malformed samples; dedupes samples', async () => {
    const net = new SimNetwork();
    const { handlers, query } = scripted(net);
    const good = ids(2);
    const replies: Record<string, SampleReply> = {
      '10.0.0.1:6881': { id: ids(1)[0]!, samples: ids(5), num: 2, interval: 60, nodes: [] }, // num < samples
      '10.0.0.2:6881': { id: ids(1)[0]!, samples: ids(80), num: 80, interval: 60, nodes: [] }, // oversized
      '10.0.0.3:6881': { id: ids(1)[0]!, samples: [new Uint8Array(19)], num: 1, interval: 60, nodes: [] },
      '10.0.0.4:6881': {
        id: ids(1)[0]!,
        samples: [good[0]!, good[0]!, good[1]!],
        num: 3,
        interval: 60,
        nodes: []
      },
      '10.0.0.5:6881': { id: new Uint8Array(3), samples: ids(1), num: 1, interval: 60, nodes: [] },
      '10.0.0.6:6881': { id: ids(1)[0]!, samples: ids(1), num: 1e12, interval: 60, nodes: [] }
    };
    for (const [k, r] of Object.entries(replies)) handlers.set(k, () => r);
    const store = new MemoryCrawlerStore();
    const bootstrap = Object.keys(replies).map((k) => ({ host: k.split(':')[0]!, port: 6881 }));
    const crawler = new Crawler({ query, store, clock: net.clock, random: rnd, bootstrap });
    await crawler.start();
    await net.runFor(5_000);
    await crawler.stop();
    const s = crawler.stats();
    expect(s.rejected).toEqual({ 'bad-id': 1, 'too-many-samples': 1, 'bad-sample': 1, 'lying-num': 2 });
    expect(s.anomalies['duplicate-samples']).toBe(1);
    expect([...store.hexes()].sort()).toEqual(good.map(toHex).sort());
  });

  it('keeps the frontier and the schedule within their caps', async () => {
    const net = new SimNetwork();
    const { handlers, query } = scripted(net);
    // Every node points at 8 brand-new nodes: an unbounded supply of leads.
    let next = 1000;
    const fresh = (): NodeInfo[] => Array.from({ length: 8 }, () => node(next++));
    const answer = (): SampleReply => ({
      id: rnd.bytes(20),
      samples: [],
      num: 0,
      interval: 21600,
      nodes: fresh()
    });
    const q: CrawlerOptions['query'] = (n, target, signal) => {
      handlers.set(`${n.host}:${n.port}`, answer);
      return query(n, target, signal);
    };
    const crawler = new Crawler({
      query: q,
      store: new MemoryCrawlerStore(),
      clock: net.clock,
      random: rnd,
      bootstrap: [node(1)],
      frontierCapacity: 100,
      scheduleCapacity: 50,
      queriesPerSecond: 100
    });
    await crawler.start();
    await net.runFor(10_000);
    const s = crawler.stats();
    await crawler.stop();
    expect(s.frontier).toBeLessThanOrEqual(100);
    expect(s.frontierEvicted).toBeGreaterThan(0);
    expect(s.schedule).toBeLessThanOrEqual(50);
    expect(s.queriesSent).toBe(50); // then the schedule is full of live entries: it waits
    expect(s.scheduleFull).toBeGreaterThan(0);
  });
});

describe('crawler records', () => {
  it('records passive infohashes through the passive hook, only while running', async () => {
    const net = new SimNetwork();
    let emit: ((ih: Uint8Array, kind: 'get_peers' | 'announce_peer') => void) | null = null;
    const store = new MemoryCrawlerStore();
    const crawler = new Crawler({
      query: () => Promise.reject(new Error('unused')),
      store,
      clock: net.clock,
      random: rnd,
      passive: (record) => {
        emit = record;
        return () => (emit = null);
      }
    });
    await crawler.start();
    const [a, b] = ids(2);
    emit!(a!, 'get_peers');
    emit!(a!, 'announce_peer');
    emit!(b!, 'announce_peer');
    await crawler.stop();
    expect(emit).toBeNull();
    expect(store.records.get(toHex(a!))).toMatchObject({ source: 'get_peers', seenCount: 2 });
    expect(store.records.get(toHex(b!))).toMatchObject({ source: 'announce_peer', seenCount: 1 });
    expect(crawler.stats().passive).toEqual({ get_peers: 1, announce_peer: 2 });
  });

  it('resolves metadata with a concurrency cap and a timeout', async () => {
    const net = new SimNetwork();
    const { handlers, query } = scripted(net);
    const held = ids(10);
    handlers.set('10.0.0.1:6881', () => ({
      id: ids(1)[0]!,
      samples: held,
      num: 10,
      interval: 21600,
      nodes: []
    }));
    let active = 0;
    let peak = 0;
    const resolver: MetadataResolver = {
      resolve: (ih, signal) =>
        new Promise((resolve, reject) => {
          active++;
          peak = Math.max(peak, active);
          const slow = ih[0]! % 2 === 0; // half never finish on their own
          const t = net.clock.setTimeout(() => {
            active--;
            resolve({ name: toHex(ih).slice(0, 6), size: 42, files: [{ path: 'a', size: 42 }] });
          }, 100);
          signal.addEventListener('abort', () => {
            t.cancel();
            active--;
            reject(new Error('aborted'));
          });
          if (slow) t.cancel();
        })
    };
    const store = new MemoryCrawlerStore();
    const crawler = new Crawler({
      query,
      store,
      clock: net.clock,
      random: rnd,
      bootstrap: [{ host: '10.0.0.1', port: 6881 }],
      resolver,
      resolveConcurrency: 2,
      resolveTimeoutMs: 1_000
    });
    await crawler.start();
    await net.runFor(20_000);
    await crawler.stop();
    const r = crawler.stats().resolve!;
    const slow = held.filter((h) => h[0]! % 2 === 0).length;
    expect(peak).toBe(2);
    expect(r.resolved).toBe(10 - slow);
    expect(r.timedOut).toBe(slow);
    expect([...store.records.values()].filter((x) => x.meta).length).toBe(10 - slow);
  });
});

describe('crawler building blocks', () => {
  it('token bucket and per-IP limiter', () => {
    const clock = new FakeClock(0);
    const b = new TokenBucket({ ratePerSecond: 10, burst: 2, nowMs: clock.now() });
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([true, true, false]);
    expect(b.waitMs(0)).toBe(100);
    clock.advance(100);
    expect(b.take(clock.now())).toBe(true);
    const ip = new PerIpLimiter({ queriesPerSecond: 1, capacity: 2 });
    ip.record('a', 0);
    ip.record('b', 10);
    expect(ip.allowed('a', 999)).toBe(false);
    expect(ip.allowed('c', 500)).toBe(false); // full of live entries
    expect(ip.allowed('c', 1000)).toBe(true); // 'a' expired and was pruned
    expect(ip.waitMs('b', 500)).toBe(510);
  });

  it('schedule evicts only expired entries; frontier walks buckets round-robin', () => {
    const s = new NodeSchedule({ capacity: 2 });
    expect(s.reserve('x', 100, 0)).toBe(true);
    expect(s.reserve('y', 200, 0)).toBe(true);
    expect(s.reserve('z', 300, 50)).toBe(false);
    expect(s.reserve('z', 300, 150)).toBe(true); // 'x' expired at 100
    expect(s.canQuery('y', 150)).toBe(false);
    const f = new Frontier({ capacity: 10, prefixBits: 1 });
    const low = (i: number): NodeInfo => ({ id: new Uint8Array(20).fill(0x10), host: `1.1.1.${i}`, port: 1 });
    const high = (i: number): NodeInfo => ({
      id: new Uint8Array(20).fill(0xf0),
      host: `2.2.2.${i}`,
      port: 1
    });
    [low(1), low(2), low(3), high(1)].forEach((c) => f.add(c));
    const order = [0, 1, 2, 3].map(() => f.take(() => 'take')!.host);
    expect(order).toEqual(['1.1.1.1', '2.2.2.1', '1.1.1.2', '1.1.1.3']);
  });
});
