/**
 * Engines connected by in-memory pipes (no sockets), each reachable at a made-up address, and
 * in-memory torrents (single- and multi-file, with BEP 47 padding files) to feed them.
 */
import bencode from 'bencode';
import { createHash } from 'node:crypto';
import { BitTorrentEngine } from '../../lib/engine/bittorrent-engine.js';
import { type BitTorrentEngineOptions } from '../../lib/engine/engine-options.js';
import type { PeerConnector } from '../../lib/engine/engine.js';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import type { Storage } from '../../lib/engine/storage/storage.js';
import type { Address } from '../../lib/net/address.js';
import type { PeerTransport } from '../../lib/net/stream.js';
import { parseInfo, type TorrentInfo } from '../../lib/torrent/metainfo.js';
import { seededRandom } from '../../lib/util/random.js';
import { pipePair } from '../../lib/wire/memory-stream.js';
import { VirtualTime } from './virtual-time.js';

/**
 * A made-up network: address -> engine; dialing pipes two engines together. Every engine runs
 * on the net's virtual time (`net.time`): tests move it, nothing waits on the wall clock.
 */
export class PipeNet {
  private readonly engines = new Map<string, BitTorrentEngine>();
  private next = 1;
  /** Every engine created, to destroy after a test. */
  readonly running: BitTorrentEngine[] = [];
  readonly time = new VirtualTime();
  /** The transport the pipes claim to run over (undefined: none, as in-process pipes). */
  transport: PeerTransport | undefined;
  /** Every dial: who dialed whom, with the uTP hint the engine passed. */
  readonly dials: { from: string; to: string; utpHint: boolean | undefined; utpOnly: boolean }[] = [];
  /**
   * Hosts behind a NAT, in a model: an ordinary dial to them fails; a holepunch dial (uTP only,
   * on a relay's `connect`, while they dial back) gets through.
   */
  readonly natted = new Set<string>();

  address(): Address {
    return { host: `127.0.0.${this.next++}`, port: 6881 };
  }

  connector(from: Address): PeerConnector {
    return async (to, options) => {
      this.dials.push({
        from: from.host,
        to: to.host,
        utpHint: options.utpHint,
        utpOnly: options.utpOnly ?? false
      });
      if (this.natted.has(to.host) && !options.utpOnly) throw new Error(`${to.host} is behind a NAT`);
      const target = this.engines.get(`${to.host}:${to.port}`);
      if (!target) throw new Error(`nobody at ${to.host}:${to.port}`);
      const [mine, theirs] = pipePair();
      if (this.transport) for (const end of [mine, theirs]) Object.assign(end, { transport: this.transport });
      // Over uTP the dialer's source port is its listening UDP socket's; over TCP an ephemeral one.
      const port = this.transport === 'utp' ? from.port : 50_000 + this.next++;
      target.acceptConnection(theirs, { host: from.host, port });
      return mine;
    };
  }

  async engine(
    address: Address,
    options: Omit<BitTorrentEngineOptions, 'connect'>
  ): Promise<BitTorrentEngine> {
    const engine = new BitTorrentEngine({
      tickMs: 200,
      clock: this.time.clock,
      ...options,
      connect: this.connector(address)
    });
    this.engines.set(`${address.host}:${address.port}`, engine);
    this.running.push(engine);
    await engine.start();
    return engine;
  }

  /** A seed engine over `data`. */
  async seeder(info: TorrentInfo, data: Uint8Array, extra: Partial<BitTorrentEngineOptions> = {}) {
    const address = this.address();
    const storage = MemoryStorage.fromData(info, data);
    const engine = await this.engine(address, {
      infoHash: info.infoHash,
      info,
      storage,
      existing: 'complete',
      seed: true,
      ...extra
    });
    return { engine, address };
  }

  /** A downloader that knows only the infohash; its storage is created once the metadata arrives. */
  async leecher(infoHash: Uint8Array, extra: Partial<BitTorrentEngineOptions> = {}) {
    const address = this.address();
    const holder: { storage?: MemoryStorage } = {};
    const engine = await this.engine(address, {
      infoHash,
      storage: (info) => (holder.storage = new MemoryStorage(info)),
      seed: true,
      ...extra
    });
    return { engine, address, holder };
  }

  async destroyAll(): Promise<void> {
    await Promise.all(this.running.splice(0).map((e) => e.destroy()));
  }
}

export interface FileSpec {
  name: string;
  length: number;
  /** A BEP 47 padding file (zeros). */
  padding?: boolean;
}

/** A multi-file torrent over random content (padding files hold zeros). */
export function multiFileTorrent(
  files: FileSpec[],
  pieceLength: number,
  seed: number
): { info: TorrentInfo; data: Uint8Array } {
  const total = files.reduce((n, f) => n + f.length, 0);
  const data = seededRandom(seed).bytes(total);
  let offset = 0;
  for (const f of files) {
    if (f.padding) data.fill(0, offset, offset + f.length);
    offset += f.length;
  }
  const count = Math.ceil(total / pieceLength);
  const pieces = new Uint8Array(count * 20);
  for (let i = 0; i < count; i++) {
    pieces.set(
      createHash('sha1')
        .update(data.subarray(i * pieceLength, (i + 1) * pieceLength))
        .digest(),
      i * 20
    );
  }
  const entries = files.map((f) =>
    f.padding
      ? { attr: 'p', length: f.length, path: ['.pad', String(f.length)] }
      : { length: f.length, path: [f.name] }
  );
  const info = parseInfo(
    bencode.encode({ files: entries, name: 'multi', 'piece length': pieceLength, pieces })
  );
  return { info, data };
}

/** Every piece of a storage, concatenated. */
export async function storedBytes(storage: Storage, info: TorrentInfo): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < info.pieceCount; i++) parts.push(await storage.readPiece(i));
  return Buffer.concat(parts);
}
