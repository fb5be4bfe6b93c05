/**
 * One timer behind a uTP connection's deadlines (lib/utp/deadlines.ts), in virtual time.
 */
import { describe, expect, it } from '@jest/globals';
import { Deadlines } from '../../lib/utp/deadlines.js';
import { FakeClock } from '../support/fake-clock.js';

function setup() {
  const clock = new FakeClock(1000);
  const fired: number[] = [];
  const d = new Deadlines(clock, (now) => fired.push(now));
  return { clock, d, fired };
}

describe('Deadlines', () => {
  it('arms nothing while no deadline is set', () => {
    const { clock, d, fired } = setup();
    d.arm(clock.now());
    expect(clock.pendingTimers()).toBe(0);
    expect(d.next()).toBe(Infinity);
    clock.advance(60_000);
    expect(fired).toEqual([]);
  });

  it('fires at the earliest of its deadlines', () => {
    const { clock, d, fired } = setup();
    d.rtoAt = 1500;
    d.keepaliveAt = 30_000;
    d.lingerAt = 3000;
    d.synRecvAt = 11_000;
    d.paceAt = 1002;
    expect(d.next()).toBe(1002);
    d.arm(clock.now());
    clock.advance(1);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual([1002]);
  });

  it('leaves the armed timer alone when a deadline moves later, and fires early (the owner re-arms)', () => {
    const { clock, d, fired } = setup();
    d.rtoAt = 1500;
    d.arm(clock.now());
    // Acks push the retransmission timeout back many times: one timer throughout.
    for (let t = 1; t <= 100; t++) {
      d.rtoAt = 1500 + t;
      d.arm(clock.now());
    }
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(500);
    // Fired at the first arming's time although nothing is due; re-arming finds the new one.
    expect(fired).toEqual([1500]);
    expect(clock.pendingTimers()).toBe(0);
    d.arm(clock.now());
    clock.advance(99);
    expect(fired).toEqual([1500]);
    clock.advance(1);
    expect(fired).toEqual([1500, 1600]);
  });

  it('re-arms at once for a deadline earlier than the armed one', () => {
    const { clock, d, fired } = setup();
    d.keepaliveAt = 30_000;
    d.arm(clock.now());
    d.paceAt = 1001;
    d.arm(clock.now());
    expect(clock.pendingTimers()).toBe(1); // the later timer was cancelled
    clock.advance(1);
    expect(fired).toEqual([1001]);
  });

  it('fires at once for a deadline already past', () => {
    const { clock, d, fired } = setup();
    d.rtoAt = 900;
    d.arm(clock.now());
    clock.advance(0);
    expect(fired).toEqual([1000]);
  });

  it('never fires again once stopped', () => {
    const { clock, d, fired } = setup();
    d.rtoAt = 1100;
    d.arm(clock.now());
    d.stop();
    expect(clock.pendingTimers()).toBe(0);
    d.lingerAt = 1050;
    d.arm(clock.now());
    clock.advance(10_000);
    expect(fired).toEqual([]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a deadline cleared before the timer fires is not reported as due (Infinity)', () => {
    const { clock, d, fired } = setup();
    d.synRecvAt = 1200;
    d.arm(clock.now());
    d.synRecvAt = Infinity;
    clock.advance(200);
    expect(fired).toEqual([1200]); // the owner checks each deadline against now
    expect(d.next()).toBe(Infinity);
    d.arm(clock.now());
    expect(clock.pendingTimers()).toBe(0);
  });
});
