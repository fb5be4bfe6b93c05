/** What the stream server needs of a torrent (a Swarm has it; so would a client's torrent handle). */
import type { TorrentFile } from '../stream/torrent-file.js';
import type { TorrentInfo } from '../torrent/metainfo.js';

export interface StreamTorrent {
  readonly infoHash: Uint8Array;
  readonly info: TorrentInfo | undefined;
  readonly files: readonly TorrentFile[];
}
