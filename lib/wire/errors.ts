import { TrackerlessError } from '../errors.js';

/**
 * Why a peer connection was judged to break the wire protocol. Stable strings: switch on them.
 */
export type ProtocolErrorReason =
  /** The first bytes were not a BitTorrent handshake (pstrlen 19, "BitTorrent protocol"). */
  | 'bad-handshake'
  /** The remote's infohash differs from ours (initiator) or we do not serve it (responder). */
  | 'infohash-mismatch'
  /** The remote's peer id differs from the one we expected, or equals our own. */
  | 'peer-id-mismatch'
  | 'self-connection'
  /** A length prefix above the configured maximum. */
  | 'message-too-long'
  /** A message whose payload length is wrong for its type. */
  | 'bad-payload-length'
  /** A piece index >= the piece count (when the piece count is known). */
  | 'bad-piece-index'
  /** A bitfield whose length or spare bits do not fit the piece count. */
  | 'bad-bitfield'
  /** A request/cancel/reject whose block length is 0 or above the cap. */
  | 'bad-block-length'
  /** A BEP 6 message although the fast extension was not negotiated. */
  | 'fast-not-negotiated'
  /** A BEP 10 message although the extension protocol was not negotiated. */
  | 'extended-not-negotiated'
  /** BEP 6: a piece or reject for a block we never requested. */
  | 'unrequested-block'
  /** A piece whose length differs from the request's length. */
  | 'bad-block'
  /** A malformed or oversized BEP 10 extension handshake. */
  | 'bad-extended-handshake'
  /** A malformed message of a BEP 10 extension (ut_metadata, ut_pex, ...). */
  | 'bad-extension-message'
  /** Message Stream Encryption failed: no sync, bad VC, unknown torrent, no common method, timeout, closed. */
  | 'bad-encryption-handshake';

/** The remote broke the peer wire protocol; the connection is closed. Code `ERR_PROTOCOL`. */
export class ProtocolError extends TrackerlessError {
  readonly reason: ProtocolErrorReason;
  constructor(reason: ProtocolErrorReason, message: string) {
    super('ERR_PROTOCOL', `${reason}: ${message}`);
    this.reason = reason;
  }
}
