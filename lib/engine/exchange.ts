/**
 * Builds the two halves of the built-in engine for a torrent whose storage is open: the
 * Downloader (requests, verification, bans) and the Uploader (choking, serving), from the
 * engine's resolved options.
 */
import type { TorrentInfo } from '../torrent/metainfo.js';
import type { EngineProgress } from './engine.js';
import { Downloader, type DownloaderHooks } from './downloader.js';
import type { ResolvedOptions } from './engine-options.js';
import type { OpenedStorage } from './storage-setup.js';
import { Uploader } from './uploader.js';

export interface ExchangeHooks extends DownloaderHooks {
  warn(error: Error): void;
}

export function createExchange(
  o: ResolvedOptions,
  info: TorrentInfo,
  opened: OpenedStorage,
  hooks: ExchangeHooks
): { downloader: Downloader; uploader: Uploader } {
  const { warn, ...downloaderHooks } = hooks;
  const downloader = new Downloader({
    info,
    storage: opened.storage,
    have: opened.have,
    clock: o.clock,
    random: o.random,
    maxInFlightBytes: o.maxInFlightBytes,
    minPipeline: o.minPipeline,
    maxPipeline: o.maxPipeline,
    pipelineSeconds: o.pipelineSeconds,
    downloadLimit: o.downloadLimit,
    requestTimeoutMs: o.requestTimeoutMs,
    hashInThreadPool: o.hashInThreadPool,
    hooks: downloaderHooks
  });
  const uploader = new Uploader({
    info,
    storage: opened.storage,
    stored: downloader.stored,
    clock: o.clock,
    random: o.random,
    uploadLimit: o.uploadLimit,
    cacheBytes: o.cacheBytes,
    ...(o.choker ? { choker: o.choker } : {}),
    peerPieceCount: (s) => downloader.picker.peerPieceCount(s),
    availability: (piece) => downloader.picker.availability(piece),
    distribute: o.distribute,
    warn
  });
  return { downloader, uploader };
}

/** Byte and piece counts of a progress report (rates and peers are the engine's). */
export function transferCounts(
  info: TorrentInfo | undefined,
  downloader: Downloader | undefined,
  uploader: Uploader | undefined
): Omit<EngineProgress, 'downRate' | 'upRate' | 'peers'> {
  const stored = downloader?.stored;
  let verifiedBytes = 0;
  if (info && stored) {
    const last = info.pieceCount - 1;
    verifiedBytes = stored.count * info.pieceLength;
    // The last piece is shorter.
    if (stored.get(last)) verifiedBytes -= info.pieceLength - (info.length - last * info.pieceLength);
  }
  return {
    downloaded: downloader?.receivedBytes ?? 0,
    uploaded: uploader?.uploadedBytes ?? 0,
    verifiedPieces: stored?.count ?? 0,
    totalPieces: info?.pieceCount ?? 0,
    verifiedBytes,
    totalBytes: info?.length ?? 0
  };
}
