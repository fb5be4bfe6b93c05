/**
 * trackerless/wire: the BitTorrent peer wire protocol (BEP 3, 5 PORT, 6 fast, 10 extended)
 * over any byte stream, without sockets; extensions as plugins (ut_metadata BEP 9, ut_pex
 * BEP 11); Message Stream Encryption; in-memory stream pairs for tests and bridges.
 */
export { PeerWire } from './peer-wire.js';
export type {
  PeerWireOptions,
  PeerWireEvents,
  WireRole,
  WireStats,
  PieceMessage,
  RequestMessage,
  OutgoingBlock
} from './peer-wire-types.js';
export type { WireStream } from '../net/stream.js';
export { pipePair } from './memory-stream.js';
export type { PipeOptions } from './memory-stream.js';
export { ProtocolError } from './errors.js';
export type { ProtocolErrorReason } from './errors.js';
export { makePeerId } from './peer-id.js';
export { BLOCK_SIZE } from './constants.js';

// --- messages ---------------------------------------------------------------------------------
export type { WireMessage, BlockRequest, Handshake, HandshakeFlags } from './messages.js';
export { encodeMessage, encodeHandshake, decodeHandshake } from './messages.js';

// --- extensions -------------------------------------------------------------------------------
export type { WireExtension, ExtensionContext, ExtendedHandshake } from './extensions.js';
export { UtMetadata } from './ut-metadata.js';
export type { UtMetadataOptions, UtMetadataEvents } from './ut-metadata.js';
export { MetadataAssembler } from './metadata-assembler.js';
export { UtPex, PexFlag } from './ut-pex.js';
export type { UtPexOptions, UtPexEvents, PexPeer, PexMessage } from './ut-pex.js';

// --- Message Stream Encryption ----------------------------------------------------------------
export {
  mseInitiate,
  mseRespond,
  MseStream,
  type EncryptionPolicy,
  type CryptoMethod,
  type MseResult,
  type MseInitiateOptions,
  type MseRespondOptions
} from './mse.js';
