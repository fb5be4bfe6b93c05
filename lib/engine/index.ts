/**
 * trackerless/engine: the piece-exchange engine contract (what a Swarm drives), the built-in
 * BitTorrent engine, storages, and the TCP side of peers (listener, dialing, resume files).
 */
export type {
  PieceExchangeEngine,
  EngineEvents,
  EngineProgress,
  EngineContext,
  EngineFactory,
  PeerSource,
  PeerBan,
  PeerListener,
  PeerConnector,
  IncomingHandler,
  StorageFactory
} from './engine.js';
export { BitTorrentEngine } from './bittorrent-engine.js';
export type { BitTorrentEngineOptions } from './engine-options.js';
export type { PeerStatus } from './peers/peers.js';
// Files of a BitTorrentEngine used directly (a Swarm or a Client gives them as `files`).
export { torrentFiles, fileSource } from '../stream/torrent-file.js';
export { RangeReader } from '../stream/range-reader.js';
export type { ExistingData } from './storage/storage-setup.js';
export type { ChokerSettings } from './upload/uploader.js';

// --- peers over TCP ---------------------------------------------------------------------------
export { TcpPeerListener } from './peers/tcp-peer-listener.js';
export type { ListenOptions, ListenerStats } from './peers/tcp-peer-listener.js';
export { DEFAULT_INBOUND_LIMITS, type InboundLimits, type InboundStats } from './peers/inbound-gate.js';
export {
  connectPeer,
  DEFAULT_TRANSPORT,
  UTP_FALLBACK_TIMEOUT_MS,
  type PeerDialOptions,
  type TransportPolicy,
  type UtpDialer
} from './peers/connect-peer.js';

// --- peers over uTP (BEP 29) -----------------------------------------------------------------
export { UtpPeerListener } from './peers/utp-peer-listener.js';
export type { UtpListenOptions, UtpAcceptor, IncomingUtp } from './peers/utp-peer-listener.js';
export { IncomingRoutes } from './peers/incoming-routes.js';
export { InboundGate } from './peers/inbound-gate.js';
export { UtpSocket } from '../utp/socket.js';
export type { UtpSocketOptions, UtpConnectOptions } from '../utp/socket.js';
export { shareUdpPort } from '../utp/shared-port.js';
export type { PeerTransport } from '../net/stream.js';
export { connectTcp } from '../net/tcp.js';
export type { ConnectOptions } from '../net/tcp.js';

// --- storage ----------------------------------------------------------------------------------
export type { Storage, VerifyOptions } from './storage/storage.js';
export { verifyPieces } from './storage/storage.js';
export { MemoryStorage } from './storage/memory-storage.js';
export { FsStorage, fsDescriptorIo } from './storage/fs-storage.js';
export type { FsStorageOptions, DescriptorIo, PositionalIo } from './storage/fs-storage.js';
export { loadResume, saveResume, resumePath } from './storage/resume.js';
export { Bitfield } from './bitfield.js';
export type { PieceLayout } from '../torrent/piece-layout.js';
export { pieceCount, pieceSize } from '../torrent/piece-layout.js';
export { pieceHash } from '../torrent/metainfo.js';
// A process-wide V8 setting for a process whose main job is moving data (the CLI's transfer
// commands call it): it lives here, beside the engine, and not in the small root export.
export { keepYoungGenerationSmall } from '../util/young-generation.js';
