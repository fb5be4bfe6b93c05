/**
 * trackerless: BitTorrent swarms from magnet links with no tracker.
 * Public exports only.
 */
export { DHT } from './dht/dht.js';
export type { DhtEvents, GetPeersResult, AnnounceResult, SampleInfohashesResult, DhtStats } from './dht/dht.js';
export type { DhtOptions, AnnounceOptions, LookupOptionsPublic } from './dht/options.js';
export type { LookupResult, LookupResponder } from './lookup/lookup.js';
export type { Address, NodeInfo } from './krpc/types.js';
export type { Transport } from './rpc/transport.js';
export { createUdpTransport } from './rpc/udp-transport.js';
export { SimNetwork } from './rpc/sim-network.js';
export type { SimNetworkOptions } from './rpc/sim-network.js';
export { SimTestnet } from './testing/testnet.js';
export type { SimTestnetOptions } from './testing/testnet.js';
export { parseInfoHash, compareDistance } from './id/node-id.js';
export { parseHostPort, formatAddress } from './dht/address.js';
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
