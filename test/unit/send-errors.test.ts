/**
 * Sends the system refuses (no route, a firewall rule), in virtual time: the shared UDP port
 * reports them as SendErrors naming the destination, and each protocol ends what it sent there
 * at once: the uTP connections to that address (ERR_SEND_FAILED instead of a timeout many
 * seconds later), the DHT queries awaiting it. A passing shortage (ENOBUFS) ends nothing.
 * Real Linux refusals through node:dgram: test/netns/utp-send-errors.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { SendError, type TrackerlessError } from '../../lib/errors.js';
import { formatAddress, type Address } from '../../lib/net/address.js';
import type { DatagramHandler, Transport } from '../../lib/net/transport.js';
import { RpcSocket } from '../../lib/rpc/rpc-socket.js';
import { seededRandom } from '../../lib/util/random.js';
import type { UtpConnection } from '../../lib/utp/connection.js';
import { UtpSocket } from '../../lib/utp/socket.js';
import { FakeClock } from '../support/fake-clock.js';
import { LossyLink } from '../support/lossy-link.js';

/**
 * A transport whose sends to some addresses the "system" refuses with a code: reported (on a
 * later turn, as dgram does) for checked sends only.
 */
class RefusingTransport implements Transport {
  readonly refuse = new Map<string, string>();
  checked = 0;
  unchecked = 0;
  private errorHandler: ((err: Error) => void) | null = null;

  constructor(
    private readonly inner: Transport,
    private readonly clock: FakeClock
  ) {}

  send(data: Uint8Array, to: Address, unchecked?: boolean): void {
    this.sendv([data], to, unchecked);
  }

  sendv(parts: readonly Uint8Array[], to: Address, unchecked?: boolean): void {
    if (unchecked) this.unchecked++;
    else this.checked++;
    const code = this.refuse.get(formatAddress(to));
    if (code === undefined) {
      this.inner.sendv(parts, to);
      return;
    }
    if (!unchecked) this.clock.setTimeout(() => this.errorHandler?.(new SendError(to, code)), 0);
  }

  onMessage(handler: DatagramHandler): void {
    this.inner.onMessage(handler);
  }
  onError(handler: (err: Error) => void): void {
    this.errorHandler = handler;
  }
  address(): Address {
    return this.inner.address();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function utpPair() {
  const clock = new FakeClock(1_000_000);
  const link = new LossyLink(clock, { delayMs: 10 });
  const ta = new RefusingTransport(link.a, clock);
  const a = new UtpSocket(ta, { clock, random: seededRandom(1) });
  const b = new UtpSocket(link.b, { clock, random: seededRandom(2) });
  const accepted: UtpConnection[] = [];
  b.onConnection((c) => accepted.push(c));
  return { clock, link, ta, a, b, accepted, bAddr: link.b.address() };
}

/** Advance virtual time until `done()` or `limitMs`; returns the time taken, ms. */
async function runUntil(clock: FakeClock, done: () => boolean, limitMs: number): Promise<number> {
  const start = clock.now();
  while (!done() && clock.now() - start < limitMs) {
    clock.advance(1);
    await Promise.resolve();
  }
  return clock.now() - start;
}

describe('refused sends end uTP connections', () => {
  it('a dial to an address the system refuses fails with ERR_SEND_FAILED at once, not after the SYN timeouts', async () => {
    const s = utpPair();
    s.ta.refuse.set(formatAddress(s.bAddr), 'EHOSTUNREACH');
    let err: TrackerlessError | undefined;
    s.a.connect(s.bAddr).catch((e: TrackerlessError) => (err = e));
    const took = await runUntil(s.clock, () => err !== undefined, 10_000);
    expect(err).toBeInstanceOf(SendError);
    expect(err).toMatchObject({ code: 'ERR_SEND_FAILED', systemCode: 'EHOSTUNREACH', to: s.bAddr });
    expect(took).toBeLessThan(10);
    expect(s.a.stats.unreachable).toBe(1);
    expect(s.a.connectionCount).toBe(0);
  });

  it('an established connection ends with ERR_SEND_FAILED within milliseconds once its peer is refused, checking only a sample of its data', async () => {
    const s = utpPair();
    let conn: UtpConnection | undefined;
    void s.a.connect(s.bAddr).then((c) => (conn = c));
    await runUntil(s.clock, () => conn !== undefined && s.accepted.length > 0, 5000);
    let received = 0;
    s.accepted[0]!.onData((c) => (received += c.length));
    let closed = false;
    conn!.onClose(() => (closed = true));
    const chunk = new Uint8Array(64 * 1024);
    const more = (): void => {
      while (!closed && conn!.write(chunk));
    };
    conn!.onDrain(more);
    more();
    await runUntil(s.clock, () => received > 4 * 1024 * 1024, 60_000);
    expect(received).toBeGreaterThan(4 * 1024 * 1024);
    // New data goes out unchecked but for one datagram in 32.
    expect(s.ta.unchecked).toBeGreaterThan(20 * s.ta.checked);

    s.ta.refuse.set(formatAddress(s.bAddr), 'EPERM'); // an iptables DROP on OUTPUT
    const took = await runUntil(s.clock, () => closed, 30_000);
    expect(closed).toBe(true);
    expect(conn!.error).toMatchObject({ code: 'ERR_SEND_FAILED', systemCode: 'EPERM' });
    expect(took).toBeLessThan(100); // the retransmission timeouts would take tens of seconds
    expect(s.a.stats.timeouts).toBe(0);
    expect(s.a.stats.unreachable).toBe(1);
  });

  it('a passing shortage (ENOBUFS) or a refusal for another address ends nothing', async () => {
    const s = utpPair();
    let conn: UtpConnection | undefined;
    void s.a.connect(s.bAddr).then((c) => (conn = c));
    await runUntil(s.clock, () => conn !== undefined, 5000);
    s.ta.refuse.set('10.9.9.9:1', 'EPERM');
    s.a.connect({ host: '10.9.9.9', port: 1 }).catch(() => {});
    s.ta.refuse.set(formatAddress(s.bAddr), 'ENOBUFS');
    conn!.write(new Uint8Array(1000));
    await runUntil(s.clock, () => false, 50);
    s.ta.refuse.delete(formatAddress(s.bAddr));
    expect(conn!.state).toBe('connected');
    expect(conn!.error).toBeNull();
    expect(s.a.stats.unreachable).toBe(1); // the dial to 10.9.9.9 only
  });
});

describe('refused sends fail DHT queries', () => {
  it('the queries awaiting a refused address fail with ERR_SEND_FAILED at once; others still wait', async () => {
    const clock = new FakeClock(1_000_000);
    const link = new LossyLink(clock, { delayMs: 10 });
    const t = new RefusingTransport(link.a, clock);
    const rpc = new RpcSocket({ transport: t, clock, random: seededRandom(3), timeoutMs: 2000 });
    t.onError((err) => {
      if (err instanceof SendError) rpc.sendFailed(err);
    });
    const id = new Uint8Array(20);
    const refused = { host: '10.1.1.1', port: 6881 };
    t.refuse.set(formatAddress(refused), 'ENETUNREACH');
    const outcomes: string[] = [];
    const ask = (to: Address, label: string): void => {
      rpc.query(to, { method: 'ping', id }).then(
        () => outcomes.push(`${label}:ok`),
        (e: TrackerlessError) =>
          outcomes.push(`${label}:${e.code}${clock.now() - 1_000_000 < 5 ? ' at once' : ''}`)
      );
    };
    ask(refused, 'r1');
    ask(refused, 'r2');
    ask(link.b.address(), 'silent'); // nobody answers on b: times out
    await runUntil(clock, () => outcomes.length >= 2, 100);
    expect(outcomes.sort()).toEqual(['r1:ERR_SEND_FAILED at once', 'r2:ERR_SEND_FAILED at once']);
    expect(rpc.counters.sendFailures).toBe(2);
    expect(rpc.inflight()).toBe(1);
    await runUntil(clock, () => outcomes.length >= 3, 3000);
    expect(outcomes).toContain('silent:ERR_TIMEOUT');
    expect(clock.now() - 1_000_000).toBeGreaterThanOrEqual(2000);
    rpc.close();
  });
});
