/**
 * trackerless: BitTorrent swarms from magnet links with no tracker.
 * Public exports only.
 */
export { DHT } from './dht/dht.js';
export type {
  DhtEvents,
  GetPeersResult,
  AnnounceResult,
  SampleInfohashesResult,
  ScrapeResult,
  DhtStats
} from './dht/types.js';
export { ScrapeBloomFilter } from './scrape/bloom-filter.js';

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
export type { DhtOptions, AnnounceOptions, LookupOptionsPublic } from './dht/options.js';
export type { LookupResult, LookupResponder } from './lookup/lookup.js';
export type { Address } from './net/address.js';
export type { NodeInfo } from './krpc/types.js';
export type { Transport } from './net/transport.js';
export { createUdpTransport } from './net/udp-transport.js';
export { SimNetwork } from './testing/sim-network.js';
export type { SimNetworkOptions } from './testing/sim-network.js';
export { SimTestnet } from './testing/testnet.js';
export type { SimTestnetOptions } from './testing/testnet.js';
export { parseInfoHash, compareDistance } from './id/node-id.js';
export { parseHostPort, formatAddress } from './net/address.js';
export { toHex, fromHex } from './util/bytes.js';
export type { Clock, TimerHandle } from './util/clock.js';
export { systemClock } from './util/clock.js';
export type { RandomSource } from './util/random.js';
export { seededRandom } from './util/random.js';
export {
  TrackerlessError,
  InvalidArgumentError,
  DestroyedError,
  TimeoutError,
  AbortError,
  RemoteError,
  BackpressureError
} from './errors.js';
export type { TrackerlessErrorCode } from './errors.js';
export { K, ALPHA, DEFAULT_BOOTSTRAP } from './constants.js';

// --- swarms: magnet -> peer sources -> engine -> storage --------------------------------------
export { Swarm } from './swarm/swarm.js';
export type { SwarmOptions, SwarmEvents } from './swarm/swarm.js';
export { seed } from './swarm/seed.js';
export type { SeedOptions, SeedResult, SeedData } from './swarm/seed.js';
export type { DhtSourceOptions } from './swarm/peer-sources.js';

// --- piece-exchange engines -------------------------------------------------------------------
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
} from './engine/engine.js';
export { BitTorrentEngine } from './engine/bittorrent-engine.js';
export type { BitTorrentEngineOptions } from './engine/engine-options.js';
export type { ExistingData } from './engine/storage/storage-setup.js';
export type { ChokerSettings } from './engine/upload/uploader.js';
export { TcpPeerListener } from './engine/peers/tcp-peer-listener.js';
export { connectTcp } from './net/tcp.js';
export { connectPeer } from './engine/peers/connect-peer.js';
export type { ListenOptions } from './engine/peers/tcp-peer-listener.js';
export type { ConnectOptions } from './net/tcp.js';
export { loadResume, saveResume, resumePath } from './engine/storage/resume.js';

// --- storage ----------------------------------------------------------------------------------
export type { Storage, VerifyOptions } from './engine/storage/storage.js';
export type { PieceLayout } from './torrent/piece-layout.js';
export { verifyPieces } from './engine/storage/storage.js';
export { MemoryStorage } from './engine/storage/memory-storage.js';
export { FsStorage } from './engine/storage/fs-storage.js';
export type { FsStorageOptions } from './engine/storage/fs-storage.js';
export { Bitfield } from './engine/bitfield.js';

// --- torrents and magnet links ----------------------------------------------------------------
export { createTorrent, createTorrentFromBuffer } from './torrent/create.js';
export type { CreateTorrentOptions } from './torrent/create.js';
export { parseInfo, parseTorrentFile, toTorrentFile, pieceHash } from './torrent/metainfo.js';
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

// --- wire streams (to test or bridge custom engines without sockets) --------------------------
export type { WireStream } from './net/stream.js';
export { pipePair } from './wire/memory-stream.js';
export { ProtocolError } from './wire/errors.js';
export {
  mseInitiate,
  mseRespond,
  MseStream,
  type EncryptionPolicy,
  type CryptoMethod,
  type MseResult
} from './wire/mse.js';

// --- BEP 51 crawler ---------------------------------------------------------------------------
export {
  Crawler,
  createDhtCrawler,
  dhtSampleQuery,
  MemoryCrawlerStore,
  SqliteCrawlerStore,
  PgCrawlerStore,
  openStore,
  LivenessRefresher,
  UtMetadataResolver
} from './crawler/index.js';
export type {
  CrawlerOptions,
  CrawlerEvents,
  CrawlerStats,
  DhtCrawlerOptions,
  CrawlerStore,
  CrawlerState,
  InfoHashSource,
  MetadataResolver,
  TorrentMetadata,
  SampleQuery,
  SampleReply,
  UtMetadataResolverOptions,
  FlushResult,
  IndexStore,
  TorrentIndex,
  SearchQuery,
  SearchPage,
  TorrentSummary,
  TorrentDetail,
  ScrapeEstimate,
  ScrapeFunction
} from './crawler/index.js';
export { WarmTestnet } from './testing/warm-testnet.js';
export type { WarmTestnetOptions } from './testing/warm-testnet.js';
