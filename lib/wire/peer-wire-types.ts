/**
 * Public types of PeerWire: options, counters and the typed event map.
 */
import type { TimeoutError, TrackerlessError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { ProtocolError } from './errors.js';
import type { ExtendedHandshake, LocalExtendedHandshake } from './extensions.js';
import type { Handshake, HandshakeHead, WireMessage } from './messages.js';

export type WireRole = 'initiator' | 'responder';
export type PieceMessage = Extract<WireMessage, { type: 'piece' }>;
export type RequestMessage = Extract<WireMessage, { type: 'request' | 'cancel' | 'reject' }>;
/** A block to send with `PeerWire.pieces` (a PieceMessage fits). */
export interface OutgoingBlock {
  index: number;
  begin: number;
  block: Uint8Array;
}

export interface PeerWireOptions {
  /** Initiator sends its handshake at once; responder answers after reading the infohash. */
  role: WireRole;
  /** Our 20-byte peer id. */
  peerId: Uint8Array;
  /** Initiator: required. Responder: the infohash we accept (unless `acceptInfoHash`). */
  infoHash?: Uint8Array;
  /** Responder: accept (true) or refuse the infohash of the incoming handshake. */
  acceptInfoHash?: (infoHash: Uint8Array, head: HandshakeHead) => boolean;
  /** Initiator: the peer id we expect (e.g. from a tracker); others are refused. */
  expectedPeerId?: Uint8Array;
  /** Advertise the BEP 10 extension protocol. Default true. */
  extended?: boolean;
  /** Advertise the BEP 6 fast extension. Default true. */
  fast?: boolean;
  /** Our DHT UDP port: sets the DHT bit and sends PORT to peers that set it (BEP 5). */
  dhtPort?: number;
  /** Fields of our extension handshake. Default `{ v: CLIENT_NAME, reqq: 250 }`. */
  extendedHandshake?: LocalExtendedHandshake;
  /** Number of pieces, when known (index and bitfield checks). See also setPieceCount(). */
  pieceCount?: number;
  /** Cap on a message's length prefix, bytes. Default 2^17 + 13. */
  maxMessageLength?: number;
  /** Cap on request/cancel/reject lengths, bytes. Default 2^17. */
  maxBlockLength?: number;
  /** Default systemClock. */
  clock?: Clock;
  /** Default 60 s. */
  keepAliveIntervalMs?: number;
  /** Default 120 s. */
  idleTimeoutMs?: number;
  /** Default 30 s. */
  handshakeTimeoutMs?: number;
}

export interface WireStats {
  /** All bytes written / read, handshake and headers included. */
  bytesSent: number;
  bytesReceived: number;
  /** Block bytes of piece messages only. */
  payloadBytesSent: number;
  payloadBytesReceived: number;
}

export type PeerWireEvents = {
  /** Both handshakes done: send the bitfield / have_all / have_none now (BEP 6 order). */
  handshake: [remote: Handshake];
  extended_handshake: [remote: ExtendedHandshake];
  keep_alive: [];
  choke: [];
  unchoke: [];
  interested: [];
  not_interested: [];
  have: [index: number];
  /** A view of the received bytes: copy it if kept beyond the handler. */
  bitfield: [bitfield: Uint8Array];
  request: [request: RequestMessage];
  /**
   * `block` is a view of the received bytes (no copy). Over a stream with `chunksReused` it is
   * valid only during the handler: copy it there if it is kept.
   */
  piece: [piece: PieceMessage];
  cancel: [request: RequestMessage];
  port: [port: number];
  suggest: [index: number];
  have_all: [];
  have_none: [];
  reject: [request: RequestMessage];
  allowed_fast: [index: number];
  /** An extended message that no registered plugin claimed. */
  extended: [extId: number, payload: Uint8Array];
  /** A message id we do not know (ignored otherwise). */
  unknown: [id: number, payload: Uint8Array];
  /** The stream accepts writes again after a `false` return. */
  drain: [];
  error: [error: ProtocolError | TimeoutError];
  /** Emitted once; `reason` is set when we closed because of an error. */
  close: [reason: TrackerlessError | undefined];
};
