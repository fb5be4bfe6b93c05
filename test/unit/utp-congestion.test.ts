/**
 * LEDBAT window arithmetic, the RTT/RTO estimator, the base-delay history (BEP 29) and the pacer.
 */
import { describe, expect, it } from '@jest/globals';
import { DelayHistory } from '../../lib/utp/delay-history.js';
import { Ledbat } from '../../lib/utp/ledbat.js';
import { OneWayDelays } from '../../lib/utp/one-way-delays.js';
import { Pacer } from '../../lib/utp/pacer.js';
import { RttEstimator } from '../../lib/utp/rtt.js';

const MSS = 1000;

describe('Ledbat', () => {
  it('doubles per round trip in slow start while the delay is under target', () => {
    const cc = new Ledbat(MSS);
    expect(cc.cwnd).toBe(2 * MSS);
    cc.cwnd = 20 * MSS;
    // One round trip: the whole window is acked.
    cc.onAck(cc.cwnd, 10_000, cc.cwnd, true);
    expect(cc.cwnd).toBe(40 * MSS);
    expect(cc.slowStart).toBe(true);
    // Small windows grow by at least the linear gain (libtorrent: max(exponential, linear)).
    const small = new Ledbat(MSS);
    small.onAck(2 * MSS, 0, 2 * MSS, true);
    expect(small.cwnd).toBe(2 * MSS + 3000);
  });

  it('leaves slow start at 3/4 of the target delay', () => {
    const cc = new Ledbat(MSS);
    cc.cwnd = 64 * MSS;
    cc.onAck(MSS, 70_000, 64 * MSS, true);
    expect(cc.slowStart).toBe(true);
    cc.onAck(MSS, 75_000, 64 * MSS, true);
    expect(cc.slowStart).toBe(false);
    expect(cc.ssthresh).toBe(65 * MSS); // the window when it left
  });

  it('grows by up to 3000 bytes per round trip below target (BEP 29), shrinks in proportion above it', () => {
    const cc = new Ledbat(MSS);
    cc.slowStart = false;
    cc.cwnd = 100_000;
    // A full window acked at zero queueing delay: + MAX_CWND_INCREASE (3000) * 1 * 1.
    cc.onAck(100_000, 0, 100_000, true);
    expect(cc.cwnd).toBeCloseTo(103_000, 6);
    // Half the window acked at 50 ms: + 3000 * 0.5 * 0.5.
    cc.onAck(51_500, 50_000, 103_000, true);
    expect(cc.cwnd).toBeCloseTo(103_750, 6);
    // At 120 ms: - cwnd * 0.2 per full window (LEDBAT++ multiplicative decrease).
    cc.onAck(103_750, 120_000, 103_750, true);
    expect(cc.cwnd).toBeCloseTo(83_000, 6);
    // At 300 ms: cwnd * 2 would be more than half: halved.
    cc.onAck(83_000, 300_000, 83_000, true);
    expect(cc.cwnd).toBeCloseTo(41_500, 6);
  });

  it('after a loss, grows near the window that lost as fast per second as on a 25 ms path, then forgets it', () => {
    // A 1 ms path whose loss comes from a small buffer, far under the delay target (a
    // receiver's UDP buffer): BEP 29's 3000 bytes per round trip would regain a halving of
    // 140 kB in ~23 ms and lose again.
    const cc = new Ledbat(MSS);
    cc.cwnd = 140_000;
    cc.onLoss(0);
    expect(cc.cwnd).toBe(70_000);
    expect(cc.ceiling).toBe(140_000);
    const roundTrip = (): void => cc.onAck(cc.cwnd, 0, cc.cwnd, true, 1);
    // Below 80 % of the ceiling the window grows as before: 3000 bytes per round trip.
    roundTrip();
    expect(cc.cwnd).toBeCloseTo(73_000, 6);
    while (cc.cwnd < 0.8 * 140_000) roundTrip();
    // From there, 3000 * 1 / 25 = 120 bytes per 1 ms round trip: 100 round trips (0.1 s)
    // later it is still under the window that lost.
    const near = cc.cwnd;
    for (let i = 0; i < 100; i++) roundTrip();
    expect(cc.cwnd).toBeCloseTo(near + 100 * 120, 6);
    expect(cc.cwnd).toBeLessThan(140_000);
    // It goes on probing past the ceiling, and forgets it at 1.5 times without a loss.
    for (let i = 0; i < 1000 && cc.ceiling !== Infinity; i++) roundTrip();
    expect(cc.ceiling).toBe(Infinity);
    expect(cc.cwnd).toBeGreaterThanOrEqual(1.5 * 140_000);
    const past = cc.cwnd;
    roundTrip();
    expect(cc.cwnd).toBeCloseTo(past + 3000, 6);
  });

  it('keeps BEP 29 growth near the loss ceiling on paths of 25 ms or more', () => {
    const cc = new Ledbat(MSS);
    cc.cwnd = 140_000;
    cc.onLoss(0);
    cc.cwnd = 130_000;
    cc.onAck(cc.cwnd, 0, cc.cwnd, true, 40);
    expect(cc.cwnd).toBeCloseTo(133_000, 6);
  });

  it('does not change the window when the sender is not using it', () => {
    const cc = new Ledbat(MSS);
    cc.slowStart = false;
    cc.cwnd = 50_000;
    cc.onAck(10_000, 0, 10_000, false);
    expect(cc.cwnd).toBe(50_000);
  });

  it('never shrinks faster than halving per round trip, nor below one packet', () => {
    const cc = new Ledbat(MSS);
    cc.slowStart = false;
    cc.cwnd = 10_000;
    cc.onAck(10_000, 10_000_000, 10_000, true); // 10 s of queueing
    expect(cc.cwnd).toBe(5_000);
    for (let i = 0; i < 20; i++) cc.onAck(cc.cwnd, 10_000_000, cc.cwnd, true);
    expect(cc.cwnd).toBe(MSS);
  });

  it('halves on loss at most once per 100 ms, and restarts from one packet on a timeout', () => {
    const cc = new Ledbat(MSS);
    cc.cwnd = 40_000;
    expect(cc.onLoss(1000)).toBe(true);
    expect(cc.cwnd).toBe(20_000);
    expect(cc.slowStart).toBe(false);
    expect(cc.onLoss(1050)).toBe(false);
    expect(cc.cwnd).toBe(20_000);
    expect(cc.onLoss(1100)).toBe(true);
    expect(cc.cwnd).toBe(10_000);
    cc.onTimeout(10_000, false);
    expect(cc.cwnd).toBe(MSS);
    expect(cc.slowStart).toBe(true);
  });

  it('a timeout restarts slow start from one packet, ending at half the flight that was lost (RFC 5681)', () => {
    const cc = new Ledbat(MSS);
    cc.cwnd = 40_000;
    cc.onTimeout(30_000, false);
    expect(cc.cwnd).toBe(MSS);
    expect(cc.slowStart).toBe(true);
    expect(cc.ssthresh).toBe(15_000);
    // Slow start doubles per round trip (every acked byte), then stops at ssthresh.
    for (let i = 0; i < 10 && cc.slowStart; i++) cc.onAck(cc.cwnd, 0, cc.cwnd, true);
    expect(cc.slowStart).toBe(false);
    expect(cc.cwnd).toBeLessThanOrEqual(15_000 + 3000);
    expect(cc.cwnd).toBeGreaterThanOrEqual(15_000 / 2);
    // The timer fires again for the resent packet: ssthresh is kept, the window collapses.
    cc.onTimeout(MSS, true);
    expect(cc.ssthresh).toBe(15_000);
    expect(cc.cwnd).toBe(MSS);
    // A first timeout with almost nothing in flight: ssthresh floors at two packets.
    cc.onTimeout(500, false);
    expect(cc.ssthresh).toBe(2 * MSS);
  });
});

describe('RttEstimator', () => {
  it('starts at 1000 ms, follows BEP 29 smoothing, floors at 500 ms and backs off', () => {
    const r = new RttEstimator();
    expect(r.rtoMs()).toBe(1000);
    r.sample(100);
    expect(r.srttMs).toBe(100);
    expect(r.rtoMs()).toBe(500); // 100 + 4 * 50 = 300 < 500
    r.sample(900);
    // delta = 100 - 900 = -800: var = 50 + (800 - 50) / 4 = 237.5; rtt = 100 + 800 / 8 = 200
    expect(r.srttMs).toBe(200);
    expect(r.rtoMs()).toBe(200 + 4 * 237.5);
    r.timedOut();
    r.timedOut();
    expect(r.rtoMs()).toBe(4 * (200 + 4 * 237.5));
    r.heard();
    expect(r.rtoMs()).toBe(200 + 4 * 237.5);
    for (let i = 0; i < 30; i++) r.timedOut();
    expect(r.rtoMs()).toBe(60_000);
  });

  it('paces over the smoothed round trip, or the latest sample when lower (a queue drained), at least 1 ms', () => {
    const r = new RttEstimator();
    expect(r.pacingRttMs).toBe(0); // nothing measured: no pacing
    for (let i = 0; i < 20; i++) r.sample(500);
    expect(r.pacingRttMs).toBe(500);
    r.sample(20); // the queue behind a competing flow is gone
    expect(r.srttMs).toBeGreaterThan(400);
    expect(r.pacingRttMs).toBe(20);
    r.sample(800);
    expect(r.pacingRttMs).toBeCloseTo(r.srttMs);
    r.sample(0);
    expect(r.pacingRttMs).toBe(1);
  });
});

describe('DelayHistory', () => {
  it('measures against the minimum of the last two minutes, across the 32-bit wrap', () => {
    const h = new DelayHistory();
    const base = 0xffffff00;
    expect(h.add(base + 5000, 0)).toBe(0);
    expect(h.add((base + 1000) >>> 0, 1000)).toBe(0); // new minimum
    expect(h.add((base + 41_000) >>> 0, 2000)).toBe(40_000);
    // A slot later the old minimum still counts; two slots later it has aged out.
    expect(h.add((base + 21_000) >>> 0, 61_000)).toBe(20_000);
    expect(h.add((base + 31_000) >>> 0, 122_000)).toBe(10_000);
  });

  it('moves its base up when told the peer clock drifts', () => {
    const h = new DelayHistory();
    h.add(10_000, 0);
    h.adjustBase(500);
    expect(h.add(12_000, 1)).toBe(1_500);
  });
});

describe('OneWayDelays', () => {
  /** A connection whose first sample (the base: no queue) came at -1000 ms. */
  function delays(): OneWayDelays {
    const d = new OneWayDelays();
    d.addPeerSample(50_000, -1000);
    return d;
  }

  /** Acks every `everyMs` from `from` to `to` (ms), each reporting base + `queueMs`(t). */
  function acks(
    d: OneWayDelays,
    from: number,
    to: number,
    everyMs: number,
    queueMs: (t: number) => number
  ): number[] {
    const seen: number[] = [];
    for (let t = from; t < to; t += everyMs) {
      d.addPeerSample(50_000 + queueMs(t) * 1000, t);
      seen.push(d.queueingDelayUs / 1000);
    }
    return seen;
  }

  it('does not take a spike of tens of ms (a process waiting for a CPU) for a queue', () => {
    const d = delays();
    acks(d, 0, 1000, 1, () => 5); // a 1 ms path, 5 ms of queue, an ack per ms
    // The receiver waits 40 ms for a CPU: the 40 acks it then sends all carry the wait.
    const during = acks(d, 1000, 1040, 1, (t) => 5 + 40 - (t - 1000));
    expect(Math.max(...during)).toBe(5);
    const after = acks(d, 1040, 1200, 1, () => 5);
    expect(Math.max(...after)).toBe(5);
  });

  it('shows a queue that lasts longer than ~100 ms, and one that drains at once', () => {
    const d = delays();
    acks(d, 0, 1000, 10, () => 5);
    const rising = acks(d, 1000, 1300, 10, () => 60); // another flow fills the bottleneck
    expect(rising[rising.length - 1]).toBe(60);
    expect(rising.findIndex((q) => q === 60)).toBeLessThanOrEqual(10); // within 100 ms
    const drained = acks(d, 1300, 1310, 10, () => 2);
    expect(drained[0]).toBe(2);
  });

  it('with acks further apart than the window, takes the least of the last 3 samples', () => {
    const d = delays();
    const seen = acks(d, 0, 1000, 200, (t) => (t === 400 ? 30 : 10));
    // (The base sample is among the last 3 for the first two; the 30 ms one at 400 never shows.)
    expect(seen).toEqual([0, 0, 10, 10, 10]);
  });
});

describe('Pacer', () => {
  it('does not pace before the first loss, nor before a round trip is measured', () => {
    const p = new Pacer(0);
    p.setRate(100 * MSS, 10, false);
    for (let i = 0; i < 1000; i++) expect(p.take(MSS, 0)).toBe(true);
    p.start();
    p.setRate(100 * MSS, 0, false);
    for (let i = 0; i < 1000; i++) expect(p.take(MSS, 0)).toBe(true);
  });

  it('lets gain * cwnd / srtt bytes leave per ms (1.25, 2 in slow start), holding 2 ms of it', () => {
    const p = new Pacer(0);
    p.start();
    p.setRate(100 * MSS, 10, false); // 12.5 packets per ms
    expect(p.take(MSS, 0)).toBe(false); // an empty bucket
    expect(p.readyAt(0)).toBe(1);
    const sentBy = (t: number): number => {
      let n = 0;
      while (p.take(MSS, t)) n++;
      return n;
    };
    // Idle for 100 ms: at most 2 ms of the rate (25 packets).
    expect(sentBy(100)).toBe(25);
    expect(p.take(MSS, 100)).toBe(false);
    expect(p.readyAt(100)).toBe(101);
    // Then 12.5 packets per ms on average.
    let total = 0;
    for (let t = 101; t <= 200; t++) total += sentBy(t);
    expect(total).toBeGreaterThanOrEqual(1240);
    expect(total).toBeLessThanOrEqual(1260);
    p.setRate(100 * MSS, 10, true);
    total = 0;
    for (let t = 201; t <= 300; t++) total += sentBy(t);
    expect(total).toBeGreaterThanOrEqual(1990);
    expect(total).toBeLessThanOrEqual(2010);
  });

  it('makes the next packet wait as long as the last one overdrew the bucket', () => {
    const p = new Pacer(0);
    p.start();
    p.setRate(10 * MSS, 100, false); // 125 bytes per ms
    expect(p.take(100, 1)).toBe(true); // 125 in the bucket (1 ms), 25 left
    expect(p.take(MSS, 1)).toBe(true); // overdraws to -975
    expect(p.take(MSS, 1)).toBe(false);
    expect(p.readyAt(1)).toBe(1 + Math.ceil(976 / 125));
    expect(p.take(MSS, 8)).toBe(false);
    expect(p.take(MSS, 9)).toBe(true);
  });
});
