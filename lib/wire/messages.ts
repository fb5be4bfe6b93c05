/**
 * Peer wire messages (BEP 3, BEP 5 PORT, BEP 6 fast extension, BEP 10 extended): ids, typed
 * messages, encoders and the handshake codec. Pure: no I/O.
 */
import { InvalidArgumentError } from '../errors.js';
import { ID_LENGTH } from '../constants.js';
import { bytesEqual } from '../util/bytes.js';
import { HANDSHAKE_HEAD_LENGTH, HANDSHAKE_LENGTH, PEER_ID_LENGTH, PROTOCOL_STRING } from './constants.js';

/** Message ids (the byte after the length prefix). */
export const MessageId = {
  Choke: 0,
  Unchoke: 1,
  Interested: 2,
  NotInterested: 3,
  Have: 4,
  Bitfield: 5,
  Request: 6,
  Piece: 7,
  Cancel: 8,
  /** BEP 5: DHT port. */
  Port: 9,
  /** BEP 6 */
  Suggest: 13,
  HaveAll: 14,
  HaveNone: 15,
  Reject: 16,
  AllowedFast: 17,
  /** BEP 10 */
  Extended: 20
} as const;
export type MessageIdValue = (typeof MessageId)[keyof typeof MessageId];

/** A block of a piece: what request, cancel and reject refer to. */
export interface BlockRequest {
  index: number;
  begin: number;
  length: number;
}

/** Every message of the wire after the handshake. Byte fields may be views of received chunks. */
export type WireMessage =
  | { type: 'keep_alive' }
  | { type: 'choke' }
  | { type: 'unchoke' }
  | { type: 'interested' }
  | { type: 'not_interested' }
  | { type: 'have'; index: number }
  | { type: 'bitfield'; bitfield: Uint8Array }
  | ({ type: 'request' } & BlockRequest)
  | { type: 'piece'; index: number; begin: number; block: Uint8Array }
  | ({ type: 'cancel' } & BlockRequest)
  | { type: 'port'; port: number }
  | { type: 'suggest'; index: number }
  | { type: 'have_all' }
  | { type: 'have_none' }
  | ({ type: 'reject' } & BlockRequest)
  | { type: 'allowed_fast'; index: number }
  /** BEP 10: `extId` 0 is the extension handshake; others are ids we assigned locally. */
  | { type: 'extended'; extId: number; payload: Uint8Array }
  /** An id we do not know (e.g. BEP 52 hash messages): reported, not an error. */
  | { type: 'unknown'; id: number; payload: Uint8Array };

export type WireMessageType = WireMessage['type'];

// ---------------------------------------------------------------------------------------------
// Byte helpers (no per-byte loops over payloads)

/** Big-endian uint32 at `o`. The caller guarantees `o + 4 <= b.length`. */
export function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

function checkU32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `${name} must be a uint32, got ${v}`);
  }
}

/** A message with no payload: <len=1><id>. */
function bare(id: number): Uint8Array {
  const b = new Uint8Array(5);
  b[3] = 1;
  b[4] = id;
  return b;
}

function withIndex(id: number, index: number): Uint8Array {
  checkU32('index', index);
  const b = new Uint8Array(9);
  b[3] = 5;
  b[4] = id;
  writeU32(b, 5, index);
  return b;
}

function withBlock(id: number, r: BlockRequest): Uint8Array {
  checkU32('index', r.index);
  checkU32('begin', r.begin);
  checkU32('length', r.length);
  const b = new Uint8Array(17);
  b[3] = 13;
  b[4] = id;
  writeU32(b, 5, r.index);
  writeU32(b, 9, r.begin);
  writeU32(b, 13, r.length);
  return b;
}

/** Header with length prefix and id for a message whose payload follows separately. */
function header(id: number, payloadLength: number, extra: number): Uint8Array {
  const b = new Uint8Array(5 + extra);
  writeU32(b, 0, 1 + extra + payloadLength);
  b[4] = id;
  return b;
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoders

export const encodeKeepAlive = (): Uint8Array => new Uint8Array(4);
export const encodeChoke = (): Uint8Array => bare(MessageId.Choke);
export const encodeUnchoke = (): Uint8Array => bare(MessageId.Unchoke);
export const encodeInterested = (): Uint8Array => bare(MessageId.Interested);
export const encodeNotInterested = (): Uint8Array => bare(MessageId.NotInterested);
export const encodeHave = (index: number): Uint8Array => withIndex(MessageId.Have, index);
export const encodeRequest = (r: BlockRequest): Uint8Array => withBlock(MessageId.Request, r);
export const encodeCancel = (r: BlockRequest): Uint8Array => withBlock(MessageId.Cancel, r);
export const encodeSuggest = (index: number): Uint8Array => withIndex(MessageId.Suggest, index);
export const encodeHaveAll = (): Uint8Array => bare(MessageId.HaveAll);
export const encodeHaveNone = (): Uint8Array => bare(MessageId.HaveNone);
export const encodeReject = (r: BlockRequest): Uint8Array => withBlock(MessageId.Reject, r);
export const encodeAllowedFast = (index: number): Uint8Array => withIndex(MessageId.AllowedFast, index);

/** The 5 bytes before a bitfield of `length` bytes. */
export function encodeBitfieldHeader(length: number): Uint8Array {
  return header(MessageId.Bitfield, length, 0);
}

export function encodeBitfield(bitfield: Uint8Array): Uint8Array {
  return concat2(encodeBitfieldHeader(bitfield.length), bitfield);
}

export function encodePort(port: number): Uint8Array {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError('ERR_INVALID_PORT', `bad port ${port}`);
  }
  const b = new Uint8Array(7);
  b[3] = 3;
  b[4] = MessageId.Port;
  b[5] = port >>> 8;
  b[6] = port;
  return b;
}

/**
 * The 13 bytes before a piece's block: <len=9+n><7><index><begin>. Write the block after it
 * (as a separate write or writev) to avoid copying it.
 */
export function encodePieceHeader(index: number, begin: number, blockLength: number): Uint8Array {
  checkU32('index', index);
  checkU32('begin', begin);
  const b = header(MessageId.Piece, blockLength, 8);
  writeU32(b, 5, index);
  writeU32(b, 9, begin);
  return b;
}

/** A whole piece message in one buffer (copies the block; prefer encodePieceHeader + block). */
export function encodePiece(index: number, begin: number, block: Uint8Array): Uint8Array {
  return concat2(encodePieceHeader(index, begin, block.length), block);
}

/** Header of an extended message: <len=2+n><20><extId>; the payload follows. */
export function encodeExtendedHeader(extId: number, payloadLength: number): Uint8Array {
  if (!Number.isInteger(extId) || extId < 0 || extId > 255) {
    throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `bad extended message id ${extId}`);
  }
  const b = header(MessageId.Extended, payloadLength, 1);
  b[5] = extId;
  return b;
}

export function encodeExtended(extId: number, payload: Uint8Array): Uint8Array {
  return concat2(encodeExtendedHeader(extId, payload.length), payload);
}

/** Encode any message (tests, tools). The wire uses the specific encoders. */
export function encodeMessage(m: WireMessage): Uint8Array {
  switch (m.type) {
    case 'keep_alive':
      return encodeKeepAlive();
    case 'choke':
      return encodeChoke();
    case 'unchoke':
      return encodeUnchoke();
    case 'interested':
      return encodeInterested();
    case 'not_interested':
      return encodeNotInterested();
    case 'have':
      return encodeHave(m.index);
    case 'bitfield':
      return encodeBitfield(m.bitfield);
    case 'request':
      return encodeRequest(m);
    case 'piece':
      return encodePiece(m.index, m.begin, m.block);
    case 'cancel':
      return encodeCancel(m);
    case 'port':
      return encodePort(m.port);
    case 'suggest':
      return encodeSuggest(m.index);
    case 'have_all':
      return encodeHaveAll();
    case 'have_none':
      return encodeHaveNone();
    case 'reject':
      return encodeReject(m);
    case 'allowed_fast':
      return encodeAllowedFast(m.index);
    case 'extended':
      return encodeExtended(m.extId, m.payload);
    case 'unknown': {
      if (!Number.isInteger(m.id) || m.id < 0 || m.id > 255) {
        throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `bad message id ${m.id}`);
      }
      return concat2(header(m.id, m.payload.length, 0), m.payload);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Handshake

const PSTR = new TextEncoder().encode(PROTOCOL_STRING);

/** Capabilities advertised in the reserved bytes. */
export interface HandshakeFlags {
  /** BEP 10 extension protocol: reserved[5] & 0x10. */
  extended: boolean;
  /** BEP 6 fast extension: reserved[7] & 0x04. */
  fast: boolean;
  /** BEP 5 DHT: reserved[7] & 0x01. */
  dht: boolean;
}

export interface Handshake extends HandshakeFlags {
  /** All 8 reserved bytes as received (other bits included). */
  reserved: Uint8Array;
  infoHash: Uint8Array;
  peerId: Uint8Array;
}

export interface HandshakeInit extends Partial<HandshakeFlags> {
  infoHash: Uint8Array;
  peerId: Uint8Array;
}

export function encodeReserved(flags: Partial<HandshakeFlags>): Uint8Array {
  const r = new Uint8Array(8);
  if (flags.extended) r[5] = 0x10;
  if (flags.fast) r[7]! |= 0x04;
  if (flags.dht) r[7]! |= 0x01;
  return r;
}

export function decodeReserved(reserved: Uint8Array): HandshakeFlags {
  return {
    extended: ((reserved[5] ?? 0) & 0x10) !== 0,
    fast: ((reserved[7] ?? 0) & 0x04) !== 0,
    dht: ((reserved[7] ?? 0) & 0x01) !== 0
  };
}

export function encodeHandshake(h: HandshakeInit): Uint8Array {
  if (h.infoHash.length !== ID_LENGTH)
    throw new InvalidArgumentError('ERR_INVALID_INFOHASH', 'infohash must be 20 bytes');
  if (h.peerId.length !== PEER_ID_LENGTH)
    throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'peer id must be 20 bytes');
  const b = new Uint8Array(HANDSHAKE_LENGTH);
  b[0] = PSTR.length;
  b.set(PSTR, 1);
  b.set(encodeReserved(h), 20);
  b.set(h.infoHash, 28);
  b.set(h.peerId, 48);
  return b;
}

/** First 48 bytes of a handshake: what a responder reads before it answers. */
export interface HandshakeHead extends HandshakeFlags {
  reserved: Uint8Array;
  infoHash: Uint8Array;
}

/** Parse the first 48 bytes of a handshake; null if it is not a BitTorrent handshake. */
export function decodeHandshakeHead(b: Uint8Array): HandshakeHead | null {
  if (b.length < HANDSHAKE_HEAD_LENGTH || b[0] !== PSTR.length) return null;
  if (!bytesEqual(b.subarray(1, 20), PSTR)) return null;
  // Copies (a Buffer's `slice` would be a view of bytes the stream may reuse).
  const reserved = new Uint8Array(b.subarray(20, 28));
  return { ...decodeReserved(reserved), reserved, infoHash: new Uint8Array(b.subarray(28, 48)) };
}

/** Parse a full 68-byte handshake; null if invalid. */
export function decodeHandshake(b: Uint8Array): Handshake | null {
  if (b.length < HANDSHAKE_LENGTH) return null;
  const head = decodeHandshakeHead(b);
  return head ? { ...head, peerId: new Uint8Array(b.subarray(48, 68)) } : null;
}

/** True if the first byte(s) seen so far can still start a valid handshake. */
export function isHandshakePrefix(b: Uint8Array): boolean {
  const n = Math.min(b.length, 20);
  if (n === 0) return true;
  if (b[0] !== PSTR.length) return false;
  return bytesEqual(b.subarray(1, n), PSTR.subarray(0, n - 1));
}
