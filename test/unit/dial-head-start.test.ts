/**
 * Two transports for one peer, in virtual time: the second is dialed when the first fails or
 * has not connected within TRANSPORT_HEAD_START_MS, the first stream to connect wins and the
 * other is closed or aborted; 'both' dials both at once; an abort ends everything. A peer whose
 * uTP went unanswered while TCP connected is redialed TCP first for a while.
 */
import { describe, expect, it } from '@jest/globals';
import {
  connectPeer,
  TRANSPORT_HEAD_START_MS,
  UTP_FALLBACK_TIMEOUT_MS,
  type PeerDialOptions
} from '../../lib/engine/peers/connect-peer.js';
import { TCP_ONLY_TTL_MS, TcpOnlyPeers } from '../../lib/engine/peers/tcp-only-peers.js';
import { AbortError, TimeoutError, TrackerlessError } from '../../lib/errors.js';
import type { Address } from '../../lib/net/address.js';
import type { PeerTransport, WireStream } from '../../lib/net/stream.js';
import type { TimerHandle } from '../../lib/util/clock.js';
import { pipePair } from '../../lib/wire/memory-stream.js';
import { FakeClock } from '../support/fake-clock.js';

const peer: Address = { host: '10.0.0.2', port: 6881 };
const infoHash = new Uint8Array(20);

/** How a fake transport answers a dial: connect after `ms`, fail after `ms`, or never. */
type Answer = { connectAfter: number } | { failAfter: number } | 'never';

interface Dial {
  transport: PeerTransport;
  at: number;
  timeoutMs: number | undefined;
  aborted: boolean;
  stream: (WireStream & { closed: boolean }) | null;
}

/** A stream that records whether it was closed. */
function stream(transport: PeerTransport): WireStream & { closed: boolean } {
  const [end] = pipePair();
  const s = Object.assign(Object.create(end) as WireStream, { transport, closed: false });
  s.close = () => {
    s.closed = true;
    end.close();
  };
  return s;
}

/** Fake dialers for both transports on `clock`, answering as told; every dial is recorded. */
function dialers(clock: FakeClock, answers: Record<PeerTransport, Answer>) {
  const dials: Dial[] = [];
  const dial = (
    transport: PeerTransport,
    opts: { signal?: AbortSignal; timeoutMs?: number }
  ): Promise<WireStream> => {
    const d: Dial = { transport, at: clock.now(), timeoutMs: opts.timeoutMs, aborted: false, stream: null };
    dials.push(d);
    return new Promise((resolve, reject) => {
      const answer = answers[transport];
      const timers: TimerHandle[] = [];
      // Like the real dialers: the abort listener goes once the dial has settled.
      const onAbort = (): void => {
        d.aborted = true;
        done();
        reject(new AbortError());
      };
      const done = (): void => {
        for (const t of timers) t.cancel();
        opts.signal?.removeEventListener('abort', onAbort);
      };
      const after = (ms: number, fn: () => void): void => {
        timers.push(
          clock.setTimeout(() => {
            done();
            fn();
          }, ms)
        );
      };
      after(opts.timeoutMs ?? 10_000, () => reject(new TimeoutError(`${transport} timed out`)));
      if (answer !== 'never' && 'connectAfter' in answer)
        after(answer.connectAfter, () => {
          d.stream = stream(transport);
          resolve(d.stream);
        });
      if (answer !== 'never' && 'failAfter' in answer)
        after(answer.failAfter, () =>
          reject(new TrackerlessError('ERR_CONNECTION_RESET', `${transport} refused`))
        );
      opts.signal?.addEventListener('abort', onAbort);
    });
  };
  const options: PeerDialOptions = {
    clock,
    encryption: 'disabled',
    utp: { connect: (_a, o) => dial('utp', o) },
    tcp: (_a, o) => dial('tcp', o)
  };
  return { dials, options };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Advance virtual time in 10 ms steps until `p` settles (at most `ms`). */
async function runUntil<T>(clock: FakeClock, p: Promise<T>, ms = 20_000) {
  let out: { value?: T; error?: unknown; at?: number } = {};
  p.then(
    (value) => (out = { value, at: clock.now() }),
    (error: unknown) => (out = { error, at: clock.now() })
  );
  for (let t = 0; t <= ms && out.at === undefined; t += 10) {
    await turn();
    if (out.at === undefined) clock.advance(10);
  }
  await turn();
  return out;
}

describe('dialing two transports', () => {
  it("'utp-first' to a peer without uTP: TCP after the head start, not after the uTP timeout", async () => {
    const clock = new FakeClock();
    const { dials, options } = dialers(clock, { utp: 'never', tcp: { connectAfter: 20 } });
    const out = await runUntil(clock, connectPeer(peer, infoHash, { ...options, transport: 'utp-first' }));
    expect(out.value?.transport).toBe('tcp');
    expect(dials.map((d) => [d.transport, d.at])).toEqual([
      ['utp', 0],
      ['tcp', TRANSPORT_HEAD_START_MS]
    ]);
    expect(out.at).toBe(TRANSPORT_HEAD_START_MS + 20);
    expect(dials[0]!.timeoutMs).toBe(UTP_FALLBACK_TIMEOUT_MS);
    expect(dials[0]!.aborted).toBe(true); // the uTP dial stops once TCP has won
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a uTP peer answering within the head start is never dialed over TCP', async () => {
    const clock = new FakeClock();
    const { dials, options } = dialers(clock, { utp: { connectAfter: 300 }, tcp: { connectAfter: 5 } });
    const out = await runUntil(clock, connectPeer(peer, infoHash, options));
    expect(out.value?.transport).toBe('utp');
    expect(out.at).toBe(300);
    expect(dials.map((d) => d.transport)).toEqual(['utp']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a slow uTP answer still wins over a TCP dial that started later and is slower; the loser is aborted', async () => {
    const clock = new FakeClock();
    const { dials, options } = dialers(clock, {
      utp: { connectAfter: TRANSPORT_HEAD_START_MS + 100 },
      tcp: { connectAfter: 200 }
    });
    const out = await runUntil(clock, connectPeer(peer, infoHash, options));
    expect(out.value?.transport).toBe('utp');
    expect(dials.map((d) => [d.transport, d.at, d.aborted])).toEqual([
      ['utp', 0, false],
      ['tcp', TRANSPORT_HEAD_START_MS, true]
    ]);
  });

  it('a stream that connects after the winner is closed', async () => {
    const clock = new FakeClock();
    const { dials, options } = dialers(clock, { utp: { connectAfter: 0 }, tcp: { connectAfter: 0 } });
    // 'both': dialed at once; both connect in the same instant and the second is closed.
    const out = await runUntil(clock, connectPeer(peer, infoHash, { ...options, transport: 'both' }));
    expect(dials.map((d) => [d.transport, d.at])).toEqual([
      ['utp', 0],
      ['tcp', 0]
    ]);
    expect(dials[0]!.timeoutMs).toBe(10_000); // 'both': nothing behind uTP, its full timeout
    const winner = out.value!;
    const loser = dials.find((d) => d.stream !== winner)!;
    expect(loser.stream?.closed).toBe(true);
    expect(dials.find((d) => d.stream === winner)!.stream!.closed).toBe(false);
  });

  it('a refused first transport brings the second in at once', async () => {
    const clock = new FakeClock();
    const { dials, options } = dialers(clock, { utp: { failAfter: 30 }, tcp: { connectAfter: 10 } });
    const out = await runUntil(clock, connectPeer(peer, infoHash, options));
    expect(out.value?.transport).toBe('tcp');
    expect(dials.map((d) => [d.transport, d.at])).toEqual([
      ['utp', 0],
      ['tcp', 30]
    ]);
    expect(out.at).toBe(40);
  });

  it('a PEX peer without the uTP flag: TCP first, uTP beside it after the head start', async () => {
    const clock = new FakeClock();
    const { dials, options } = dialers(clock, { utp: { connectAfter: 50 }, tcp: 'never' });
    const out = await runUntil(clock, connectPeer(peer, infoHash, { ...options, utpHint: false }));
    expect(out.value?.transport).toBe('utp');
    expect(dials.map((d) => [d.transport, d.at, d.aborted])).toEqual([
      ['tcp', 0, true],
      ['utp', TRANSPORT_HEAD_START_MS, false]
    ]);
    expect(dials[1]!.timeoutMs).toBe(10_000); // nothing behind it: the whole connect timeout
  });

  it('both failing rejects once both have failed', async () => {
    const clock = new FakeClock();
    const { dials, options } = dialers(clock, { utp: 'never', tcp: { failAfter: 100 } });
    const out = await runUntil(clock, connectPeer(peer, infoHash, options));
    expect(out.error).toBeInstanceOf(TimeoutError); // uTP's, the last to fail
    expect(out.at).toBe(UTP_FALLBACK_TIMEOUT_MS);
    expect(dials.map((d) => d.transport)).toEqual(['utp', 'tcp']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('an abort ends both dials and is not a reason to try the other transport', async () => {
    const clock = new FakeClock();
    const { dials, options } = dialers(clock, { utp: 'never', tcp: 'never' });
    const ac = new AbortController();
    const p = connectPeer(peer, infoHash, { ...options, signal: ac.signal });
    clock.setTimeout(() => ac.abort(), 1_000);
    const out = await runUntil(clock, p);
    expect(out.error).toBeInstanceOf(AbortError);
    expect(out.at).toBe(1_000);
    expect(dials.map((d) => [d.transport, d.aborted])).toEqual([
      ['utp', true],
      ['tcp', true]
    ]);
    // Aborted before the head start: TCP is never dialed.
    const clock2 = new FakeClock();
    const two = dialers(clock2, { utp: 'never', tcp: 'never' });
    const ac2 = new AbortController();
    const p2 = connectPeer(peer, infoHash, { ...two.options, signal: ac2.signal });
    clock2.setTimeout(() => ac2.abort(), 100);
    expect((await runUntil(clock2, p2)).error).toBeInstanceOf(AbortError);
    expect(two.dials.map((d) => d.transport)).toEqual(['utp']);
    expect(clock2.pendingTimers()).toBe(0);
  });
});

describe('peers whose uTP goes unanswered', () => {
  it('are redialed TCP first once TCP connected while their uTP SYN went unanswered, until the entry expires', async () => {
    const clock = new FakeClock();
    const answers: Record<PeerTransport, Answer> = { utp: 'never', tcp: { connectAfter: 20 } };
    const { dials, options } = dialers(clock, answers);
    const tcpOnly = new TcpOnlyPeers(clock);
    const dial = () => runUntil(clock, connectPeer(peer, infoHash, { ...options, tcpOnly }));
    const since = (from: number) => dials.slice(from).map((d) => [d.transport, d.at - dials[from]!.at]);

    expect((await dial()).value?.transport).toBe('tcp');
    expect(since(0)).toEqual([
      ['utp', 0],
      ['tcp', TRANSPORT_HEAD_START_MS]
    ]);
    expect(tcpOnly.has(peer)).toBe(true);
    // The redial: TCP at once, and it connects before uTP would join.
    expect((await dial()).value?.transport).toBe('tcp');
    expect(since(2)).toEqual([['tcp', 0]]);
    // Still remembered for (nearly) the whole TTL, then uTP first again.
    clock.advance(TCP_ONLY_TTL_MS - 1_000);
    expect(tcpOnly.has(peer)).toBe(true);
    clock.advance(1_000);
    await dial();
    expect(since(3)).toEqual([
      ['utp', 0],
      ['tcp', TRANSPORT_HEAD_START_MS]
    ]);
    // A uTP dial that timed out before TCP connected counts too.
    const other: Address = { host: '10.0.0.3', port: 6881 };
    answers.tcp = { connectAfter: UTP_FALLBACK_TIMEOUT_MS + 1_000 };
    expect(
      (await runUntil(clock, connectPeer(other, infoHash, { ...options, tcpOnly }))).value?.transport
    ).toBe('tcp');
    expect(tcpOnly.has(other)).toBe(true);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('are not remembered when uTP refused (the peer has uTP), and are forgotten when uTP connects', async () => {
    const clock = new FakeClock();
    const answers: Record<PeerTransport, Answer> = { utp: { failAfter: 10 }, tcp: { connectAfter: 20 } };
    const { dials, options } = dialers(clock, answers);
    const tcpOnly = new TcpOnlyPeers(clock);
    expect(
      (await runUntil(clock, connectPeer(peer, infoHash, { ...options, tcpOnly }))).value?.transport
    ).toBe('tcp');
    expect(tcpOnly.has(peer)).toBe(false);
    // Remembered, but the peer answers uTP now: TCP first, uTP beside it after the head start wins.
    tcpOnly.remember(peer);
    answers.utp = { connectAfter: 10 };
    answers.tcp = 'never';
    expect(
      (await runUntil(clock, connectPeer(peer, infoHash, { ...options, tcpOnly }))).value?.transport
    ).toBe('utp');
    expect(dials.slice(2).map((d) => d.transport)).toEqual(['tcp', 'utp']);
    expect(tcpOnly.has(peer)).toBe(false);
    // Under 'both' (no head start) a faster TCP says nothing about uTP.
    answers.utp = 'never';
    answers.tcp = { connectAfter: 20 };
    await runUntil(clock, connectPeer(peer, infoHash, { ...options, tcpOnly, transport: 'both' }));
    expect(tcpOnly.has(peer)).toBe(false);
  });

  it('are held in a bounded table, the oldest entry going first', () => {
    const clock = new FakeClock();
    const t = new TcpOnlyPeers(clock, 60_000, 3);
    const at = (i: number): Address => ({ host: `10.0.0.${i}`, port: 6881 });
    for (let i = 1; i <= 3; i++) t.remember(at(i));
    t.remember(at(1)); // refreshed: now the newest
    t.remember(at(4));
    expect(t.size).toBe(3);
    expect([1, 2, 3, 4].map((i) => t.has(at(i)))).toEqual([true, false, true, true]);
    expect(t.has({ host: '::1', port: 6881 })).toBe(false);
    clock.advance(60_000);
    expect(t.has(at(1))).toBe(false);
    expect(t.size).toBe(2);
  });
});
