/**
 * Options of the built-in BitTorrent engine, with their defaults and units in one place.
 */
import type { RandomWalkOptions } from './peers/random-walk.js';
import { makePeerId } from '../wire/peer-id.js';
import { InvalidArgumentError } from '../errors.js';
import { parseInfoHash } from '../id/node-id.js';
import type { TorrentInfo } from '../torrent/metainfo.js';
import { bytesEqual } from '../util/bytes.js';
import { systemClock, type Clock } from '../util/clock.js';
import { cryptoRandom, type RandomSource } from '../util/random.js';
import { DEFAULT_MAX_METADATA_SIZE } from '../wire/constants.js';
import type { PeerWireOptions } from '../wire/peer-wire-types.js';
import type { PeerConnector, PeerListener, StorageFactory } from './engine.js';
import type { Storage } from './storage/storage.js';
import { normalizeSelection, selectedPieces } from './storage/file-selection.js';
import type { ExistingData } from './storage/storage-setup.js';
import { DEFAULT_ENCRYPTION, type EncryptionPolicy } from '../wire/mse.js';
import {
  connectPeer,
  DEFAULT_TRANSPORT,
  TRANSPORT_POLICIES,
  type TransportPolicy,
  type UtpDialer
} from './peers/connect-peer.js';
import { CONNECT_TIMEOUT_MS } from '../net/tcp.js';
import { type ListenOptions } from './peers/tcp-peer-listener.js';
import { TcpOnlyPeers } from './peers/tcp-only-peers.js';
import { DEFAULT_READAHEAD_BYTES } from './download/demand.js';
import type { ChokerSettings } from './upload/uploader.js';
import type { RateLimiter } from '../util/rate-limiter.js';
import type { ConnectionBudget } from './peers/connection-budget.js';

export interface BitTorrentEngineOptions {
  /** 20 bytes or 40 hex / 32 base32 characters. Must match `info` when both are given. */
  infoHash: Uint8Array | string;
  /** The metadata, when known (a seed, or a .torrent); otherwise fetched with ut_metadata. */
  info?: TorrentInfo;
  /** Store the content under this directory (FsStorage, with a resume file). */
  outDir?: string;
  /** Or any Storage (the caller keeps ownership), or a factory called once the metadata is known. */
  storage?: Storage | StorageFactory;
  /** See ExistingData. Default 'verify' with outDir (resume file first), else 'none'. */
  existing?: ExistingData;
  /** Use and write the resume file (outDir only). Default true. */
  resume?: boolean;
  /** How often the resume file is refreshed while downloading, ms. Default 30 s. */
  resumeIntervalMs?: number;
  /**
   * BEP 53 select-only: download only these files (zero-based indices into the info
   * dictionary's `files`, padding files included), e.g. a magnet's `so=`. The pieces
   * overlapping a selected file are fetched; progress and 'done' are about those pieces. An
   * index past the end of the file list is InvalidArgumentError('ERR_INVALID_SELECTION'):
   * thrown here when `info` is given, else a fatal 'error' once the metadata arrives (done()
   * rejects with it). Default: every file.
   */
  selectFiles?: number[];
  /**
   * Start new pieces lowest index first instead of rarest first (whole-file streaming; costs
   * the swarm piece diversity). Changeable with `setSequential`. Default false.
   */
  sequential?: boolean;
  /** Bytes past a reader's position that get deadlines too (streaming readahead). Default 4 MiB. */
  readaheadBytes?: number;
  /** Keep running as a seed once complete; when false the engine stops itself after 'done'. Default false. */
  seed?: boolean;
  /** Our 20-byte peer id. Default: PEER_ID_PREFIX ('-TL0001-') + 12 random bytes. */
  peerId?: Uint8Array;
  /** A shared listener to receive incoming peers (e.g. the Swarm's). */
  listener?: PeerListener;
  /** Or create our own TCP listener (closed with the engine). */
  listen?: ListenOptions;
  /** Dial peers (default: `transport` over TCP and `utp`, with `encryption`). */
  connect?: PeerConnector;
  /**
   * A uTP socket (utp/socket.ts UtpSocket, usually on the DHT's UDP port) to dial peers over
   * uTP too; without it the default `connect` dials TCP only.
   */
  utp?: UtpDialer;
  /**
   * Which transports the default `connect` dials, in which order (connect-peer.ts): 'utp-first'
   * (default, as libtorrent: TCP when uTP fails), 'tcp-first', 'both' (at once, the first
   * connected wins), 'tcp' or 'utp' only. Incoming peers are accepted over both.
   */
  transport?: TransportPolicy;
  /**
   * Message Stream Encryption policy of the default `connect` and of the engine's own listener
   * (`listen`): 'disabled' | 'enabled' | 'preferred' | 'required'. Default 'enabled': accept
   * both, dial plaintext. See docs/engine.md.
   */
  encryption?: EncryptionPolicy;
  /** Our DHT node's UDP port: advertised with BEP 5 (DHT bit + PORT message). */
  dhtPort?: number;
  /** Rate caps, bytes/s; 0 or undefined = unlimited. Changeable at run time (`setRateLimits`). */
  uploadLimit?: number;
  downloadLimit?: number;
  /**
   * Caps shared with other engines (a Client's global limits): this torrent's bytes count
   * against them as well as against its own `uploadLimit` / `downloadLimit`.
   */
  sharedLimits?: { upload?: RateLimiter; download?: RateLimiter; connections?: ConnectionBudget };
  /** Peer connections (dialed + accepted). Default 50. */
  maxConnections?: number;
  /** Dials in progress at once. Default 8. */
  maxHalfOpen?: number;
  /** Default 10 s. */
  connectTimeoutMs?: number;
  /** Candidate peers remembered. Default 1000. */
  maxCandidates?: number;
  /**
   * How long a peer that broke the wire protocol (an oversized length prefix, a wrong-length
   * bitfield or block, ...) stays banned, ms. Default 1 hour. Corrupt senders stay banned.
   */
  protocolBanMs?: number;
  /** Piece buffers (assembling + being written), bytes. Default 64 MiB. */
  maxInFlightBytes?: number;
  /** Requests outstanding per peer: min, max, and seconds of its rate to keep in flight. */
  minPipeline?: number;
  maxPipeline?: number;
  pipelineSeconds?: number;
  /** A peer that leaves our requests unanswered this long loses them (and is snubbed), ms. Default 20 s. */
  requestTimeoutMs?: number;
  /** Verify pieces on the thread pool (WebCrypto SHA-1) rather than the event loop. Default false. */
  hashInThreadPool?: boolean;
  /**
   * Seeding: spend the upload on pieces the swarm lacks — queued requests are served by
   * priority (pieces being sent to that peer, then pieces no other peer holds, then the
   * rarest), never leaving the upload idle; while new pieces wait, requests for pieces others
   * hold that waited 1.5 s are rejected (BEP 6) so they are fetched from a holder. Default true.
   */
  distribute?: boolean;
  /** Upload read cache, bytes. Default 32 MiB. */
  cacheBytes?: number;
  /** Files kept open by FsStorage. Default 32. */
  maxOpenFiles?: number;
  /** Largest info dictionary accepted from peers, bytes. Default 16 MiB. */
  maxMetadataSize?: number;
  /** Unchoke slots and intervals (default 4 + 1, 10 s, 30 s). */
  choker?: ChokerSettings;
  /** ut_pex (BEP 11). Default true, and never for private torrents. */
  pex?: boolean;
  /**
   * The random-walk peer sampler over PEX (peers/random-walk.ts): at the connection cap, once a
   * minute, move one connection (at least 2 minutes old) to a peer its far end named in PEX,
   * which keeps a swarm with no tracker and no DHT well mixed. Default true (with PEX); options
   * change its step interval and the least age of a connection it may move.
   */
  randomWalk?: boolean | Partial<Pick<RandomWalkOptions, 'intervalMs' | 'minAgeMs'>>;
  /** Engine upkeep period (rates, choker check, timeouts, PEX, progress event), ms. Default 1 s. */
  tickMs?: number;
  /** Wire timeouts (tests shorten them). */
  wire?: Pick<PeerWireOptions, 'keepAliveIntervalMs' | 'idleTimeoutMs' | 'handshakeTimeoutMs'>;
  clock?: Clock;
  random?: RandomSource;
}

export type ResolvedOptions = Required<
  Omit<
    BitTorrentEngineOptions,
    | 'info'
    | 'outDir'
    | 'storage'
    | 'listener'
    | 'listen'
    | 'dhtPort'
    | 'wire'
    | 'infoHash'
    | 'choker'
    | 'selectFiles'
    | 'sharedLimits'
    | 'utp'
  >
> &
  Pick<
    BitTorrentEngineOptions,
    | 'info'
    | 'outDir'
    | 'storage'
    | 'listener'
    | 'listen'
    | 'dhtPort'
    | 'wire'
    | 'choker'
    | 'selectFiles'
    | 'sharedLimits'
    | 'utp'
  > & {
    infoHash: Uint8Array;
  };

export function resolveOptions(o: BitTorrentEngineOptions): ResolvedOptions {
  const infoHash = parseInfoHash(o.infoHash);
  if (o.info && !bytesEqual(o.info.infoHash, infoHash)) {
    throw new InvalidArgumentError('ERR_INVALID_INFOHASH', 'info does not match infoHash');
  }
  if (o.outDir === undefined && o.storage === undefined) {
    throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'the engine needs outDir or storage');
  }
  const random = o.random ?? cryptoRandom;
  const clock = o.clock ?? systemClock;
  const positive = (name: string, v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!Number.isFinite(v) || v < 0)
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `${name} must be a non-negative number`);
    return v;
  };
  const minPipeline = positive('minPipeline', o.minPipeline, 16);
  const transport = o.transport ?? DEFAULT_TRANSPORT;
  if (!TRANSPORT_POLICIES.includes(transport))
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `transport must be one of ${TRANSPORT_POLICIES.join(', ')}, got ${String(transport)}`
    );
  const { selectFiles, ...rest } = o;
  // Peers whose uTP went unanswered: redialed TCP first.
  const tcpOnly = new TcpOnlyPeers(clock);
  return {
    ...rest,
    ...(selectFiles !== undefined ? { selectFiles: checkSelection(selectFiles, o.info) } : {}),
    infoHash,
    existing: o.existing ?? (o.outDir !== undefined && o.storage === undefined ? 'verify' : 'none'),
    resume: o.resume ?? true,
    resumeIntervalMs: positive('resumeIntervalMs', o.resumeIntervalMs, 30_000),
    seed: o.seed ?? false,
    sequential: o.sequential ?? false,
    readaheadBytes: positive('readaheadBytes', o.readaheadBytes, DEFAULT_READAHEAD_BYTES),
    peerId: o.peerId ?? makePeerId(random),
    encryption: o.encryption ?? DEFAULT_ENCRYPTION,
    transport,
    connect:
      o.connect ??
      ((address, { utpOnly, ...opts }) =>
        connectPeer(address, infoHash, {
          ...opts,
          clock,
          encryption: o.encryption ?? DEFAULT_ENCRYPTION,
          transport: utpOnly ? 'utp' : transport,
          tcpOnly,
          ...(o.utp ? { utp: o.utp } : {})
        })),
    uploadLimit: positive('uploadLimit', o.uploadLimit, 0),
    downloadLimit: positive('downloadLimit', o.downloadLimit, 0),
    maxConnections: positive('maxConnections', o.maxConnections, 50),
    maxHalfOpen: positive('maxHalfOpen', o.maxHalfOpen, 8),
    connectTimeoutMs: positive('connectTimeoutMs', o.connectTimeoutMs, CONNECT_TIMEOUT_MS),
    maxCandidates: positive('maxCandidates', o.maxCandidates, 1000),
    protocolBanMs: positive('protocolBanMs', o.protocolBanMs, 3_600_000),
    maxInFlightBytes: positive('maxInFlightBytes', o.maxInFlightBytes, 64 * 1024 * 1024),
    minPipeline,
    maxPipeline: Math.max(minPipeline, positive('maxPipeline', o.maxPipeline, 250)),
    pipelineSeconds: positive('pipelineSeconds', o.pipelineSeconds, 1),
    requestTimeoutMs: positive('requestTimeoutMs', o.requestTimeoutMs, 20_000),
    cacheBytes: positive('cacheBytes', o.cacheBytes, 32 * 1024 * 1024),
    maxOpenFiles: positive('maxOpenFiles', o.maxOpenFiles, 32),
    maxMetadataSize: positive('maxMetadataSize', o.maxMetadataSize, DEFAULT_MAX_METADATA_SIZE),
    pex: o.pex ?? true,
    randomWalk: o.randomWalk ?? true,
    hashInThreadPool: o.hashInThreadPool ?? false,
    distribute: o.distribute ?? true,
    tickMs: positive('tickMs', o.tickMs, 1000),
    clock,
    random
  };
}

/** A valid selection, checked against the file list too when the metadata is known. */
function checkSelection(indices: number[], info: TorrentInfo | undefined): number[] {
  const selection = normalizeSelection(indices);
  if (info) selectedPieces(info, selection);
  return selection;
}
