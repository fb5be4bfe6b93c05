/**
 * Inbound DHT limits: the per-IP bucket, bans and global cap (pure, fake clock), and a node
 * on the simulated network under a flood from one address (virtual time).
 */
import { describe, expect, it } from '@jest/globals';
import { InboundLimiter } from '../../lib/rpc/inbound-limiter.js';
import { SimNetwork } from '../../lib/testing/sim-network.js';
import { DHT } from '../../lib/dht/dht.js';
import { decodeMessage, encodeQuery, encodeResponse } from '../../lib/krpc/codec.js';
import { seededRandom } from '../../lib/util/random.js';
import { FakeClock } from '../support/fake-clock.js';

const verdicts = (l: InboundLimiter, host: string, n: number): Record<string, number> => {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const v = l.admit(host);
    out[v] = (out[v] ?? 0) + 1;
  }
  return out;
};

/** Default bucket, a ban after 10 drops in a row, no global cap. */
const quickToBan = (clock: FakeClock): InboundLimiter =>
  new InboundLimiter(clock, { perIpRate: 20, perIpBurst: 40, banAfterDrops: 10, globalRate: Infinity });

describe('InboundLimiter', () => {
  it('lets a burst through, then the rate; other sources keep their own buckets', () => {
    const clock = new FakeClock();
    const l = new InboundLimiter(clock, { perIpRate: 20, perIpBurst: 40, banAfterDrops: 1000 });
    expect(verdicts(l, '203.0.113.1', 50)).toEqual({ ok: 40, 'rate-limited': 10 });
    expect(verdicts(l, '203.0.113.2', 5)).toEqual({ ok: 5 });
    clock.advance(1000);
    expect(verdicts(l, '203.0.113.1', 30)).toEqual({ ok: 20, 'rate-limited': 10 });
  });

  it('bans a source that keeps sending far over its rate, for banMs, then forgives it', () => {
    const clock = new FakeClock();
    const l = new InboundLimiter(clock, { perIpRate: 10, perIpBurst: 10, banAfterDrops: 100, banMs: 60_000 });
    expect(verdicts(l, '198.51.100.7', 110)).toEqual({ ok: 10, 'rate-limited': 99, banned: 1 });
    expect(l.bans).toBe(1);
    clock.advance(30_000); // its bucket refilled, but the ban holds
    expect(verdicts(l, '198.51.100.7', 5)).toEqual({ banned: 5 });
    clock.advance(30_001);
    expect(verdicts(l, '198.51.100.7', 5)).toEqual({ ok: 5 });
  });

  it('a source over its rate but not flooding is limited, never banned', () => {
    const clock = new FakeClock();
    const l = new InboundLimiter(clock, { perIpRate: 10, perIpBurst: 10, banAfterDrops: 20 });
    for (let s = 0; s < 60; s++) {
      verdicts(l, '198.51.100.8', 15); // 15/s against a rate of 10/s: 5 dropped, then a refill
      clock.advance(1000);
    }
    expect(l.bans).toBe(0);
  });

  it('leaves loopback alone by default, not with exempt none', () => {
    const clock = new FakeClock();
    expect(verdicts(new InboundLimiter(clock), '127.0.0.1', 500)).toEqual({ ok: 500 });
    expect(verdicts(new InboundLimiter(clock, { exempt: 'none' }), '127.0.0.1', 500).ok).toBe(40);
    expect(verdicts(new InboundLimiter(clock, { exempt: 'local' }), '10.1.2.3', 500)).toEqual({ ok: 500 });
  });

  it('remembers at most maxTrackedIps sources', () => {
    const clock = new FakeClock();
    const l = new InboundLimiter(clock, { maxTrackedIps: 100, globalRate: Infinity });
    for (let i = 0; i < 5000; i++) l.admit(`100.${(i >> 8) & 0xff}.${i & 0xff}.1`);
    expect(l.tracked).toBe(100);
  });

  it('forgets sources whose bucket refilled when new ones arrive, never a banned one', () => {
    const clock = new FakeClock();
    const l = quickToBan(clock);
    expect(verdicts(l, '198.51.100.9', 60)).toEqual({ ok: 40, 'rate-limited': 9, banned: 11 });
    for (let i = 0; i < 50; i++) l.admit(`100.0.${i}.1`);
    expect(l.tracked).toBe(51);
    clock.advance(1000); // every bucket full again; the flooder still banned
    for (let i = 0; i < 25; i++) l.admit(`100.1.${i}.1`);
    expect(l.tracked).toBe(26); // the 50 refilled ones forgotten, up to four per newcomer
    expect(verdicts(l, '198.51.100.9', 3)).toEqual({ banned: 3 });
  });

  it('banned flooders gone quiet do not stop refilled sources from being forgotten', () => {
    const clock = new FakeClock();
    const l = quickToBan(clock);
    // More banned sources than the places checked per newcomer, all at the old end.
    for (let f = 0; f < 6; f++)
      expect(verdicts(l, `198.51.100.${f}`, 51)).toEqual({ ok: 40, 'rate-limited': 9, banned: 2 });
    // Then one honest datagram per 100 ms from ever new sources: each refilled 50 ms later.
    for (let i = 0; i < 300; i++) {
      clock.advance(100);
      expect(l.admit(`100.3.${i >> 8}.${i & 0xff}`)).toBe('ok');
      expect(l.tracked).toBeLessThanOrEqual(6 + 2);
    }
    for (let f = 0; f < 6; f++) expect(l.admit(`198.51.100.${f}`)).toBe('banned');
  });

  it('a source that keeps sending stays remembered while others come and go', () => {
    const clock = new FakeClock();
    const l = new InboundLimiter(clock, { maxTrackedIps: 10, perIpRate: 1, perIpBurst: 1, banAfterDrops: 5 });
    expect(verdicts(l, '198.51.100.10', 7)).toEqual({ ok: 1, 'rate-limited': 4, banned: 2 });
    for (let round = 0; round < 20; round++) {
      clock.advance(1000);
      expect(l.admit('198.51.100.10')).toBe('banned'); // moves it to the young end
      for (let i = 0; i < 9; i++) l.admit(`100.2.${round}.${i}`);
    }
    expect(l.tracked).toBe(10);
    expect(l.admit('198.51.100.10')).toBe('banned');
  });

  it('caps unsolicited datagrams from all sources together', () => {
    const clock = new FakeClock();
    const l = new InboundLimiter(clock, { globalRate: 100 });
    const out: Record<string, number> = {};
    for (let i = 0; i < 300; i++) {
      const v = l.admit(`100.0.${i}.1`);
      out[v] = (out[v] ?? 0) + 1;
    }
    expect(out).toEqual({ ok: 100, overloaded: 200 });
  });
});

describe('a DHT node under a flood from one address (simulated network)', () => {
  async function setup(opts: ConstructorParameters<typeof DHT>[0] = {}) {
    const net = new SimNetwork({ seed: 5, latencyMs: 1 });
    const rnd = seededRandom(3);
    const dht = new DHT({
      transport: net.createTransport('203.0.113.10', 6881),
      clock: net.clock,
      random: rnd,
      bootstrap: [],
      ...opts
    });
    await net.runUntil(() => false, 1);
    await dht.ready;
    const flooder = net.createTransport('198.51.100.66', 4000);
    const honest = net.createTransport('192.0.2.5', 5000);
    const got = { flooder: 0, honest: 0 };
    flooder.onMessage((data) => {
      const d = decodeMessage(data);
      if (d.ok && d.message.type === 'response') got.flooder++;
    });
    honest.onMessage((data) => {
      const d = decodeMessage(data);
      if (d.ok && d.message.type === 'response') got.honest++; // not the node's own verification pings
    });
    return { net, dht, flooder, honest, got, rnd };
  }

  it('answers the honest client every time while the flood is dropped unparsed, and bans the flooder', async () => {
    const { net, dht, flooder, honest, got, rnd } = await setup();
    const ping = (tid: number) =>
      encodeQuery(new Uint8Array([tid >> 8, tid & 0xff]), { method: 'ping', id: rnd.bytes(20) });
    // 5 virtual seconds: the flooder sends 500 pings every 100 ms (5k/s), the client one.
    for (let t = 0; t < 50; t++) {
      for (let i = 0; i < 500; i++) flooder.send(ping(i), dht.address());
      honest.send(ping(t), dht.address());
      await net.runFor(100);
    }
    await net.runFor(100);
    const s = dht.stats();
    expect(got.honest).toBe(50);
    // Only the first burst got through before the ban; everything else was dropped unparsed.
    expect(got.flooder).toBeLessThanOrEqual(40);
    expect(s.droppedBanned + s.droppedRateLimited).toBe(25_000 - got.flooder);
    expect(s.droppedBanned).toBeGreaterThan(24_000);
    expect(s.queriesIn.ping).toBe(50 + got.flooder);
    await dht.destroy();
  }, 60_000);

  it('replies to our own queries are never charged, however many a node sends', async () => {
    const { net, dht, honest, rnd } = await setup({ inboundLimits: { perIpRate: 1, perIpBurst: 1 } });
    // The honest transport answers every query it gets.
    const answered: number[] = [];
    honest.onMessage((data, from) => {
      const d = decodeMessage(data);
      if (!d.ok || d.message.type !== 'query') return;
      answered.push(1);
      honest.send(encodeResponse(d.message.tid, { id: rnd.bytes(20) }), from);
    });
    const results = await net.runWork(
      Promise.allSettled(Array.from({ length: 50 }, () => dht.ping({ host: '192.0.2.5', port: 5000 }))),
      10_000
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(50);
    expect(dht.stats().droppedRateLimited).toBe(0);
    await dht.destroy();
  });

  it('drops incoming queries unanswered while the outbound byte budget is spent', async () => {
    const { net, dht, honest, got, rnd } = await setup({ maxBytesPerSecond: 1000, inboundLimits: false });
    for (let i = 0; i < 100; i++)
      honest.send(encodeQuery(new Uint8Array([0, i]), { method: 'ping', id: rnd.bytes(20) }), dht.address());
    await net.runFor(100);
    const s = dht.stats();
    // ~1000 bytes of budget: about a dozen ~80-byte replies, the rest dropped.
    expect(got.honest).toBeGreaterThan(5);
    expect(got.honest).toBeLessThan(25);
    expect(s.droppedOverBudget).toBe(100 - got.honest);
    expect(s.repliesSent).toBe(got.honest);
    await dht.destroy();
  });
});
