/**
 * A uTP connection's datagram output (lib/utp/packet-output.ts) on its own, in virtual time:
 * the header of every packet type decoded back, the send window's records, payload views sent
 * without copies and resent behind a fresh header, and which datagrams ask for refusals.
 */
import { describe, expect, it } from '@jest/globals';
import { HEADER_SIZE, ST_DATA, ST_FIN, ST_RESET, ST_STATE, ST_SYN } from '../../lib/utp/constants.js';
import { microseconds } from '../../lib/utp/one-way-delays.js';
import { decodePacket, type Packet } from '../../lib/utp/packet.js';
import { PacketOutput, type OutputHost } from '../../lib/utp/packet-output.js';
import { SendWindow } from '../../lib/utp/send-window.js';
import { emptyUtpStats } from '../../lib/utp/stats.js';
import { FakeClock } from '../support/fake-clock.js';

const REMOTE = { host: '127.0.0.1', port: 6881 };
const RECV_ID = 1000;
const SEND_ID = 1001;
const FIRST = 65_535; // the first DATA after the SYN wraps to 0

interface Sent {
  parts: readonly Uint8Array[];
  bytes: Buffer;
  unchecked: boolean;
  packet: Packet;
}

function setup() {
  const clock = new FakeClock(1_000_000.5);
  const win = new SendWindow(FIRST);
  const stats = emptyUtpStats();
  const sent: Sent[] = [];
  const sentAt: number[] = [];
  const fields = { ackNr: 300, replyUs: 4242, window: 65_536 };
  const host: OutputHost = {
    stats,
    send: (parts, to, unchecked) => {
      expect(to).toBe(REMOTE);
      // Copied now: what matters is the datagram as it left.
      const bytes = Buffer.concat(parts);
      const decoded = decodePacket(bytes);
      if (!decoded.ok) throw new Error(`undecodable datagram: ${decoded.reason}`);
      sent.push({ parts, bytes, unchecked, packet: decoded.packet });
    },
    ackNr: () => fields.ackNr,
    replyUs: () => fields.replyUs,
    advertisedWindow: () => fields.window,
    sent: (now) => sentAt.push(now)
  };
  const out = new PacketOutput(host, win, REMOTE, RECV_ID, SEND_ID, clock.now());
  return { clock, win, stats, sent, sentAt, fields, out };
}

/** A DATA packet's parts as the connection builds them: index 0 left for the header. */
function dataParts(...payload: Uint8Array[]): Uint8Array[] {
  return [new Uint8Array(0), ...payload];
}

describe('uTP packet output', () => {
  it('sends the SYN with our receive id and ack_nr 0, and records it in the send window', () => {
    const s = setup();
    const seq = s.out.syn(s.clock.now());
    expect(seq).toBe(FIRST);
    expect(s.sent).toHaveLength(1);
    const { packet, unchecked, bytes } = s.sent[0]!;
    expect(packet).toMatchObject({
      type: ST_SYN,
      connectionId: RECV_ID,
      seqNr: FIRST,
      ackNr: 0,
      timestampUs: microseconds(s.clock.now()),
      timestampDiffUs: 4242,
      wndSize: 65_536,
      sack: null
    });
    expect(bytes.length).toBe(HEADER_SIZE);
    expect(unchecked).toBe(false); // a SYN always asks for refusals
    expect(s.win.unacked).toBe(1);
    expect(s.win.nextSeq).toBe(0);
    expect(s.sentAt).toEqual([s.clock.now()]);
    expect(s.stats.packetsOut).toBe(1);
    expect(s.stats.bytesOut).toBe(HEADER_SIZE);
  });

  it('sends DATA as [header, the payload views] with the send id, and reads ack_nr and window as it leaves', () => {
    const s = setup();
    s.out.syn(s.clock.now());
    const a = new Uint8Array(600).fill(1);
    const b = new Uint8Array(800).fill(2);
    s.clock.advance(7);
    s.fields.ackNr = 301;
    s.fields.window = 1234;
    const parts = dataParts(a, b.subarray(0, 500));
    s.out.data(parts, 1100, s.clock.now());
    const d = s.sent[1]!;
    expect(d.parts[1]).toBe(a); // the payload views themselves, never copies
    expect(d.parts[2]!.buffer).toBe(b.buffer);
    expect(d.packet).toMatchObject({
      type: ST_DATA,
      connectionId: SEND_ID,
      seqNr: 0,
      ackNr: 301,
      wndSize: 1234,
      timestampUs: microseconds(s.clock.now())
    });
    expect(d.packet.payload).toEqual(Buffer.concat([a, b.subarray(0, 500)]));
    expect(s.win.inFlight).toBe(1100);
    expect(s.win.oldest()?.seq).toBe(FIRST); // the SYN, still unacked
    expect(s.stats.payloadOut).toBe(1100);
    expect(s.stats.bytesOut).toBe(2 * HEADER_SIZE + 1100);
    expect(s.out.lastSendAt).toBe(s.clock.now());
  });

  it('asks for refusals on one new datagram in 32, and on every SYN, FIN, RESET and resend', () => {
    const s = setup();
    s.out.syn(s.clock.now());
    for (let i = 0; i < 64; i++) s.out.data(dataParts(new Uint8Array(10)), 10, s.clock.now());
    s.out.state(null, s.clock.now());
    s.out.fin(s.clock.now());
    s.out.reset(s.clock.now());
    const checked = s.sent.map((d, i) => (d.unchecked ? -1 : i)).filter((i) => i >= 0);
    // SYN (0); the 1st, 33rd and 65th new datagrams (DATA at 1 and 33, the STATE at 65); FIN
    // (66), RESET (67).
    expect(checked).toEqual([0, 1, 33, 65, 66, 67]);
    const p = s.win.oldest()!;
    s.out.resend(p, true, s.clock.now());
    expect(s.sent.at(-1)!.unchecked).toBe(false);
  });

  it('sends a STATE with the selective ack, and FIN and RESET with the send id', () => {
    const s = setup();
    s.out.syn(s.clock.now());
    const sack = Uint8Array.of(0b101, 0, 0, 0x80);
    s.out.state(sack, s.clock.now());
    const finSeq = s.out.fin(s.clock.now());
    s.out.reset(s.clock.now());
    const [, state, fin, reset] = s.sent.map((d) => d.packet);
    expect(state).toMatchObject({ type: ST_STATE, connectionId: SEND_ID, seqNr: 0, ackNr: 300 });
    expect(state!.sack).toEqual(sack);
    expect(s.sent[1]!.bytes.length).toBe(HEADER_SIZE + 2 + 4);
    expect(finSeq).toBe(0); // a STATE takes no sequence number
    expect(fin).toMatchObject({ type: ST_FIN, connectionId: SEND_ID, seqNr: 0, ackNr: 300 });
    expect(reset).toMatchObject({ type: ST_RESET, connectionId: SEND_ID, seqNr: 1, ackNr: 300 });
    expect(s.win.unacked).toBe(2); // SYN and FIN; STATE and RESET are not retransmitted
    expect(s.stats.resetsSent).toBe(1);
  });

  it('resends behind a fresh, restamped header and the same payload views; a SYN keeps ack_nr 0', () => {
    const s = setup();
    s.out.syn(s.clock.now());
    const payload = new Uint8Array(1000).fill(9);
    s.out.data(dataParts(payload), 1000, s.clock.now());
    const original = s.sent[1]!;
    const firstHead = Buffer.from(original.parts[0]!);

    s.clock.advance(500);
    s.fields.ackNr = 310;
    s.fields.replyUs = 99;
    s.fields.window = 777;
    const syn = s.win.oldest()!;
    s.out.resend(syn, true, s.clock.now());
    const data = s.win.newest()!;
    s.out.resend(data, false, s.clock.now());

    const [synAgain, dataAgain] = s.sent.slice(2);
    expect(synAgain!.packet).toMatchObject({ type: ST_SYN, connectionId: RECV_ID, seqNr: FIRST, ackNr: 0 });
    expect(dataAgain!.packet).toMatchObject({
      type: ST_DATA,
      connectionId: SEND_ID,
      seqNr: 0,
      ackNr: 310,
      timestampUs: microseconds(s.clock.now()),
      timestampDiffUs: 99,
      wndSize: 777
    });
    // The first datagram's header is untouched (it may still sit in the socket's queue).
    expect(original.parts[0]).not.toBe(dataAgain!.parts[0]);
    expect(Buffer.from(original.parts[0]!)).toEqual(firstHead);
    expect(dataAgain!.parts[1]).toBe(payload);
    expect(data.parts).toBe(dataAgain!.parts);
    expect(data.transmissions).toBe(2);
    expect(data.sentAt).toBe(s.clock.now());
    expect(s.stats.retransmits).toBe(2);
    expect(s.stats.payloadOut).toBe(1000); // counted once, when first sent
  });
});
