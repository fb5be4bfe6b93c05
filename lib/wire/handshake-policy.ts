/**
 * The decisions a PeerWire takes on the BitTorrent handshake, as pure functions: option
 * checks, our reserved bits, and whether the remote's infohash and peer id are acceptable.
 */
import { ID_LENGTH } from '../constants.js';
import { InvalidArgumentError } from '../errors.js';
import { bytesEqual } from '../util/bytes.js';
import { PEER_ID_LENGTH } from './constants.js';
import { ProtocolError } from './errors.js';
import type { HandshakeFlags, HandshakeHead } from './messages.js';
import type { PeerWireOptions } from './peer-wire-types.js';

/** Throws InvalidArgumentError for options a wire cannot start with. */
export function checkWireOptions(options: PeerWireOptions): void {
  if (options.peerId?.length !== PEER_ID_LENGTH) {
    throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'peer id must be 20 bytes');
  }
  if (options.infoHash !== undefined && options.infoHash.length !== ID_LENGTH) {
    throw new InvalidArgumentError('ERR_INVALID_INFOHASH', 'infohash must be 20 bytes');
  }
  if (options.role === 'initiator' && !options.infoHash) {
    throw new InvalidArgumentError('ERR_INVALID_INFOHASH', 'an initiator needs the infohash');
  }
  if (options.role === 'responder' && !options.infoHash && !options.acceptInfoHash) {
    throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'a responder needs infoHash or acceptInfoHash');
  }
}

/** Our reserved bits: BEP 10 and BEP 6 on unless disabled; BEP 5 when we run a DHT node. */
export function localFlags(options: PeerWireOptions): HandshakeFlags {
  return {
    extended: options.extended ?? true,
    fast: options.fast ?? true,
    dht: options.dhtPort !== undefined
  };
}

/**
 * Initiator: the remote must echo our infohash. Responder: `acceptInfoHash` decides, else it
 * must be `options.infoHash` (BEP 3: "if both sides don't send the same value, they sever").
 */
export function checkHandshakeHead(options: PeerWireOptions, head: HandshakeHead): ProtocolError | null {
  if (options.role === 'responder' && options.acceptInfoHash) {
    return options.acceptInfoHash(head.infoHash, head)
      ? null
      : new ProtocolError('infohash-mismatch', 'we do not serve this infohash');
  }
  return bytesEqual(head.infoHash, options.infoHash!)
    ? null
    : new ProtocolError('infohash-mismatch', 'remote sent another infohash');
}

/** Refuse a connection to ourselves and, when one is expected, any other peer id. */
export function checkPeerId(options: PeerWireOptions, peerId: Uint8Array): ProtocolError | null {
  if (bytesEqual(peerId, options.peerId))
    return new ProtocolError('self-connection', 'connected to ourselves');
  if (options.expectedPeerId && !bytesEqual(peerId, options.expectedPeerId)) {
    return new ProtocolError('peer-id-mismatch', 'unexpected peer id');
  }
  return null;
}
