import { describe, expect, it } from '@jest/globals';
import { SimNetwork } from '../../lib/testing/sim-network.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('SimNetwork', () => {
  it('assigns unique addresses and refuses taken ones', () => {
    const net = new SimNetwork();
    const a = net.createTransport();
    const b = net.createTransport();
    expect(a.address()).not.toEqual(b.address());
    expect(a.address().host).toMatch(/^10\.\d+\.\d+\.\d+$/);
    const c = net.createTransport('127.0.0.1', 7000);
    expect(c.address()).toEqual({ host: '127.0.0.1', port: 7000 });
    expect(() => net.createTransport('127.0.0.1', 7000)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ADDRESS' })
    );
    const d = net.createTransport('127.0.0.1', 0);
    expect(d.address().port).toBeGreaterThan(0);
    expect(net.size).toBe(4);
  });

  it('delivers in latency order, in virtual time', async () => {
    const net = new SimNetwork({ latencyMs: (_from, to) => (to.port === 1 ? 50 : 10) });
    const src = net.createTransport('127.0.0.1', 9);
    const slow = net.createTransport('127.0.0.2', 1);
    const fast = net.createTransport('127.0.0.3', 2);
    const log: string[] = [];
    slow.onMessage((d, from) =>
      log.push(`slow ${text(d)} from ${from.host}:${from.port} @${net.clock.now()}`)
    );
    fast.onMessage((d) => log.push(`fast ${text(d)} @${net.clock.now()}`));
    src.send(bytes('a'), slow.address());
    src.send(bytes('b'), fast.address());
    src.send(bytes('c'), fast.address());
    expect(net.inFlight).toBe(3);
    const started = Date.now();
    await net.runFor(10 * 60_000);
    expect(Date.now() - started).toBeLessThan(5_000); // ten virtual minutes, no real waiting
    expect(log).toEqual(['fast b @10', 'fast c @10', 'slow a from 127.0.0.1:9 @50']);
    expect(net.clock.now()).toBe(10 * 60_000);
    expect({
      sent: net.sent,
      delivered: net.delivered,
      dropped: net.dropped,
      inFlight: net.inFlight
    }).toEqual({
      sent: 3,
      delivered: 3,
      dropped: 0,
      inFlight: 0
    });
  });

  it('copies the payload at send time and reports sends to onSend', async () => {
    const net = new SimNetwork();
    const a = net.createTransport();
    const b = net.createTransport();
    const seen: string[] = [];
    net.onSend = (from, to, data, time) => seen.push(`${from.host}->${to.host} ${text(data)} @${time}`);
    let got = '';
    b.onMessage((d) => (got = text(d)));
    const buf = bytes('xy');
    a.send(buf, b.address());
    buf[0] = 0x7a;
    await net.runFor(100);
    expect(got).toBe('xy');
    expect(seen).toEqual([`${a.address().host}->${b.address().host} xy @0`]);
  });

  it('roughly honours the loss rate, deterministically per seed', async () => {
    const run = async (seed: number): Promise<number> => {
      const net = new SimNetwork({ seed, lossRate: 0.3, jitterMs: 5 });
      const a = net.createTransport();
      const b = net.createTransport();
      let received = 0;
      b.onMessage(() => received++);
      for (let i = 0; i < 2000; i++) a.send(bytes('x'), b.address());
      await net.settle();
      expect(net.delivered + net.dropped).toBe(2000);
      return received;
    };
    const first = await run(42);
    expect(first / 2000).toBeGreaterThan(0.65);
    expect(first / 2000).toBeLessThan(0.75);
    expect(await run(42)).toBe(first);
  });

  it('fires timers in time order, FIFO among equal times, and honours cancel', async () => {
    const net = new SimNetwork();
    const log: string[] = [];
    net.clock.setTimeout(() => log.push(`b@${net.clock.now()}`), 20);
    net.clock.setTimeout(() => log.push(`a@${net.clock.now()}`), 10);
    net.clock.setTimeout(() => log.push(`c@${net.clock.now()}`), 20);
    const cancelled = net.clock.setTimeout(() => log.push('never'), 15);
    cancelled.cancel();
    cancelled.cancel();
    net.clock.setTimeout(() => {
      log.push(`d@${net.clock.now()}`);
      net.clock.setTimeout(() => log.push(`e@${net.clock.now()}`), 0);
    }, 30);
    net.clock.setTimeout(() => log.push('late'), 1000);
    await net.runFor(500);
    expect(log).toEqual(['a@10', 'b@20', 'c@20', 'd@30', 'e@30']);
    expect(net.pendingEvents).toBe(1);
    expect(await net.settle()).toBe(true);
    expect(log.at(-1)).toBe('late');
    expect(net.clock.now()).toBe(1000);
  });

  it('lets promise continuations run between events', async () => {
    const net = new SimNetwork({ latencyMs: 5 });
    const a = net.createTransport();
    const b = net.createTransport();
    // b answers after an await chain, like async DHT handlers do.
    b.onMessage((d, from) => {
      void (async () => {
        await Promise.resolve();
        await new Promise<void>((r) => net.clock.setTimeout(r, 1));
        b.send(d, from);
      })();
    });
    let replyAt = -1;
    a.onMessage(() => (replyAt = net.clock.now()));
    const sendLater = async (): Promise<void> => {
      await Promise.resolve();
      a.send(bytes('ping'), b.address());
    };
    void sendLater(); // sent from a continuation: runUntil must flush it first
    expect(await net.runUntil(() => replyAt >= 0, 1000)).toBe(true);
    expect(replyAt).toBe(11);
    expect(net.clock.now()).toBe(11);
  });

  it("yieldPer 'instant' runs equal-time events back to back, 'event' flushes between them", async () => {
    const order = async (yieldPer: 'event' | 'instant'): Promise<string[]> => {
      const net = new SimNetwork({ latencyMs: 10, yieldPer });
      const a = net.createTransport();
      const b = net.createTransport();
      const log: string[] = [];
      b.onMessage((d) => {
        log.push(text(d));
        void Promise.resolve().then(() => log.push(`${text(d)}-cont`));
      });
      a.send(bytes('x'), b.address());
      a.send(bytes('y'), b.address());
      await net.settle();
      return log;
    };
    expect(await order('event')).toEqual(['x', 'x-cont', 'y', 'y-cont']);
    expect(await order('instant')).toEqual(['x', 'y', 'x-cont', 'y-cont']);
  });

  it('drops datagrams to closed or unknown transports and oversized ones', async () => {
    const net = new SimNetwork();
    const a = net.createTransport();
    const b = net.createTransport();
    let received = 0;
    b.onMessage(() => received++);
    a.send(bytes('in flight when closed'), b.address());
    await b.close();
    await b.close(); // idempotent
    a.send(bytes('to closed'), b.address());
    a.send(bytes('to nobody'), { host: '192.0.2.1', port: 1 });
    const c = net.createTransport();
    c.onMessage(() => received++);
    a.send(new Uint8Array(5000), c.address());
    await a.close();
    a.send(bytes('from closed'), c.address()); // silently ignored, never throws
    await net.settle();
    expect(received).toBe(0);
    expect(net.sent).toBe(4);
    expect(net.dropped).toBe(4);
    expect(net.delivered).toBe(0);
    // The address is free again after close.
    expect(net.createTransport(b.address().host, b.address().port).address()).toEqual(b.address());
  });

  it('runUntil gives up at its virtual-time bound', async () => {
    const net = new SimNetwork();
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      net.clock.setTimeout(tick, 100);
    };
    net.clock.setTimeout(tick, 100);
    expect(await net.runUntil(() => false, 1000)).toBe(false);
    expect(ticks).toBe(10);
    expect(net.clock.now()).toBe(1000);
    expect(await net.runUntil(() => ticks === 15, 10_000)).toBe(true);
    expect(net.clock.now()).toBe(1500);
    expect(await net.settle(250)).toBe(false); // periodic timers never go idle
  });

  it('throws on runaway zero-delay timer loops instead of hanging', async () => {
    const net = new SimNetwork({ maxEvents: 1000 });
    const loop = (): void => void net.clock.setTimeout(loop, 0);
    loop();
    await expect(net.runFor(1)).rejects.toThrow(/more than 1000 events/);
  });

  it('refuses to run re-entrantly', async () => {
    const net = new SimNetwork();
    const first = net.runFor(10);
    await expect(net.runFor(10)).rejects.toThrow(/already running/);
    await first;
  });
});
