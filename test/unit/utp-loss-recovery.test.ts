/**
 * uTP loss recovery (lib/utp/loss-recovery.ts) on its own, in virtual time: the connection's
 * parts (send window, LEDBAT, RTT, pacer, deadlines) driven by a stand-in connection that
 * records what it is asked to resend, acks built the way a receiver builds them.
 */
import { describe, expect, it } from '@jest/globals';
import { Deadlines } from '../../lib/utp/deadlines.js';
import { Ledbat } from '../../lib/utp/ledbat.js';
import { LossRecovery, type RecoveryHost } from '../../lib/utp/loss-recovery.js';
import { Pacer } from '../../lib/utp/pacer.js';
import { RttEstimator } from '../../lib/utp/rtt.js';
import { seqAdd } from '../../lib/utp/seq.js';
import { SendWindow, type SentPacket } from '../../lib/utp/send-window.js';
import { emptyUtpStats } from '../../lib/utp/stats.js';
import { FakeClock } from '../support/fake-clock.js';

const MSS = 1000;
const FIRST = 65_530; // sequence numbers wrap during the tests

function setup(opts: { maxTransmissions?: number } = {}) {
  const clock = new FakeClock(1_000_000);
  const win = new SendWindow(FIRST);
  const cc = new Ledbat(MSS);
  const rtt = new RttEstimator();
  const pacer = new Pacer(clock.now());
  const stats = emptyUtpStats();
  const resent: number[] = [];
  const gaveUp: number[] = [];
  let connected = true;
  const host: RecoveryHost = {
    connected: () => connected,
    retransmit: (p, now) => {
      resent.push(p.seq);
      win.resent(p, now);
      recovery.sent(now);
    },
    maxTransmissions: () => opts.maxTransmissions ?? 4,
    giveUp: (p) => {
      gaveUp.push(p.seq);
      deadlines.stop();
    }
  };
  // The deadlines fire the way the connection dispatches them.
  const deadlines: Deadlines = new Deadlines(clock, (now) => {
    if (now >= deadlines.rtoAt) recovery.onRetransmitTimeout(now);
    if (now >= deadlines.probeAt) recovery.probe(now);
    if (now >= deadlines.lateAt) recovery.detectLate(now);
    deadlines.arm(now);
  });
  const recovery: LossRecovery = new LossRecovery(host, { win, cc, rtt, pacer, deadlines, stats });

  /** Send `n` data packets now; returns their sequence numbers. */
  const send = (n: number): number[] => {
    const seqs: number[] = [];
    const now = clock.now();
    for (let i = 0; i < n; i++) {
      const p: SentPacket = win.add([new Uint8Array(20), new Uint8Array(MSS)], MSS, now);
      seqs.push(p.seq);
      recovery.sent(now);
    }
    deadlines.arm(now);
    return seqs;
  };
  /** An ack as the receiver sends it: cumulative up to `ackNr`, plus `sacked` selectively. */
  const ack = (ackNr: number, sacked: number[] = [], isState = true): void => {
    const now = clock.now();
    let sack: Uint8Array | null = null;
    if (sacked.length > 0) {
      sack = new Uint8Array(4);
      for (const s of sacked) {
        const bit = (s - seqAdd(ackNr, 2) + 0x10000) & 0xffff;
        sack[bit >> 3]! |= 1 << (bit & 7);
      }
    }
    const out = win.onAck(ackNr, sack, isState, now);
    if (Number.isFinite(out.minRttMs)) rtt.sample(out.minRttMs);
    recovery.onAck(out, sack !== null, now);
    deadlines.arm(now);
  };
  return {
    clock,
    win,
    cc,
    rtt,
    stats,
    deadlines,
    resent,
    gaveUp,
    send,
    ack,
    disconnect: () => (connected = false)
  };
}

describe('uTP loss recovery', () => {
  it('a timeout resends the oldest packet, collapses the window to one packet and doubles the timeout', () => {
    const t = setup();
    t.cc.cwnd = 20 * MSS;
    const seqs = t.send(4);
    expect(t.deadlines.rtoAt - t.clock.now()).toBe(1000); // no RTT sample yet: 1 s
    t.clock.advance(999);
    expect(t.resent).toEqual([]);
    t.clock.advance(1);
    expect(t.resent).toEqual([seqs[0]]);
    expect(t.stats.timeouts).toBe(1);
    expect(t.cc.cwnd).toBe(MSS);
    expect(t.cc.slowStart).toBe(true);
    expect(t.cc.ssthresh).toBe(2 * MSS); // half of the 4 packets in flight
    expect(t.deadlines.rtoAt - t.clock.now()).toBe(2000);
    // The resent packet times out too: the flight (1 packet) says nothing, ssthresh is kept.
    t.cc.ssthresh = 3 * MSS;
    t.clock.advance(2000);
    expect(t.resent).toEqual([seqs[0], seqs[0]]);
    expect(t.cc.ssthresh).toBe(3 * MSS);
    // The rest wait in the resend queue for the window, out of flight.
    expect(t.win.inFlight).toBe(MSS);
    expect(t.win.peekResend()?.seq).toBe(seqs[1]);
  });

  it('an ack that acknowledges something ends the backoff and restarts the timeout', () => {
    const t = setup();
    const seqs = t.send(3);
    t.clock.advance(1000); // first timeout: the next waits 2 s
    t.clock.advance(40);
    t.ack(seqs[0]!);
    // 40 ms after its retransmission; the sample is skipped (Karn), so the RTO is still 1 s.
    expect(t.deadlines.rtoAt - t.clock.now()).toBe(1000);
  });

  it('gives up once the oldest packet went unanswered its allowed number of times', () => {
    const t = setup({ maxTransmissions: 3 });
    const [first] = t.send(2);
    for (let i = 0; i < 20 && t.gaveUp.length === 0; i++) t.clock.advance(1000);
    expect(t.resent).toEqual([first, first]); // sent 3 times in all
    expect(t.gaveUp).toEqual([first]);
    expect(t.stats.timeouts).toBe(3);
  });

  it('resends what a selective ack shows lost at once, cutting the window once per window of packets', () => {
    const t = setup();
    t.cc.cwnd = 20 * MSS;
    const s = t.send(10);
    t.clock.advance(20);
    // s[1] is missing with 3 packets acked past it; then s[5] likewise, in the same window.
    t.ack(s[0]!, [s[2]!, s[3]!, s[4]!]);
    expect(t.resent).toEqual([s[1]]);
    expect(t.cc.cwnd).toBe(10 * MSS);
    t.clock.advance(200); // past Ledbat's own once-per-interval limit: only the window holds it back
    t.ack(s[0]!, [s[2]!, s[3]!, s[4]!, s[6]!, s[7]!, s[8]!]);
    // (The tail-loss probe resent the newest, s[9], during the silence.)
    expect(t.resent).toEqual([s[1], s[9], s[5]]);
    expect(t.stats.fastRetransmits).toBe(2);
    expect(t.stats.probes).toBe(1);
    expect(t.cc.cwnd).toBe(10 * MSS);
    // A loss among packets sent after the cut is a new event: the window is cut again.
    const later = t.send(5);
    t.clock.advance(20);
    t.ack(s[9]!, [later[1]!, later[2]!, later[3]!]);
    expect(t.resent).toContain(later[0]);
    expect(t.cc.cwnd).toBe(5 * MSS);
  });

  it('declares a packet sent before an acknowledged one lost after 1.25 round trips, not at once', () => {
    const t = setup();
    t.cc.cwnd = 20 * MSS;
    const s = t.send(3);
    t.clock.advance(40);
    t.ack(s[0]!, [s[2]!]); // s[1] missing, only one packet past it: no fast retransmit
    expect(t.rtt.srttMs).toBe(40);
    expect(t.stats.lateLosses).toBe(0);
    expect(t.deadlines.lateAt).toBe(t.clock.now() - 40 + 50); // sent 40 ms ago, allowance 50 ms
    t.clock.advance(9);
    expect(t.stats.lateLosses).toBe(0);
    t.clock.advance(1);
    expect(t.stats.lateLosses).toBe(1);
    // Queued for the connection to resend as the window allows, out of flight, window cut.
    expect(t.win.peekResend()?.seq).toBe(s[1]);
    expect(t.win.inFlight).toBe(0);
    expect(t.cc.cwnd).toBe(10 * MSS);
  });

  it('probes once with the newest packet after two round trips of silence, leaving the window alone', () => {
    const t = setup();
    t.cc.cwnd = 20 * MSS;
    const s = t.send(1);
    t.clock.advance(30);
    t.ack(s[0]!);
    const burst = t.send(6); // the whole burst is lost
    const probeAt = t.clock.now() + 60; // 2 x 30 ms
    expect(t.deadlines.probeAt).toBe(probeAt);
    t.clock.advance(59);
    expect(t.resent).toEqual([]);
    t.clock.advance(1);
    expect(t.resent).toEqual([burst[5]]);
    expect(t.stats.probes).toBe(1);
    expect(t.cc.cwnd).toBe(20 * MSS);
    // No second probe in the same silence: the timeout is next.
    t.clock.advance(400);
    expect(t.stats.probes).toBe(1);
    // The probe's ack shows the hole; everything before it is lost by time.
    t.ack(s[0]!, [burst[5]!]);
    t.clock.advance(40);
    expect(t.stats.lateLosses).toBe(5);
    expect(t.win.peekResend()?.seq).toBe(burst[0]);
  });

  it('before the connection is established a timeout resends without touching the window, and nothing is probed', () => {
    const t = setup();
    t.disconnect();
    const before = t.cc.cwnd;
    const [syn] = t.send(1);
    t.rtt.sample(30);
    t.clock.advance(1000);
    expect(t.resent).toEqual([syn]);
    expect(t.cc.cwnd).toBe(before);
    expect(t.stats.probes).toBe(0);
    t.ack(syn!);
    expect(t.deadlines.rtoAt).toBe(Infinity);
    expect(t.deadlines.probeAt).toBe(Infinity);
  });
});
