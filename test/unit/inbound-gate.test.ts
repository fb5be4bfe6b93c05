import { describe, expect, it } from '@jest/globals';
import { InboundGate, type InboundTicket } from '../../lib/engine/peers/inbound-gate.js';

describe('InboundGate', () => {
  it('limits pending and established connections per IP; a closed one frees its slot', () => {
    const gate = new InboundGate({ maxPendingPerIp: 2, maxPerIp: 3 });
    const a = [gate.admit('1.1.1.1', () => {}), gate.admit('1.1.1.1', () => {})];
    expect(a.every(Boolean)).toBe(true);
    expect(gate.admit('1.1.1.1', () => {})).toBeUndefined();
    expect(gate.admit('2.2.2.2', () => {})).toBeDefined();
    expect(gate.stats.refusedPerIp).toBe(1);
    a[0]!.release();
    a[0]!.release(); // idempotent
    const b = gate.admit('1.1.1.1', () => {})!;
    expect(b).toBeDefined();
    // Established: at most 3 from one IP.
    const established: InboundTicket[] = [];
    for (let i = 0; i < 6; i++) {
      const t = i < 2 ? [a[1]!, b][i]! : gate.admit('1.1.1.1', () => {});
      if (t?.establish()) established.push(t);
    }
    expect(established).toHaveLength(3);
    expect(gate.admit('1.1.1.1', () => {})).toBeUndefined(); // at its established cap
    established[0]!.release();
    expect(gate.admit('1.1.1.1', () => {})).toBeDefined();
  });

  it('a full queue sheds its oldest idle connection for a newcomer instead of refusing it', () => {
    const gate = new InboundGate({ maxPending: 4, maxPendingPerIp: 4 });
    const shed: string[] = [];
    const t = ['a', 'b', 'c', 'd'].map((n) => gate.admit(`10.0.0.${n.charCodeAt(0)}`, () => shed.push(n))!);
    t[0]!.heard = true; // 'a' is talking: 'b' is the oldest idle one
    const e = gate.admit('10.0.1.1', () => shed.push('e'));
    expect(e).toBeDefined();
    expect(shed).toEqual(['b']);
    expect(gate.pendingCount).toBe(4);
    for (const x of [t[2], t[3], e]) x!.heard = true;
    expect(gate.admit('10.0.1.2', () => {})).toBeDefined(); // none idle: the oldest goes
    expect(shed).toEqual(['b', 'a']);
    expect(gate.stats.shed).toBe(2);
  });

  it('caps established connections across the listener', () => {
    const gate = new InboundGate({ maxEstablished: 2 });
    const ok = [1, 2, 3].map((i) => gate.admit(`10.0.0.${i}`, () => {})!.establish());
    expect(ok).toEqual([true, true, false]);
    expect(gate.stats.refusedFull).toBe(1);
    expect(gate.established).toBe(2);
    expect(gate.pendingCount).toBe(0);
  });

  it('memory: 100,000 connections from distinct IPs, each closed, leave nothing behind', () => {
    const gate = new InboundGate();
    for (let i = 0; i < 100_000; i++) {
      const t = gate.admit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, () => {});
      if (i % 2) t?.establish();
      t?.release();
    }
    expect(gate.pendingCount).toBe(0);
    expect(gate.established).toBe(0);
    expect(gate.admit('10.0.0.1', () => {})).toBeDefined();
  });

  it('rejects limits that are not positive integers', () => {
    expect(() => new InboundGate({ maxPending: 0 })).toThrow(RangeError);
  });
});
