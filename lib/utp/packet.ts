/**
 * uTP packet codec (BEP 29 "header format"), pure: bytes <-> header fields, the extension chain
 * and the selective ack bitmask. Decoding never throws: a malformed datagram comes back as a
 * reason to count, and the caller drops it.
 *
 *   0       4       8               16              24              32
 *   | type  | ver   | extension     | connection_id                 |
 *   | timestamp_microseconds                                        |
 *   | timestamp_difference_microseconds                             |
 *   | wnd_size                                                      |
 *   | seq_nr                        | ack_nr                        |
 *
 * Extensions follow the header as (next extension, length, bytes) links. Selective ack (1) is
 * the only one BEP 29 defines; libtorrent also sends a "close reason" (3). Unknown ones are
 * skipped by their length, as BEP 29 asks.
 */
import {
  EXT_NONE,
  EXT_SACK,
  HEADER_SIZE,
  MAX_PACKET_SIZE,
  ST_SYN,
  UTP_VERSION,
  type PacketType
} from './constants.js';

export interface PacketHeader {
  type: PacketType;
  connectionId: number;
  /** Sender's clock when sent, microseconds mod 2^32; 0 = none. */
  timestampUs: number;
  /** Sender's last one-way delay sample of our packets, microseconds; 0 = none yet. */
  timestampDiffUs: number;
  /** Sender's free receive buffer, bytes. */
  wndSize: number;
  seqNr: number;
  ackNr: number;
}

export interface Packet extends PacketHeader {
  /**
   * Selective ack bitmask, or null: bit i (least significant first) of byte j acknowledges
   * ack_nr + 2 + 8j + i. Any length >= 1 is accepted (BEP 29 says multiples of 4; libtorrent
   * sends whole bytes).
   */
  sack: Uint8Array | null;
  /** Bytes after the header and extensions (a view into the datagram). */
  payload: Uint8Array;
}

export type MalformedReason = 'short' | 'version' | 'type' | 'extension' | 'oversize';

export type DecodeResult = { ok: true; packet: Packet } | { ok: false; reason: MalformedReason };

/**
 * True if a datagram can be uTP: version 1 in the low nibble and a known type in the high one.
 * A bencoded KRPC message starts with 'd' (0x64: "version" 4), so the two never collide.
 */
export function looksLikeUtp(data: Uint8Array): boolean {
  if (data.length < HEADER_SIZE) return false;
  const b = data[0]!;
  return (b & 0x0f) === UTP_VERSION && b >> 4 <= ST_SYN;
}

/** Decode a datagram into a new Packet (the payload and sack are views into `buf`). */
export function decodePacket(buf: Uint8Array): DecodeResult {
  const packet = emptyPacket();
  const reason = decodePacketInto(buf, packet);
  return reason === null ? { ok: true, packet } : { ok: false, reason };
}

/** A Packet to decode into: every field is written by `decodePacketInto`. */
export function emptyPacket(): Packet {
  return {
    type: ST_SYN,
    connectionId: 0,
    timestampUs: 0,
    timestampDiffUs: 0,
    wndSize: 0,
    seqNr: 0,
    ackNr: 0,
    sack: null,
    payload: EMPTY
  };
}

/**
 * Decode a datagram into `out`, overwriting every field: null when it is well formed, else why
 * not (`out` is then partly written). The socket decodes every datagram into one Packet it
 * owns, so a datagram costs no header object and no boxed 32-bit numbers (timestamps above
 * 2^31 are heap numbers in a fresh object, written in place in a reused one); whoever keeps a
 * field past the call keeps the field (the payload view), never the Packet.
 */
export function decodePacketInto(buf: Uint8Array, out: Packet): MalformedReason | null {
  if (buf.length < HEADER_SIZE) return 'short';
  if (buf.length > MAX_PACKET_SIZE) return 'oversize';
  const b0 = buf[0]!;
  if ((b0 & 0x0f) !== UTP_VERSION) return 'version';
  const type = b0 >> 4;
  if (type > ST_SYN) return 'type';

  let sack: Uint8Array | null = null;
  let ext = buf[1]!;
  let at = HEADER_SIZE;
  // Each link takes at least 2 bytes of a datagram of at most MAX_PACKET_SIZE: bounded work.
  while (ext !== EXT_NONE) {
    if (at + 2 > buf.length) return 'extension';
    const next = buf[at]!;
    const len = buf[at + 1]!;
    at += 2;
    if (at + len > buf.length) return 'extension';
    if (ext === EXT_SACK) {
      if (len === 0 || sack !== null) return 'extension';
      sack = buf.subarray(at, at + len);
    }
    at += len;
    ext = next;
  }

  out.type = type as PacketType;
  out.connectionId = (buf[2]! << 8) | buf[3]!;
  out.timestampUs = readU32(buf, 4);
  out.timestampDiffUs = readU32(buf, 8);
  out.wndSize = readU32(buf, 12);
  out.seqNr = (buf[16]! << 8) | buf[17]!;
  out.ackNr = (buf[18]! << 8) | buf[19]!;
  out.sack = sack;
  out.payload = at === buf.length ? EMPTY : buf.subarray(at);
  return null;
}

const EMPTY = new Uint8Array(0);

/** Write the 20-byte header at the start of `buf` with the given first extension id. */
export function writeHeader(buf: Uint8Array, h: PacketHeader, extension: number = EXT_NONE): void {
  buf[0] = (h.type << 4) | UTP_VERSION;
  buf[1] = extension;
  buf[2] = (h.connectionId >> 8) & 0xff;
  buf[3] = h.connectionId & 0xff;
  writeU32(buf, 4, h.timestampUs);
  writeU32(buf, 8, h.timestampDiffUs);
  writeU32(buf, 12, h.wndSize);
  buf[16] = (h.seqNr >> 8) & 0xff;
  buf[17] = h.seqNr & 0xff;
  buf[18] = (h.ackNr >> 8) & 0xff;
  buf[19] = h.ackNr & 0xff;
}

/**
 * Rewrite the fields that change on every (re)transmission of a stored packet: timestamps,
 * window and ack number. The type, ids, seq_nr and extensions stay.
 */
export function restampHeader(
  buf: Uint8Array,
  timestampUs: number,
  timestampDiffUs: number,
  wndSize: number,
  ackNr: number
): void {
  writeU32(buf, 4, timestampUs);
  writeU32(buf, 8, timestampDiffUs);
  writeU32(buf, 12, wndSize);
  buf[18] = (ackNr >> 8) & 0xff;
  buf[19] = ackNr & 0xff;
}

/** A packet without payload (STATE, SYN, FIN, RESET), with a selective ack when `sack` is given. */
export function encodeControl(h: PacketHeader, sack: Uint8Array | null = null): Uint8Array {
  const extra = sack === null ? 0 : 2 + sack.length;
  const buf = Buffer.allocUnsafe(HEADER_SIZE + extra);
  writeHeader(buf, h, sack === null ? EXT_NONE : EXT_SACK);
  if (sack !== null) {
    buf[HEADER_SIZE] = EXT_NONE;
    buf[HEADER_SIZE + 1] = sack.length;
    buf.set(sack, HEADER_SIZE + 2);
  }
  return buf;
}

/** A header followed by `payload` in one new buffer (tests, and packets built in one go). */
export function encodePacket(
  h: PacketHeader,
  payload: Uint8Array,
  sack: Uint8Array | null = null
): Uint8Array {
  const head = encodeControl(h, sack);
  const buf = Buffer.allocUnsafe(head.length + payload.length);
  buf.set(head, 0);
  buf.set(payload, head.length);
  return buf;
}

function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

function writeU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = (v >>> 24) & 0xff;
  buf[at + 1] = (v >>> 16) & 0xff;
  buf[at + 2] = (v >>> 8) & 0xff;
  buf[at + 3] = v & 0xff;
}
