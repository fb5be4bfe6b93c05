/**
 * uTP connections end to end over a simulated path in virtual time: setup, transfers through
 * loss, reordering and wrapping sequence numbers, close, resets, timeouts, backpressure, and
 * LEDBAT holding the queueing delay near its target behind a bottleneck.
 */
import { describe, expect, it } from '@jest/globals';
import type { TrackerlessError } from '../../lib/errors.js';
import type { Transport } from '../../lib/net/transport.js';
import { seededRandom, type RandomSource } from '../../lib/util/random.js';
import type { UtpConnection } from '../../lib/utp/connection.js';
import { ST_DATA, ST_FIN, ST_SYN, ST_STATE } from '../../lib/utp/constants.js';
import { encodePacket } from '../../lib/utp/packet.js';
import { UtpSocket, type UtpSocketOptions } from '../../lib/utp/socket.js';
import { FakeClock } from '../support/fake-clock.js';
import { LossyLink, type PathOptions } from '../support/lossy-link.js';

function setup(path: PathOptions & { seed?: number; back?: PathOptions } = {}, opts: UtpSocketOptions = {}) {
  const clock = new FakeClock(1_000_000);
  const link = new LossyLink(clock, path);
  const a = new UtpSocket(link.a, { clock, random: seededRandom(11), ...opts });
  const b = new UtpSocket(link.b, { clock, random: seededRandom(22), ...opts });
  const accepted: UtpConnection[] = [];
  b.onConnection((c) => accepted.push(c));
  return { clock, link, a, b, accepted };
}

/** Advance virtual time in steps until `done()` or `limitMs` passed; returns the time taken. */
function run(clock: FakeClock, done: () => boolean, limitMs: number, stepMs = 5): number {
  const start = clock.now();
  while (!done() && clock.now() - start < limitMs) clock.advance(stepMs);
  return clock.now() - start;
}

async function connected(s: ReturnType<typeof setup>): Promise<[UtpConnection, UtpConnection]> {
  const p = s.a.connect(s.link.b.address());
  run(s.clock, () => s.accepted.length > 0, 60_000);
  let conn: UtpConnection | undefined;
  void p.then((c) => (conn = c));
  for (let i = 0; i < 100_000 && conn === undefined; i++) {
    s.clock.advance(5);
    await Promise.resolve();
  }
  return [conn!, s.accepted[0]!];
}

function sink(conn: UtpConnection) {
  const chunks: Uint8Array[] = [];
  let closed = false;
  conn.onData((c) => chunks.push(Uint8Array.from(c)));
  conn.onClose(() => (closed = true));
  return {
    bytes: () => Buffer.concat(chunks),
    closed: () => closed,
    size: () => chunks.reduce((n, c) => n + c.length, 0)
  };
}

/** Write `data` in 16 KiB chunks, honouring backpressure, then close. */
function source(conn: UtpConnection, data: Uint8Array, thenClose = true): { done: () => boolean } {
  let at = 0;
  let done = false;
  const push = (): void => {
    while (at < data.length) {
      const chunk = data.subarray(at, at + 16384);
      at += chunk.length;
      if (!conn.write(chunk)) return;
    }
    if (!done) {
      done = true;
      if (thenClose) conn.close();
    }
  };
  conn.onDrain(push);
  push();
  return { done: () => done };
}

/** Deterministic pseudo-random bytes (xorshift32 per word: fast for megabytes). */
function payload(n: number, seed = 7): Uint8Array {
  const words = new Uint32Array(Math.ceil(n / 4));
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return new Uint8Array(words.buffer, 0, n);
}

describe('uTP connection setup', () => {
  it('connects, exchanges messages both ways, and closes cleanly', async () => {
    const s = setup();
    const [client, server] = await connected(s);
    expect(client.state).toBe('connected');
    const atServer = sink(server);
    const atClient = sink(client);
    client.write(Buffer.from('hello from the dialer'));
    run(s.clock, () => atServer.size() > 0, 1000);
    expect(atServer.bytes().toString()).toBe('hello from the dialer');
    expect(server.state).toBe('connected');
    server.write(Buffer.from('and back'));
    run(s.clock, () => atClient.size() > 0, 1000);
    expect(atClient.bytes().toString()).toBe('and back');

    client.close();
    run(s.clock, () => atServer.closed() && atClient.closed(), 5000);
    expect(atServer.closed()).toBe(true);
    expect(atClient.closed()).toBe(true);
    run(s.clock, () => s.a.connectionCount + s.b.connectionCount === 0, 10_000);
    expect(s.a.connectionCount).toBe(0);
    expect(s.b.connectionCount).toBe(0);
    expect(s.a.stats.resetsSent + s.b.stats.resetsSent).toBe(0);
  });

  it('retries a lost SYN and a lost STATE', async () => {
    const s = setup();
    let syns = 0;
    s.link.ab.dropIf = (d) => d[0]! >> 4 === ST_SYN && ++syns <= 1;
    let states = 0;
    s.link.ba.dropIf = (d) => d[0]! >> 4 === ST_STATE && ++states <= 1;
    const [client] = await connected(s);
    expect(client.state).toBe('connected');
    expect(syns).toBe(3); // lost, answered (answer lost), answered
    expect(s.b.connectionCount).toBe(1);
  });

  it('gives up with ERR_TIMEOUT when nobody answers (3 SYNs, ~7 s)', async () => {
    const s = setup();
    s.link.ab.dropIf = () => true;
    const p = s.a.connect(s.link.b.address()).catch((e: TrackerlessError) => e);
    const elapsed = run(s.clock, () => s.a.connectionCount === 0, 60_000, 100);
    const err = await p;
    expect((err as TrackerlessError).code).toBe('ERR_TIMEOUT');
    expect(elapsed).toBeGreaterThanOrEqual(6_900);
    expect(elapsed).toBeLessThanOrEqual(7_200);
    expect(s.link.ab.stats.sent).toBe(3);
  });

  it('is refused with ERR_CONNECTION_RESET when the peer does not accept', async () => {
    const clock = new FakeClock();
    const link = new LossyLink(clock);
    const a = new UtpSocket(link.a, { clock });
    const b = new UtpSocket(link.b, { clock });
    const p = a.connect(link.b.address()).catch((e: TrackerlessError) => e);
    run(clock, () => a.connectionCount === 0, 5000);
    expect(((await p) as TrackerlessError).code).toBe('ERR_CONNECTION_RESET');
    expect(b.stats.synsRefused).toBe(1);
  });

  it('aborts a dial with ERR_ABORTED', async () => {
    const s = setup();
    s.link.ab.dropIf = () => true;
    const ac = new AbortController();
    const p = s.a.connect(s.link.b.address(), { signal: ac.signal }).catch((e: TrackerlessError) => e);
    s.clock.advance(100);
    ac.abort();
    expect(((await p) as TrackerlessError).code).toBe('ERR_ABORTED');
    expect(s.a.connectionCount).toBe(0);
  });
});

describe('uTP transfers', () => {
  const cases: [string, PathOptions & { seed?: number }][] = [
    ['a clean path', { delayMs: 20 }],
    ['1% loss', { delayMs: 20, loss: 0.01, seed: 3 }],
    ['5% loss', { delayMs: 20, loss: 0.05, seed: 4 }],
    ['reordering (jitter 2x the delay)', { delayMs: 10, jitterMs: 20, seed: 5 }],
    ['loss and reordering', { delayMs: 10, jitterMs: 10, loss: 0.03, seed: 6 }]
  ];
  for (const [name, path] of cases) {
    it(`moves 1 MiB byte-identical over ${name}`, async () => {
      const s = setup(path);
      const [client, server] = await connected(s);
      const data = payload(1024 * 1024);
      const got = sink(server);
      source(client, data);
      run(s.clock, () => got.closed(), 600_000, 10);
      expect(got.size()).toBe(data.length);
      expect(got.bytes().equals(Buffer.from(data))).toBe(true);
      if ((path.loss ?? 0) > 0) expect(s.a.stats.retransmits).toBeGreaterThan(0);
      else if ((path.jitterMs ?? 0) === 0) expect(s.a.stats.retransmits).toBe(0);
      if ((path.jitterMs ?? 0) > 0) expect(s.b.stats.outOfOrder).toBeGreaterThan(0);
    });
  }

  it('sends payload as views of the written chunks, never copies, and resends the same views behind a fresh header', async () => {
    const clock = new FakeClock(1_000_000);
    const link = new LossyLink(clock, { delayMs: 20, loss: 0.05, seed: 4 });
    const gathered: (readonly Uint8Array[])[] = [];
    const tapped: Transport = {
      send: (d, to) => link.a.send(d, to),
      sendv: (parts, to) => {
        gathered.push(parts);
        link.a.sendv(parts, to);
      },
      onMessage: (h) => link.a.onMessage(h),
      onError: (h) => link.a.onError(h),
      address: () => link.a.address(),
      close: () => link.a.close()
    };
    const s = {
      clock,
      link,
      a: new UtpSocket(tapped, { clock, random: seededRandom(11) }),
      b: new UtpSocket(link.b, { clock, random: seededRandom(22) }),
      accepted: [] as UtpConnection[]
    };
    s.b.onConnection((c) => s.accepted.push(c));
    const [client, server] = await connected(s);
    const data = payload(256 * 1024);
    const got = sink(server);
    source(client, data);
    run(s.clock, () => got.closed(), 600_000, 10);
    expect(got.bytes().equals(Buffer.from(data))).toBe(true);
    expect(s.a.stats.retransmits).toBeGreaterThan(0);
    expect(gathered.length).toBeGreaterThan(180); // every DATA packet, first sends and resends
    const bySeq = new Map<number, (readonly Uint8Array[])[]>();
    for (const parts of gathered) {
      expect(parts[0]!.length).toBe(20);
      for (const view of parts.slice(1)) expect(view.buffer).toBe(data.buffer);
      const seq = (parts[0]![16]! << 8) | parts[0]![17]!;
      bySeq.set(seq, [...(bySeq.get(seq) ?? []), parts]);
    }
    const resent = [...bySeq.values()].filter((sends) => sends.length > 1);
    expect(resent.length).toBeGreaterThan(0);
    for (const [first, ...again] of resent)
      for (const parts of again) {
        expect(parts[0]).not.toBe(first![0]);
        expect(parts.slice(1)).toEqual(first!.slice(1));
        parts.slice(1).forEach((view, i) => expect(view).toBe(first![i + 1]));
      }
  });

  it('reports a gathered write written only once the peer acknowledged all its bytes, in order, through loss', async () => {
    const s = setup({ delayMs: 20, loss: 0.05, seed: 4 });
    const [client, server] = await connected(s);
    const data = payload(512 * 1024);
    const got = sink(server);
    const reported: { end: number; receiverHad: number }[] = [];
    let at = 0;
    const push = (): void => {
      while (at < data.length) {
        const end = Math.min(at + 16384, data.length);
        // [header, block] like a piece message: two chunks, one report.
        const chunks = [data.subarray(at, at + 13), data.subarray(at + 13, end)];
        at = end;
        const ok = client.writev(chunks, () => reported.push({ end, receiverHad: got.size() }));
        if (!ok) return;
      }
    };
    client.onDrain(push);
    push();
    run(s.clock, () => got.size() === data.length && reported.length === 32, 600_000, 10);
    expect(got.bytes().equals(Buffer.from(data))).toBe(true);
    expect(s.a.stats.retransmits).toBeGreaterThan(0);
    expect(reported.map((r) => r.end)).toEqual(Array.from({ length: 32 }, (_, i) => (i + 1) * 16384));
    // The peer held every byte of a write before it was reported (its ack left after delivery).
    for (const r of reported) expect(r.receiverHad).toBeGreaterThanOrEqual(r.end);
    // Reports follow the acks: most come before the transfer ends, not all at once at the end.
    expect(reported.filter((r) => r.receiverHad < data.length).length).toBeGreaterThan(16);
  });

  it('reports the writes it still held when the connection ends, and a write after close at once', async () => {
    const s = setup({ delayMs: 20 });
    const [client] = await connected(s);
    s.link.ab.dropIf = () => true; // nothing arrives: nothing is acknowledged
    let reported = 0;
    client.writev([payload(8192)], () => reported++);
    client.writev([payload(8192, 9)], () => reported++);
    s.clock.advance(200);
    expect(reported).toBe(0);
    client.destroy();
    expect(reported).toBe(2);
    expect(client.writev([payload(10)], () => reported++)).toBe(false);
    expect(reported).toBe(3);
  });

  it('paces data over the round trip once a packet was lost, instead of sending window-sized bursts', async () => {
    const s = setup({ delayMs: 10 });
    const [client, server] = await connected(s);
    // One data packet lost once the window is large: pacing starts at the first loss.
    let dataPackets = 0;
    s.link.ab.dropIf = (d) => d[0]! >> 4 === ST_DATA && ++dataPackets === 2000;
    const data = payload(8 * 1024 * 1024);
    const got = sink(server);
    source(client, data);
    // Per virtual millisecond: datagrams sent, against the window at that moment.
    const worst = { before: 0, after: 0 };
    let smallestWindowAfter = Infinity;
    const start = s.clock.now();
    for (let i = 0; i < 60_000 && !got.closed(); i++) {
      const sentBefore = s.link.ab.stats.sent;
      const lossSeen = s.a.stats.retransmits > 0;
      s.clock.advance(1);
      const { cwnd } = client.info();
      // (Small windows leave in single packets, which this measure cannot tell apart.)
      if (cwnd < 50 * 1382) continue;
      const share = ((s.link.ab.stats.sent - sentBefore) * 1382) / cwnd;
      if (!lossSeen) worst.before = Math.max(worst.before, share);
      else {
        worst.after = Math.max(worst.after, share);
        smallestWindowAfter = Math.min(smallestWindowAfter, cwnd);
      }
    }
    expect(got.bytes().equals(Buffer.from(data))).toBe(true);
    expect(s.a.stats.retransmits).toBe(1);
    // Before the loss was seen, each burst's acks released the whole window again at once ...
    expect(worst.before).toBeGreaterThan(0.9);
    // ... after it, with the window still large, no millisecond carried much more than a
    // fifth of it (the bucket: 2 ms at 1.25 x cwnd / 20 ms, with rounding).
    expect(smallestWindowAfter).toBeGreaterThan(400_000);
    expect(worst.after).toBeLessThan(0.2);
    // And the transfer is not held back: 8 MiB in well under a second of 20 ms round trips.
    expect(s.clock.now() - start).toBeLessThan(600);
  });

  it('detects a lost retransmission by time, without waiting for the retransmission timeout', async () => {
    const s = setup({ delayMs: 10 });
    const [client, server] = await connected(s);
    // The 300th DATA packet is lost, and so is its first retransmission.
    let dataPackets = 0;
    let victim = -1;
    let drops = 0;
    s.link.ab.dropIf = (d) => {
      if (d[0]! >> 4 !== ST_DATA) return false;
      const seq = (d[16]! << 8) | d[17]!;
      if (++dataPackets === 300) victim = seq;
      if (seq !== victim || drops >= 2) return false;
      drops++;
      return true;
    };
    const data = payload(4 * 1024 * 1024);
    const got = sink(server);
    source(client, data);
    const took = run(s.clock, () => got.closed(), 60_000, 1);
    expect(got.bytes().equals(Buffer.from(data))).toBe(true);
    expect(drops).toBe(2);
    expect(s.a.stats.timeouts).toBe(0);
    expect(s.a.stats.lateLosses).toBe(1);
    expect(s.a.stats.retransmits).toBe(2);
    // 4 MiB over 20 ms round trips: the retransmission timeout alone (>= 500 ms) would double it.
    expect(took).toBeLessThan(500);
  });

  it('probes after two round trips of silence when the tail of a burst is lost whole, instead of timing out', async () => {
    const s = setup({ delayMs: 10 });
    const [client, server] = await connected(s);
    // 64 KiB is 48 DATA packets: the last 6 are lost (a receiver's full buffer), once each.
    let dataPackets = 0;
    s.link.ab.dropIf = (d) => d[0]! >> 4 === ST_DATA && ++dataPackets > 42 && dataPackets <= 48;
    const data = payload(64 * 1024);
    const got = sink(server);
    source(client, data, false);
    const took = run(s.clock, () => got.size() === data.length, 10_000, 1);
    expect(got.bytes().equals(Buffer.from(data))).toBe(true);
    expect(dataPackets).toBeGreaterThan(48);
    expect(s.a.stats.timeouts).toBe(0);
    expect(s.a.stats.probes).toBe(1);
    // The probe's selective ack shows the 5 before it missing; they are resent together.
    expect(s.a.stats.lateLosses).toBe(5);
    expect(s.a.stats.retransmits).toBe(6);
    expect(took).toBeLessThan(200); // a timeout alone is 500 ms
  });

  /**
   * A connected pair whose dialing side the test speaks for by hand: `packet(type, i, body)` is
   * the dialer's i-th packet after the SYN (the SYN and the acceptor's STATE are captured).
   */
  async function handDriven() {
    const s = setup({ delayMs: 10 });
    const seqOf = (d: Uint8Array): number => (d[16]! << 8) | d[17]!;
    let syn: Uint8Array | null = null;
    let accept: Uint8Array | null = null;
    s.link.ab.dropIf = (d) => ((syn ??= d[0]! >> 4 === ST_SYN ? Uint8Array.from(d) : null), false);
    s.link.ba.dropIf = (d) => ((accept ??= d[0]! >> 4 === ST_STATE ? Uint8Array.from(d) : null), false);
    const [, server] = await connected(s);
    const sendId = (((syn![2]! << 8) | syn![3]!) + 1) & 0xffff;
    const packet = (type: typeof ST_DATA | typeof ST_FIN, i: number, body: Uint8Array) =>
      encodePacket(
        {
          type,
          connectionId: sendId,
          timestampUs: 1,
          timestampDiffUs: 0,
          wndSize: 1 << 20,
          seqNr: (seqOf(syn!) + 1 + i) & 0xffff,
          ackNr: (seqOf(accept!) - 1) & 0xffff
        },
        body
      );
    const send = (d: Uint8Array): void => s.link.a.send(d, s.link.b.address());
    return { s, server, packet, send };
  }

  it('acknowledges a burst read in one turn with one STATE, not one per 16 packets', async () => {
    const { s, server, packet, send } = await handDriven();
    const got = sink(server);
    let states = 0;
    s.link.ba.dropIf = (d) => (d[0]! >> 4 === ST_STATE && states++, false);
    // All 40 arrive at the same moment: one read burst.
    for (let i = 0; i < 40; i++) send(packet(ST_DATA, i, new Uint8Array(100).fill(i)));
    s.clock.advance(20);
    expect(got.size()).toBe(40 * 100);
    expect(states).toBe(1);
  });

  it('hands a burst read in one turn to the reader as one chunk, and a FIN in it after the data', async () => {
    const { s, server, packet, send } = await handDriven();
    const events: string[] = [];
    const chunks: Uint8Array[] = [];
    server.onData((c) => (events.push(`data ${c.length}`), chunks.push(Uint8Array.from(c))));
    server.onClose(() => events.push('close'));
    // Two turns: 10 packets, then 20 more with the FIN behind them (one read burst each).
    for (let i = 0; i < 10; i++) send(packet(ST_DATA, i, new Uint8Array(1000).fill(i)));
    s.clock.advance(15);
    for (let i = 10; i < 30; i++) send(packet(ST_DATA, i, new Uint8Array(1000).fill(i)));
    send(packet(ST_FIN, 30, new Uint8Array(0)));
    s.clock.advance(20);
    expect(events).toEqual(['data 10000', 'data 20000', 'close']);
    const all = Buffer.concat(chunks);
    for (let i = 0; i < 30; i++) expect(all[i * 1000]).toBe(i);
  });

  it('wraps sequence numbers (first seq 65530) in both directions', async () => {
    const nearWrap: RandomSource = {
      bytes: (n) => new Uint8Array(n),
      int: (n) => (n === 0x10000 ? 65530 : 0)
    };
    const s = setup({ delayMs: 5, loss: 0.02, seed: 9 }, { random: nearWrap });
    const [client, server] = await connected(s);
    const up = payload(256 * 1024, 1);
    const down = payload(256 * 1024, 2);
    const atServer = sink(server);
    const atClient = sink(client);
    source(client, up, false);
    source(server, down, false);
    run(s.clock, () => atServer.size() === up.length && atClient.size() === down.length, 300_000, 10);
    expect(atServer.bytes().equals(Buffer.from(up))).toBe(true);
    expect(atClient.bytes().equals(Buffer.from(down))).toBe(true);
  });

  it('reports backpressure above the high-water mark and drains', async () => {
    const s = setup({ delayMs: 50 }, { highWaterMark: 64 * 1024 });
    const [client, server] = await connected(s);
    sink(server);
    let drained = 0;
    client.onDrain(() => drained++);
    let accepted = 0;
    while (client.write(new Uint8Array(16384))) accepted++;
    expect(accepted).toBeLessThan(8);
    run(s.clock, () => drained > 0, 10_000);
    expect(drained).toBe(1);
  });

  it('ends a connection whose peer vanished (retransmissions exhausted)', async () => {
    const s = setup({ delayMs: 10 });
    const [client, server] = await connected(s);
    sink(server);
    const c = sink(client);
    source(client, payload(200_000), false);
    s.clock.advance(50);
    s.link.ab.dropIf = () => true;
    s.link.ba.dropIf = () => true;
    const elapsed = run(s.clock, () => c.closed(), 300_000, 100);
    expect(c.closed()).toBe(true);
    // 7 transmissions of the oldest packet with a doubling timeout starting at >= 500 ms.
    expect(elapsed).toBeGreaterThan(30_000);
    expect(elapsed).toBeLessThan(120_000);
    expect(s.a.connectionCount).toBe(0);
  });
});

describe('uTP socket boundaries', () => {
  it('counts and drops malformed datagrams without throwing', () => {
    const s = setup();
    const bogus = [
      new Uint8Array(5),
      Buffer.from('d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q4:ping1:t2:aa1:y1:qe'),
      new Uint8Array(30).fill(0x51)
    ];
    const tr = s.link.a;
    for (const d of bogus) tr.send(d, s.link.b.address());
    s.clock.advance(100);
    const m = s.b.stats.malformed;
    expect(m.short).toBe(1);
    expect(m.version).toBe(1); // 'd' = 0x64: version nibble 4
    expect(m.type).toBe(1); // 0x51: type 5, version 1
  });

  it('answers unknown connections with RESET at a bounded rate, never larger than the packet', () => {
    const s = setup({}, { resetsPerSecond: 10 });
    const pkt = encodePacket(
      {
        type: ST_DATA,
        connectionId: 999,
        timestampUs: 0,
        timestampDiffUs: 0,
        wndSize: 0,
        seqNr: 5,
        ackNr: 1
      },
      new Uint8Array(10)
    );
    for (let i = 0; i < 1000; i++) s.link.a.send(pkt, s.link.b.address());
    s.clock.advance(1000);
    expect(s.b.stats.resetsSent).toBeGreaterThan(0);
    expect(s.b.stats.resetsSent).toBeLessThanOrEqual(1 + 10); // burst + 1 s of rate
    expect(s.b.stats.resetsSuppressed).toBe(1000 - s.b.stats.resetsSent);
    expect(s.b.stats.bytesOut).toBeLessThanOrEqual(s.b.stats.resetsSent * 20);
  });

  it('refuses SYNs beyond the per-IP limit and drops half-open connections', () => {
    // Only the listening end has a socket: the dialer's side is raw datagrams.
    const clock = new FakeClock();
    const link = new LossyLink(clock);
    const b = new UtpSocket(link.b, { clock, maxConnectionsPerIp: 3 });
    b.onConnection(() => {});
    const s = { b, link, clock };
    for (let id = 0; id < 10; id++) {
      const syn = encodePacket(
        {
          type: ST_SYN,
          connectionId: id * 10,
          timestampUs: 1,
          timestampDiffUs: 0,
          wndSize: 0,
          seqNr: 1,
          ackNr: 0
        },
        new Uint8Array(0)
      );
      s.link.a.send(syn, s.link.b.address());
    }
    s.clock.advance(100);
    expect(s.b.connectionCount).toBe(3);
    expect(s.b.stats.synsRefused).toBe(7);
    // Half-open connections whose dialer never speaks are dropped.
    s.clock.advance(11_000);
    expect(s.b.connectionCount).toBe(0);
  });
});

describe('LEDBAT over a bottleneck', () => {
  it('fills a 1 MB/s link alone and keeps the added queueing delay near 100 ms', async () => {
    // A deep buffer (2 s of queue) that a loss-based sender would fill.
    const s = setup({ delayMs: 20, rateBytesPerSec: 1_000_000, queueBytes: 2_000_000 });
    const [client, server] = await connected(s);
    const got = sink(server);
    const data = payload(12 * 1024 * 1024);
    source(client, data);
    const elapsed = run(s.clock, () => got.closed(), 120_000, 10);
    expect(got.bytes().equals(Buffer.from(data))).toBe(true);
    const goodput = data.length / (elapsed / 1000);
    expect(goodput).toBeGreaterThan(0.85 * 1_000_000);
    // After slow start, the queue the sender builds sits near the 100 ms target.
    const q = s.link.ab.stats.queueMs;
    const steady = q.slice(Math.floor(q.length / 3)).sort((x, y) => x - y);
    const median = steady[Math.floor(steady.length / 2)]!;
    expect(median).toBeGreaterThan(50);
    expect(median).toBeLessThan(150);
    expect(s.link.ab.stats.maxQueueMs).toBeLessThan(1000);
  });
});
