/**
 * Peer connection liveness (lib/wire/liveness.ts) on a fake clock: handshake deadline,
 * keep-alives, the idle timeout, and the periodic check the peer wire uses to release buffers a
 * quiet connection no longer needs.
 */
import { describe, expect, it } from '@jest/globals';
import { Liveness } from '../../lib/wire/liveness.js';
import { FakeClock } from '../support/fake-clock.js';

function setup(): { clock: FakeClock; live: Liveness; log: string[] } {
  const clock = new FakeClock();
  const log: string[] = [];
  const live = new Liveness({
    clock,
    keepAliveIntervalMs: 1_000,
    idleTimeoutMs: 5_000,
    handshakeTimeoutMs: 500,
    onKeepAlive: () => {
      log.push(`keep-alive ${clock.now()}`);
      live.sent();
    },
    onTimeout: (e) => log.push(`timeout ${clock.now()} ${e.message}`),
    onCheck: () => log.push(`check ${clock.now()}`)
  });
  return { clock, live, log };
}

describe('Liveness', () => {
  it('times out a handshake that does not complete, with no check before it', () => {
    const { clock, log } = setup();
    clock.advance(499);
    expect(log).toEqual([]);
    clock.advance(1);
    expect(log).toEqual(['timeout 500 peer handshake not completed in 500 ms']);
  });

  it('checks at least once a keep-alive interval on a busy connection, and sends no keep-alive', () => {
    const { clock, live, log } = setup();
    live.handshakeCompleted();
    for (let t = 0; t < 10_000; t += 100) {
      live.sent();
      live.received();
      clock.advance(100);
    }
    const checks = log.filter((l) => l.startsWith('check')).map((l) => Number(l.split(' ')[1]));
    expect(log.filter((l) => !l.startsWith('check'))).toEqual([]);
    expect(checks.length).toBeGreaterThanOrEqual(9);
    for (let i = 1; i < checks.length; i++) expect(checks[i]! - checks[i - 1]!).toBeLessThanOrEqual(1_000);
  });

  it('on a silent connection: keep-alives and checks every interval, then the idle timeout and nothing after', () => {
    const { clock, live, log } = setup();
    live.handshakeCompleted();
    clock.advance(10_000);
    expect(log).toEqual([
      'keep-alive 1000',
      'check 1000',
      'keep-alive 2000',
      'check 2000',
      'keep-alive 3000',
      'check 3000',
      'keep-alive 4000',
      'check 4000',
      'timeout 5000 peer silent for 5000 ms'
    ]);
  });

  it('stop() ends the checks', () => {
    const { clock, live, log } = setup();
    live.handshakeCompleted();
    clock.advance(1_000);
    live.stop();
    clock.advance(10_000);
    expect(log).toEqual(['keep-alive 1000', 'check 1000']);
  });
});
