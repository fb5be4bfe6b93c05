/**
 * trackerless: BitTorrent swarms from magnet links with no tracker.
 *
 * The root export is what most programs need: a DHT node, a Swarm (magnet or torrent ->
 * peers -> pieces on disk), seeding, torrents and magnet links, and the errors. The parts
 * behind them have their own entry points:
 *   trackerless/engine   the piece-exchange engine, its contract, storages, TCP peer listener
 *   trackerless/wire     the peer wire protocol over any byte stream, extensions, MSE
 *   trackerless/crawler  the BEP 51 crawler and its stores
 *   trackerless/testing  simulated networks and testnets in virtual time
 */

// --- the DHT node ---------------------------------------------------------------------------
export { DHT } from './dht/dht.js';
export type { DhtOptions, AnnounceOptions, LookupOptionsPublic } from './dht/options.js';
export type {
  DhtEvents,
  GetPeersResult,
  AnnounceResult,
  SampleInfohashesResult,
  ScrapeResult,
  DhtStats
} from './dht/types.js';
export type { LookupResult, LookupResponder } from './lookup/lookup.js';
export { ScrapeBloomFilter } from './scrape/bloom-filter.js';
export { K, ALPHA, DEFAULT_BOOTSTRAP } from './constants.js';

// --- BEP 44 items -----------------------------------------------------------------------------
export type { PutResult, PutMutableOptions, GetMutableOptions } from './dht/items.js';
export type { ImmutableItem, MutableItem, ItemValue, DecodedItemValue } from './item/item.js';
export {
  immutableTarget,
  mutableTarget,
  signedBytes,
  encodeItemValue,
  decodeItemValue
} from './item/item.js';
export type { KeyPair } from './item/ed25519.js';
export {
  generateKeyPair,
  keyPairFromSeed,
  parsePublicKey,
  signMessage,
  verifySignature
} from './item/ed25519.js';
export { loadKeyPair, saveKeyPair } from './item/key-file.js';

// --- swarms: magnet -> peer sources -> engine -> storage --------------------------------------
export { Swarm } from './swarm/swarm.js';
export type { SwarmOptions, SwarmEvents, SwarmListeners } from './swarm/swarm.js';
export { seed } from './swarm/seed.js';
export type { SeedOptions, SeedResult, SeedData } from './swarm/seed.js';
export type { DhtSourceOptions } from './swarm/peer-sources.js';
export type { EngineProgress, PeerBan, PeerSource } from './engine/engine.js';

// --- streaming: files readable while they download -------------------------------------------
export { TorrentFile } from './stream/torrent-file.js';
export type { FileSource, ReadRange } from './stream/torrent-file.js';
export type { RangeReader, StreamSource } from './stream/range-reader.js';
export type { FilePriority } from './engine/storage/file-selection.js';
export type { ReadHead } from './engine/download/demand.js';
export { StreamServer, type StreamServerOptions } from './http/stream-server.js';
export type { StreamTorrent } from './http/stream-torrent.js';
export type { EncryptionPolicy } from './wire/mse.js';
export type { TransportPolicy } from './engine/peers/connect-peer.js';

// --- the client: many torrents over one DHT node and one listener ------------------------------
export { Client } from './client/client.js';
export type { ClientEvents } from './client/client.js';
export type { ClientOptions, AddOptions, ClientLimits } from './client/client-options.js';
export { ClientTorrent } from './client/client-torrent.js';
export type { TorrentEvents, TorrentState } from './client/client-torrent.js';
export type { TorrentInput } from './client/torrent-input.js';

// --- torrents and magnet links ----------------------------------------------------------------
export { createTorrent, createTorrentFromBuffer } from './torrent/create.js';
export type { CreateTorrentOptions } from './torrent/create.js';
export { parseInfo, parseTorrentFile, toTorrentFile } from './torrent/metainfo.js';
export type { TorrentInfo, TorrentFileEntry, ParsedTorrentFile } from './torrent/metainfo.js';
export {
  parseMagnet,
  toMagnet,
  parseMutableMagnet,
  toMutableMagnet,
  isMutableMagnet
} from './magnet/magnet.js';
export type { Magnet, MagnetInput, MutableMagnet } from './magnet/magnet.js';

// --- BEP 46 mutable torrents ------------------------------------------------------------------
export {
  publishMutableTorrent,
  resolveMutableTorrent,
  followMutableTorrent,
  infoHashOf
} from './mutable-torrent/mutable-torrent.js';
export type {
  MutableTorrentKey,
  MutableTorrentVersion,
  FollowOptions,
  MutableTorrentDht
} from './mutable-torrent/mutable-torrent.js';
export { MutableSwarm } from './mutable-torrent/mutable-swarm.js';
export type { MutableSwarmOptions, MutableSwarmEvents } from './mutable-torrent/mutable-swarm.js';

// --- addresses, ids, sockets, time --------------------------------------------------------------
export type { Address } from './net/address.js';
export { parseHostPort, formatAddress } from './net/address.js';
export type { NodeInfo } from './krpc/types.js';
export { parseInfoHash, compareDistance } from './id/node-id.js';
export { toHex, fromHex } from './util/bytes.js';
export type { Transport } from './net/transport.js';
export { createUdpTransport } from './net/udp-transport.js';
export type { Clock, TimerHandle } from './util/clock.js';
export { systemClock } from './util/clock.js';
export { defaultStateDir } from './util/state-dir.js';
export type { RandomSource } from './util/random.js';

// --- errors -----------------------------------------------------------------------------------
export {
  TrackerlessError,
  InvalidArgumentError,
  StateError,
  DestroyedError,
  TimeoutError,
  AbortError,
  RemoteError,
  BackpressureError,
  MissingDependencyError,
  DatabaseError,
  UnknownTorrentError,
  DuplicateTorrentError
} from './errors.js';
export type { TrackerlessErrorCode } from './errors.js';
export { ProtocolError } from './wire/errors.js';
export type { ProtocolErrorReason } from './wire/errors.js';
