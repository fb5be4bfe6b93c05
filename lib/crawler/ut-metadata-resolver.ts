/**
 * MetadataResolver over the DHT and BEP 9 ut_metadata: find peers with a get_peers lookup,
 * connect to a few, fetch the info dictionary in 16 KiB pieces, verify its SHA-1.
 *
 * Crawler-appropriate on purpose, unlike a Swarm: it never announces itself (an indexer is not
 * a peer of what it indexes), never asks for pieces of the content, and keeps only a few
 * metadata requests in flight per peer (libtorrent seeders pace ut_metadata answers).
 * Every step is bounded: peers per infohash, peers at once, connect timeout, metadata size,
 * and the caller's signal (the crawler's per-resolution timeout) aborts everything.
 */
import { makePeerId } from '../wire/peer-id.js';
import type { DHT } from '../dht/dht.js';
import { connectTcp } from '../net/tcp.js';
import type { Address } from '../net/address.js';
import { parseInfo } from '../torrent/metainfo.js';
import { PeerWire } from '../wire/peer-wire.js';
import { UtMetadata } from '../wire/ut-metadata.js';
import { MetadataAssembler } from '../wire/metadata-assembler.js';
import type { MetadataResolver, TorrentMetadata } from './types.js';
import { METADATA_REQUESTS_PER_PEER } from '../engine/download/metadata-fetcher.js';
import { formatAddress } from '../net/address.js';

export interface UtMetadataResolverOptions {
  /** A ready DHT node, used for get_peers lookups only (no announce). */
  dht: DHT;
  /** Peers tried per infohash (default 8). */
  maxPeers?: number;
  /** Peers tried at once (default 3). */
  parallel?: number;
  /** TCP connect timeout, ms (default 5 s). */
  connectTimeoutMs?: number;
  /** Largest info dictionary accepted, bytes (default 4 MiB: a crawler needs names, not all). */
  maxMetadataSize?: number;
  /** ut_metadata requests in flight per peer (default 8, as the engine: METADATA_REQUESTS_PER_PEER). */
  requestsPerPeer?: number;
}

export class UtMetadataResolver implements MetadataResolver {
  private readonly o: Required<Omit<UtMetadataResolverOptions, 'dht'>> & { dht: DHT };
  /** One random peer id for all our connections (BEP 20 style prefix). */
  private readonly peerId = makePeerId();

  constructor(options: UtMetadataResolverOptions) {
    this.o = {
      maxPeers: 8,
      parallel: 3,
      connectTimeoutMs: 5_000,
      maxMetadataSize: 4 * 1024 * 1024,
      requestsPerPeer: METADATA_REQUESTS_PER_PEER,
      ...options
    };
  }

  async resolve(infoHash: Uint8Array, signal: AbortSignal): Promise<TorrentMetadata | null> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    if (signal.aborted) return null;
    signal.addEventListener('abort', onAbort, { once: true });
    const queue: Address[] = [];
    let lookupDone = false;
    const waiters: Array<() => void> = [];
    const notify = (): void => {
      for (const w of waiters.splice(0)) w();
    };
    controller.signal.addEventListener('abort', notify, { once: true });
    let info: Uint8Array | null = null;
    const lookup = (async () => {
      try {
        const seen = new Set<string>();
        for await (const peer of this.o.dht.findPeers(infoHash, { signal: controller.signal })) {
          const key = formatAddress(peer);
          if (seen.has(key)) continue;
          seen.add(key);
          queue.push(peer);
          notify();
          if (seen.size >= this.o.maxPeers) break;
        }
      } catch {
        // aborted or failed: the workers finish with what was found
      } finally {
        lookupDone = true;
        notify();
      }
    })();
    const worker = async (): Promise<void> => {
      for (;;) {
        if (info || controller.signal.aborted) return;
        const peer = queue.shift();
        if (!peer) {
          if (lookupDone) return;
          await new Promise<void>((resolve) => waiters.push(resolve));
          continue;
        }
        const got = await this.fetchFrom(peer, infoHash, controller.signal).catch(() => null);
        if (got && !info) {
          info = got;
          controller.abort(); // stop the lookup and the other workers
        }
      }
    };
    try {
      await Promise.all([lookup, ...Array.from({ length: this.o.parallel }, worker)]);
    } finally {
      signal.removeEventListener('abort', onAbort);
      controller.abort();
    }
    const bytes: Uint8Array | null = info;
    if (!bytes) return null;
    const parsed = parseInfo(bytes);
    return {
      name: parsed.name,
      size: parsed.length,
      files: parsed.files.map((f) => ({ path: f.path.join('/'), size: f.length }))
    };
  }

  /** The verified info dictionary from one peer, or null. */
  private async fetchFrom(
    peer: Address,
    infoHash: Uint8Array,
    signal: AbortSignal
  ): Promise<Uint8Array | null> {
    const stream = await connectTcp(peer, { signal, timeoutMs: this.o.connectTimeoutMs });
    const wire = new PeerWire(stream, {
      role: 'initiator',
      peerId: this.peerId,
      infoHash,
      extended: true,
      fast: true
    });
    const ut = new UtMetadata({ maxMetadataSize: this.o.maxMetadataSize });
    wire.use(ut);
    // BEP 6: with the fast extension both sides must state what they have; we have nothing.
    wire.on('handshake', () => {
      if (wire.fastExtension) wire.haveNone();
    });
    return new Promise<Uint8Array | null>((resolve) => {
      let assembler: MetadataAssembler<string> | null = null;
      let settled = false;
      const finish = (result: Uint8Array | null): void => {
        // Once only: closing the wire below emits 'close', which calls finish(null) again.
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        resolve(result);
        wire.close();
      };
      const onAbort = (): void => finish(null);
      const requestMore = (): void => {
        for (;;) {
          const piece = assembler?.nextRequest('peer', this.o.requestsPerPeer);
          if (piece === undefined) return;
          ut.request(piece);
        }
      };
      signal.addEventListener('abort', onAbort, { once: true });
      ut.on('ready', (size) => {
        assembler = new MetadataAssembler<string>({ infoHash, size, maxSize: this.o.maxMetadataSize });
        requestMore();
      });
      ut.on('unavailable', () => finish(null));
      ut.on('reject', () => finish(null));
      ut.on('data', (piece, data) => {
        const r = assembler!.add(piece, data, 'peer');
        if (r.status === 'complete') finish(new Uint8Array(r.info));
        else if (r.status === 'corrupt') finish(null);
        else requestMore();
      });
      wire.on('close', () => finish(null));
      wire.on('error', () => finish(null));
    });
  }
}
