/**
 * The piece-exchange engine contract: the seam between peer discovery (a Swarm: DHT, magnet
 * hints, PEX) and whatever moves the content (the built-in BitTorrent wire engine, or an app's
 * own). Discovery hands the engine candidate peers; the engine reports which TCP port to
 * announce, whether it wants more peers, progress and completion.
 *
 * An engine never touches the DHT: the Swarm owns discovery and reacts to the engine's
 * `wantsPeers()` and events. See docs/engine.md for an example of plugging in another engine.
 */
import type { Address } from '../net/address.js';
import type { TorrentInfo } from '../torrent/metainfo.js';
import type { WireStream } from '../net/stream.js';
import type { Storage } from './storage/storage.js';

/** Where a candidate peer came from (engines may prefer some sources, and report them). */
export type PeerSource = 'dht' | 'magnet' | 'pex' | 'lsd' | 'incoming' | 'manual';

/**
 * A snapshot of an engine's progress. Byte counts are piece payload bytes (no protocol
 * overhead). With a file selection (BEP 53) the piece and byte totals cover the pieces of the
 * selected files only.
 */
export interface EngineProgress {
  /** Payload bytes received from peers since start (including data later found corrupt). */
  downloaded: number;
  /** Payload bytes sent to peers since start. */
  uploaded: number;
  /** Pieces verified and stored (including pieces found on disk at start), of the `totalPieces`. */
  verifiedPieces: number;
  /** Pieces to download: the torrent's, or those overlapping the selected files; 0 while the metadata is unknown. */
  totalPieces: number;
  /** Bytes of those pieces stored and verified (0 while the metadata is unknown). */
  verifiedBytes: number;
  /** Bytes of those pieces: the torrent length without a selection; 0 while the metadata is unknown. */
  totalBytes: number;
  /** Current download / upload rates, bytes/s. */
  downRate: number;
  upRate: number;
  /** Peers connected (handshake done). */
  peers: number;
  /** Bytes held for pieces being assembled or written (the built-in engine keeps it within `maxInFlightBytes`). */
  buffered?: number;
}

export interface PeerBan {
  /** The peer's listen address if known, else its connection address. */
  address: Address;
  /** Hex peer id, if the handshake was done. */
  peerId?: string;
  reason: 'corrupt-piece' | 'corrupt-metadata' | 'protocol';
}

/** Events every engine emits (tuple form: listener arguments). */
export type EngineEvents = {
  /** Periodic (about once a second while running) and on state changes. */
  progress: [progress: EngineProgress];
  /** The info dictionary became known (fetched with ut_metadata and verified, or given). */
  metadata: [info: TorrentInfo];
  /**
   * Every piece (with a file selection or priorities: every wanted piece) is verified and
   * flushed to storage. Emitted once, and again only if the wanted set later grows (a file's
   * priority raised) and that is complete too.
   */
  done: [];
  /** A piece was verified and stored (readers wait on it). */
  piece: [index: number];
  /** A peer was disconnected and will not be reconnected. */
  'peer-banned': [ban: PeerBan];
  /** A peer told us about its DHT node (BEP 5 PORT): the Swarm may `dht.addNode` it. */
  'dht-node': [node: Address];
  /** Something went wrong that did not stop the engine. */
  warning: [error: Error];
  /** A fatal error: the engine stopped itself (storage failure, unsupported torrent). */
  error: [error: Error];
};

/** The subset of an emitter an engine exposes (so any emitter implementation fits). */
export interface EngineEmitter {
  on<K extends keyof EngineEvents>(event: K, fn: (...args: EngineEvents[K]) => void): unknown;
  off<K extends keyof EngineEvents>(event: K, fn: (...args: EngineEvents[K]) => void): unknown;
  once<K extends keyof EngineEvents>(event: K, fn: (...args: EngineEvents[K]) => void): unknown;
}

/**
 * A piece-exchange engine for one torrent.
 *
 * Lifecycle: construct -> `start()` (prepares storage, may verify existing data; rejects on a
 * fatal error) -> run: discovery calls `addPeer` -> `stop()` (graceful: state saved) or
 * `destroy()` (immediate). Both are idempotent and final.
 */
export interface PieceExchangeEngine extends EngineEmitter {
  readonly infoHash: Uint8Array;
  /** The torrent's metadata once known. */
  readonly info: TorrentInfo | undefined;
  /** TCP port to announce on the DHT, or undefined if the engine accepts no incoming peers. */
  readonly announcePort: number | undefined;
  /** True once every piece (every wanted piece, with a file selection) is verified and stored. */
  readonly complete: boolean;

  start(options?: { signal?: AbortSignal }): Promise<void>;
  /** Graceful: stop connecting, close peers, flush storage, save resume state. */
  stop(): Promise<void>;
  /** Immediate: close everything; nothing more is saved. */
  destroy(): Promise<void>;

  /** A candidate peer from discovery. Engines dedupe, cap and rate-limit connections themselves. */
  addPeer(address: Address, source: PeerSource): void;
  /**
   * An incoming connection already routed to this torrent by infohash (its first bytes, the
   * BitTorrent handshake, are still readable from `stream`). Optional: an engine that accepts
   * no incoming connections leaves it out.
   */
  acceptConnection?(stream: WireStream, remote: Address): void;
  /** True while discovery should keep looking for peers for this engine. */
  wantsPeers(): boolean;
  progress(): EngineProgress;

  /** Resolves with the metadata (at once if known); rejects on abort, stop or a fatal error. */
  metadata(options?: { signal?: AbortSignal }): Promise<TorrentInfo>;
  /** Resolves when complete (at once if complete); rejects on abort, stop or a fatal error. */
  done(options?: { signal?: AbortSignal }): Promise<void>;
}

/** Creates the storage once the metadata is known. */
export type StorageFactory = (info: TorrentInfo) => Storage | Promise<Storage>;

/** What a Swarm hands an engine factory. */
export interface EngineContext {
  infoHash: Uint8Array;
  /** Known when the Swarm was created from a torrent; otherwise fetched by the engine. */
  info?: TorrentInfo;
  /** Where to store the content: a directory (with resume), or a storage (factory). */
  outDir?: string;
  storage?: Storage | StorageFactory;
  /** Keep uploading after the download completes. */
  seed: boolean;
  /**
   * BEP 53: download only these files (zero-based indices into the info dictionary's `files`);
   * undefined: every file. An engine that cannot select files downloads everything.
   */
  selectFiles?: number[];
  /** Byte rate caps, bytes/s (0 or undefined = unlimited). */
  uploadLimit?: number;
  downloadLimit?: number;
  /** Our DHT node's UDP port, to advertise with BEP 5 PORT. */
  dhtPort?: number;
  /** A shared listener the engine registers its infohash with (the Swarm's TCP listener). */
  listener?: PeerListener;
}

/** Receives an incoming connection for one infohash: the handshake is still to be read. */
export type IncomingHandler = (stream: WireStream, remote: Address) => void;

/**
 * Incoming connections routed by infohash: the listener reads the first 48 bytes of the
 * BitTorrent handshake (up to the infohash), then hands the stream, with those bytes still
 * readable, to the handler registered for that infohash. `TcpPeerListener` implements it,
 * and also accepts Message Stream Encryption: then the handler gets the decrypted stream.
 */
export interface PeerListener {
  /** The port peers connect to (what to announce). */
  readonly port: number;
  /** Route connections for `infoHash` to `handler`; returns the unregister function. */
  register(infoHash: Uint8Array, handler: IncomingHandler): () => void;
}

/**
 * Opens an outgoing connection (TCP or uTP per the engine's transport policy by default; an
 * in-memory pipe in tests). `utpHint`: what the peer said about uTP (BEP 11 PEX flag), if anything.
 */
export type PeerConnector = (
  address: Address,
  options: {
    signal: AbortSignal;
    timeoutMs: number;
    utpHint?: boolean;
    /** Over uTP only, now: a holepunch (BEP 55) through the NATs is under way. */
    utpOnly?: boolean;
  }
) => Promise<WireStream>;

/** Builds an engine for a Swarm (`Swarm.create({ engine })`). */
export type EngineFactory = (context: EngineContext) => PieceExchangeEngine;
