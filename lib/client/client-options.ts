/**
 * Options of a Client and of `client.add`, with the Swarm's names where they mean the same.
 */
import type { DhtOptions } from '../dht/options.js';
import type { BitTorrentEngineOptions } from '../engine/engine-options.js';
import type { ListenOptions } from '../engine/peers/tcp-peer-listener.js';
import type { TransportPolicy } from '../engine/peers/connect-peer.js';
import type { ExistingData } from '../engine/storage/storage-setup.js';
import type { LocalDiscoveryOptions } from '../lsd/local-discovery.js';
import type { DhtSourceOptions } from '../swarm/peer-sources.js';
import type { Clock } from '../util/clock.js';
import type { EncryptionPolicy } from '../wire/mse.js';
import { InvalidArgumentError } from '../errors.js';

/** Default global cap on peer connections, over all torrents (libtorrent's connections_limit). */
export const DEFAULT_MAX_CONNECTIONS = 200;

export interface ClientOptions {
  /**
   * Bootstrap nodes ("host:port") of the client's DHT node. Undefined: the DHT's defaults
   * (the state file's nodes, then the public routers). Tests pass loopback nodes or [].
   */
  bootstrap?: string[];
  /** Options of the client's one DHT node (host, port, statePath, ...). */
  dhtOptions?: DhtOptions;
  /**
   * Where the DHT node keeps its id and routing table between runs, so the next start joins
   * from the saved nodes before any other source: a file (the IPv4 node's), or `false` to keep
   * nothing. Default `dht.json` (and `dht6.json` for the IPv6 node) in `stateDir` when given,
   * else in the user's state directory (`defaultStateDir()`): the file the CLI keeps. One node
   * at a time writes a state file; a second process started on it joins from its nodes and
   * leaves it alone. `dhtOptions.statePath` wins over this.
   */
  dhtState?: string | false;
  /**
   * Also find and announce peers over IPv6 (BEP 32): a second DHT node, on `::` unless
   * `dhtOptions.host` says otherwise, announcing the same TCP port (the listener then binds
   * `::`, dual stack, unless `listen.host` is given). Off by default: one DHT node speaks one
   * address family.
   */
  ipv6?: boolean | { dhtOptions?: DhtOptions; bootstrap?: string[] };
  /** The client's one TCP listener (host, port, admission limits). Default 0.0.0.0, any port. */
  listen?: ListenOptions;
  /** Global caps over all torrents, bytes/s (0 or undefined = unlimited); `setLimits` changes them. */
  uploadLimit?: number;
  downloadLimit?: number;
  /** Global cap on peer connections over all torrents. Default 200. */
  maxConnections?: number;
  /**
   * Directory of the persistent session: the torrent list, each torrent's metadata, the DHT
   * routing table. A client created on the same directory resumes every torrent.
   * Undefined: no torrent is kept (an in-memory session; the DHT table still is, see `dhtState`).
   */
  stateDir?: string;
  /** Default download directory of `add` (each add may give its own). */
  outDir?: string;
  /** Message Stream Encryption policy of the listener and the dials. Default 'enabled'. */
  encryption?: EncryptionPolicy;
  /**
   * Accept and dial uTP (BEP 29) on the DHT node's UDP socket, whose port number is the TCP
   * listener's (one UDP and one TCP port for every torrent, as libtorrent). Default true.
   */
  utp?: boolean;
  /** How every torrent dials peers: 'utp-first' (default), 'tcp-first', 'both', 'tcp', 'utp'. */
  transport?: TransportPolicy;
  /** DHT lookup / announce schedule of every torrent. */
  discovery?: DhtSourceOptions;
  /** BEP 14 local service discovery, one for all torrents. Off by default. */
  lsd?: boolean | LocalDiscoveryOptions;
  /** Engine tuning applied to every torrent. */
  engineOptions?: Partial<
    Omit<BitTorrentEngineOptions, 'infoHash' | 'info' | 'outDir' | 'storage' | 'listener' | 'sharedLimits'>
  >;
  /** Time source of the engines, the listener and the DHT node. Default the system clock. */
  clock?: Clock;
  /** Aborting destroys the client. */
  signal?: AbortSignal;
}

export interface AddOptions {
  /** Download directory (default: the client's `outDir`). */
  outDir?: string;
  /** Cancels the add (the torrent is not kept). */
  signal?: AbortSignal;
  /** BEP 53 files to download, or 'all' (default: the magnet's `so=`, else all). */
  selectFiles?: number[] | 'all';
  /** Add without starting (`torrent.resume()` starts it). */
  paused?: boolean;
  /** Keep uploading once complete. Default true. */
  seed?: boolean;
  /** This torrent's caps, bytes/s (0 = unlimited), under the client's global ones. */
  uploadLimit?: number;
  downloadLimit?: number;
  /** What to assume about data already in `outDir`. Default 'verify' (resume file first). */
  existing?: ExistingData;
}

export interface ClientLimits {
  uploadLimit: number;
  downloadLimit: number;
  maxConnections: number;
}

/** Rate caps in bytes/s (0 = unlimited): the client's, a torrent's at add time and later. Throws before anything changes. */
export function checkRates(l: { uploadLimit?: number; downloadLimit?: number }): void {
  for (const [name, v] of [
    ['uploadLimit', l.uploadLimit],
    ['downloadLimit', l.downloadLimit]
  ] as const)
    if (v !== undefined && !(typeof v === 'number' && v >= 0))
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        `${name} must be a number >= 0, got ${String(v)}`
      );
}
