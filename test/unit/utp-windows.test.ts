/**
 * The pure halves of a uTP connection: ReceiveBuffer (ack_nr, reordering, FIN, selective ack)
 * and SendWindow (cumulative and selective acks, duplicate acks, fast retransmit, timeouts).
 */
import { describe, expect, it } from '@jest/globals';
import { ReceiveBuffer } from '../../lib/utp/receive-buffer.js';
import { SendWindow, type SentPacket } from '../../lib/utp/send-window.js';
import { seqAdd } from '../../lib/utp/seq.js';

const bytes = (s: string): Uint8Array => Buffer.from(s);

function receiver(initialAck: number) {
  const got: string[] = [];
  const rb = new ReceiveBuffer(initialAck, 64);
  const recv = (seq: number, s: string | null) =>
    rb.receive(seq, s === null ? null : bytes(s), (c) => got.push(Buffer.from(c).toString()));
  return { rb, got, recv };
}

describe('ReceiveBuffer', () => {
  it('delivers in order at once and holds packets after a hole', () => {
    const { rb, got, recv } = receiver(65533);
    expect(recv(65534, 'a')).toBe('delivered');
    expect(recv(0, 'c')).toBe('buffered'); // 65535 missing
    expect(recv(1, 'd')).toBe('buffered');
    expect(got).toEqual(['a']);
    expect(rb.ackNr).toBe(65534);
    expect(rb.bufferedBytes).toBe(2);
    expect(recv(65535, 'b')).toBe('delivered');
    expect(got).toEqual(['a', 'b', 'c', 'd']);
    expect(rb.ackNr).toBe(1);
    expect(rb.bufferedPackets).toBe(0);
  });

  it('drops duplicates, stale packets and packets beyond the reorder window', () => {
    const { recv } = receiver(100);
    expect(recv(101, 'x')).toBe('delivered');
    expect(recv(101, 'x')).toBe('duplicate');
    expect(recv(90, 'old')).toBe('duplicate');
    expect(recv(103, 'y')).toBe('buffered');
    expect(recv(103, 'y')).toBe('duplicate');
    expect(recv(101 + 65, 'far')).toBe('beyond-window');
  });

  it('writes the selective ack as BEP 29 lays it out (bit 0 of byte 0 = ack_nr + 2)', () => {
    const { rb, recv } = receiver(10);
    expect(rb.sack(128)).toBeNull();
    recv(12, 'p'); // ack_nr + 2 -> bit 0
    recv(19, 'p'); // ack_nr + 9 -> byte 0 bit 7
    recv(20, 'p'); // ack_nr + 10 -> byte 1 bit 0
    recv(45, 'p'); // ack_nr + 35 -> byte 4 bit 1
    const sack = rb.sack(128)!;
    expect(sack.length).toBe(8); // whole 32-bit words
    expect(Array.from(sack)).toEqual([0x81, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]);
    expect(rb.sack(4)!.length).toBe(4); // capped
  });

  it('ends at the FIN, even when it arrives before the last data', () => {
    const { rb, got, recv } = receiver(0);
    expect(recv(3, null)).toBe('buffered'); // FIN is seq 3
    expect(recv(2, 'b')).toBe('buffered');
    expect(rb.eof).toBe(false);
    expect(recv(4, 'late')).toBe('after-fin');
    expect(recv(1, 'a')).toBe('delivered');
    expect(got).toEqual(['a', 'b']);
    expect(rb.eof).toBe(true);
    expect(rb.ackNr).toBe(3);
    expect(recv(3, null)).toBe('after-fin');
  });
});

function sender(first = 65530) {
  const w = new SendWindow(first);
  const sent = (n: number, size = 1000, at = 0) => {
    for (let i = 0; i < n; i++) w.add([new Uint8Array(20), new Uint8Array(size)], size, at);
  };
  return { w, sent };
}

describe('SendWindow', () => {
  it('acknowledges cumulatively across the wrap and samples RTT from packets sent once', () => {
    const { w, sent } = sender();
    sent(10, 1000, 100);
    expect(w.inFlight).toBe(10_000);
    expect(w.validAck(seqAdd(65530, 9))).toBe(true);
    expect(w.validAck(seqAdd(65530, 10))).toBe(false); // never sent
    const out = w.onAck(seqAdd(65530, 4), null, true, 150);
    expect(out.ackedBytes).toBe(5000);
    expect(out.ackedPackets).toBe(5);
    expect(out.minRttMs).toBe(50);
    expect(w.inFlight).toBe(5000);
    expect(w.ackedSeq).toBe(seqAdd(65530, 4));
  });

  it('tells the stream offset acknowledged in order: selective acks count once the gap before them fills', () => {
    const { w, sent } = sender();
    w.add([new Uint8Array(20)], 0, 0); // a SYN: no payload
    sent(4, 1000); // payload bytes 0-4000, seqs 65531..65534
    sent(1, 500); // 4000-4500, seq 65535 (0 next)
    expect(w.ackedOffset).toBe(0);
    w.onAck(65531, null, true, 10); // SYN and the first 1000 bytes
    expect(w.ackedOffset).toBe(1000);
    w.onAck(65531, Uint8Array.of(0b0101), true, 20); // 65533 and 65535 selectively
    expect(w.ackedOffset).toBe(1000); // 65532 still missing
    w.onAck(65532, null, true, 30);
    expect(w.ackedOffset).toBe(3000); // 65533 was acked already; 65534 is missing
    w.onAck(65534, null, true, 40);
    expect(w.ackedOffset).toBe(4500); // everything
    sent(1, 700);
    expect(w.ackedOffset).toBe(4500);
  });

  it('fast-retransmits the oldest packet after 3 duplicate acks, once', () => {
    const { w, sent } = sender(1);
    sent(6);
    w.onAck(1, null, true, 0); // 1 acked; 2 lost
    const lost: number[] = [];
    for (let i = 0; i < 5; i++) lost.push(...w.onAck(1, null, true, 0).lost.map((p) => p.seq));
    expect(lost).toEqual([2]);
    // A DATA packet repeating its ack_nr is not a duplicate ack.
    const { w: w2, sent: sent2 } = sender(1);
    sent2(6);
    w2.onAck(1, null, false, 0);
    for (let i = 0; i < 5; i++) expect(w2.onAck(1, null, false, 0).lost).toEqual([]);
  });

  it('takes selective acks and marks a hole lost once 3 packets past it were acked', () => {
    const { w, sent } = sender(100);
    sent(8); // 100..107
    // ack_nr 100; sack bits from 102: 103, 104, 105 received (102 missing, 101 missing)
    const sack = new Uint8Array(4);
    sack[0] = 0b1110; // bit0=102 no, bit1=103, bit2=104, bit3=105
    const out = w.onAck(100, sack, true, 0);
    expect(out.ackedPackets).toBe(1 + 3);
    expect(out.lost.map((p) => p.seq)).toEqual([101, 102]);
    expect(w.inFlight).toBe(4000); // 101, 102, 106, 107
    // The same holes are not fast-retransmitted twice.
    expect(w.onAck(100, sack, true, 0).lost).toEqual([]);
    // Once 101 and 102 arrive, the cumulative ack jumps over the sacked packets.
    w.onAck(102, null, true, 0);
    expect(w.ackedSeq).toBe(105);
    expect(w.oldest()?.seq).toBe(106);
  });

  it('ignores selective ack bits past what was sent', () => {
    const { w, sent } = sender(10);
    sent(3); // 10, 11, 12
    const sack = new Uint8Array(4).fill(0xff);
    const out = w.onAck(10, sack, true, 0); // bit0 = 12 only
    expect(out.ackedPackets).toBe(2);
    expect(w.unacked).toBe(1);
  });

  it('on a timeout queues every packet in flight for retransmission, in order', () => {
    const { w, sent } = sender(65534);
    sent(4); // 65534, 65535, 0, 1
    const sack = new Uint8Array(4);
    sack[0] = 0b1; // 0 (= 65534 + 2) received
    w.onAck(seqAdd(65534, -1), null, true, 0);
    w.onAck(65534, sack, true, 0); // 65534 and 0 acked
    w.onTimeout();
    expect(w.inFlight).toBe(0);
    const order: number[] = [];
    for (let p = w.peekResend(); p !== undefined; p = w.peekResend()) {
      order.push(p.seq);
      w.resent(p, 10);
    }
    expect(order).toEqual([65535, 1]);
    expect(w.inFlight).toBe(2000);
  });

  it('declares a lost retransmission lost once a packet sent after it was acked and it is overdue (RACK)', () => {
    const { w, sent } = sender(200);
    sent(8, 1000, 0); // 200..207 at t=0
    const sack = new Uint8Array(4);
    sack[0] = 0b1110; // 202 missing; 203, 204, 205 received
    const first = w.onAck(200, sack, true, 10); // 201 and 202 lost by count
    expect(first.lost.map((p) => p.seq)).toEqual([201, 202]);
    for (const p of first.lost) w.resent(p, 10);
    sent(4, 1000, 12); // 208..211 after the retransmissions
    // 201's retransmission arrives; 202's is lost; 206..211 arrive (sent after it).
    const late: SentPacket[] = [];
    const sack2 = new Uint8Array(4);
    sack2[0] = 0b1111_1110; // ack_nr 201: bit0 = 203 .. 210 received, 202 missing
    sack2[1] = 0b1; // 211
    const out = w.onAck(201, sack2, true, 20);
    expect(out.lost).toEqual([]); // counting acks never declares a packet lost twice
    // 202 was retransmitted at 10: not overdue at 20 with a 12 ms reordering window ...
    expect(w.detectLate(20, 12, late)).toBe(22);
    expect(late).toEqual([]);
    // ... and lost at 22: queued for retransmission, out of flight.
    const inFlight = w.inFlight;
    expect(w.detectLate(22, 12, late)).toBe(Infinity);
    expect(late.map((p) => p.seq)).toEqual([202]);
    expect(w.inFlight).toBe(inFlight - 1000);
    expect(w.peekResend()?.seq).toBe(202);
    // Declared once: retransmitted, it waits for packets sent after this transmission.
    w.resent(w.peekResend()!, 22);
    const again: SentPacket[] = [];
    expect(w.detectLate(100, 12, again)).toBe(Infinity);
    expect(again).toEqual([]);
  });

  it('declares a hole lost by time when fewer than 3 packets past it were acked (tail loss)', () => {
    const { w, sent } = sender(300);
    sent(3, 1000, 0); // 300, 301, 302
    const sack = new Uint8Array(4);
    sack[0] = 0b1; // ack_nr 300: bit0 = 302
    const out = w.onAck(300, sack, true, 5); // 300 and 302 acked, 301 missing with 1 past it
    expect(out.lost).toEqual([]);
    const late: SentPacket[] = [];
    expect(w.detectLate(5, 8, late)).toBe(8);
    expect(w.detectLate(8, 8, late)).toBe(Infinity);
    expect(late.map((p) => p.seq)).toEqual([301]);
  });

  it('does not count the ack of a packet sent twice as delivering its latest copy (Karn)', () => {
    // A receiver that reads in batches (libtorrent acks once it drained its socket) leaves
    // packets queued for milliseconds. 500 was resent (a probe, a timeout) though it was only
    // queued; the ack that then covers 500 is for its original, and 501..503, sent between the
    // two copies, are still queued behind it, not lost.
    const { w, sent } = sender(500);
    sent(4, 1000, 0); // 500..503
    w.resent(w.oldest()!, 5); // 500 again, after 501..503
    w.onAck(500, null, true, 6); // the receiver got 500's original
    const late: SentPacket[] = [];
    expect(w.detectLate(100, 2, late)).toBe(Infinity);
    expect(late).toEqual([]);
    // A packet sent once after them, acknowledged while they are not, does show them lost.
    sent(1, 1000, 7); // 504
    const sack = new Uint8Array(4);
    sack[0] = 0b100; // ack_nr 500: bit 2 = 504
    w.onAck(500, sack, true, 8);
    expect(w.detectLate(100, 2, late)).toBe(Infinity);
    expect(late.map((p) => p.seq)).toEqual([501, 502, 503]);
  });

  it('does not declare packets lost that were sent after everything acknowledged', () => {
    const { w, sent } = sender(400);
    sent(2, 1000, 0);
    w.onAck(400, null, true, 5);
    sent(2, 1000, 6); // 402, 403: sent after the acked 400
    const late: SentPacket[] = [];
    expect(w.detectLate(10_000, 8, late)).toBe(Infinity);
    expect(late).toEqual([]); // 401 was sent after 400, the newest packet acknowledged
  });
});
