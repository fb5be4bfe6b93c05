/**
 * BitTorrent peer wire protocol (BEP 3, 5 PORT, 6, 9, 10, 11) over an abstract byte stream.
 * Pure: no sockets. The engine adapts a TCP socket to `WireStream`.
 */
export * from './constants.js';
export * from './errors.js';
export * from './messages.js';
export * from './framer.js';
export type { WireStream } from './stream.js';
export { pipePair, type PipeOptions } from './memory-stream.js';
export * from './mse.js';
export { Rc4 } from './rc4.js';
export { PeerWire } from './peer-wire.js';
export type * from './peer-wire-types.js';
export * from './extensions.js';
export * from './ut-metadata.js';
export * from './metadata-assembler.js';
export * from './ut-pex.js';
export { TypedEmitter as WireEmitter } from './emitter.js';
