/**
 * trackerless/testing: rigs for tests, simulations and benchmarks. An in-memory datagram
 * network with latency and loss in virtual time, testnets of DHT nodes on it, and a seeded
 * random source for reproducible runs.
 */
export { SimNetwork, SIM_DEFAULT_PORT } from './sim-network.js';
export type { SimNetworkOptions, LatencyModel, SendHook } from './sim-network.js';
export { SimTestnet } from './testnet.js';
export type { SimTestnetOptions } from './testnet.js';
export { WarmTestnet } from './warm-testnet.js';
export type { WarmTestnetOptions } from './warm-testnet.js';
export { seededRandom } from '../util/random.js';
