/**
 * The seam between peer handling (peers.ts) and the torrent it serves (bittorrent-engine.ts),
 * as libtorrent's peer_connection talks to its torrent: the torrent state peer handling may
 * read, and the few things it may ask of the torrent. The engine implements it; nothing else of
 * the engine is visible to peer handling.
 */
import type { Clock } from '../../util/clock.js';
import type { TorrentInfo } from '../../torrent/metainfo.js';
import type { Downloader } from '../download/downloader.js';
import type { MetadataFetcher } from '../download/metadata-fetcher.js';
import type { EngineEvents } from '../engine.js';
import type { Uploader } from '../upload/uploader.js';

/** The engine events peer handling reports. */
export type PeerEvent = 'peer-banned' | 'dht-node' | 'warning';

export interface TorrentContext {
  readonly infoHash: Uint8Array;
  readonly clock: Clock;
  /** Peers are dialed and accepted: the torrent runs, and is not complete unless it seeds. */
  wantsConnections(): boolean;
  /** The metadata, once known. */
  info(): TorrentInfo | undefined;
  /** Every wanted piece is verified and stored. */
  complete(): boolean;
  /** The TCP port we accept peers on (sent in the extension handshake), if any. */
  listenPort(): number | undefined;
  /** Fetching the metadata: ut_metadata messages go here. */
  fetcher(): MetadataFetcher | undefined;
  /** Exchanging pieces (metadata known, storage open): piece messages go here. */
  exchange(): { downloader: Downloader; uploader: Uploader } | undefined;
  /** Report to the engine's listeners. */
  emit<K extends PeerEvent>(event: K, ...args: EngineEvents[K]): void;
}
