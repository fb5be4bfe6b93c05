/**
 * Builds the two halves of the built-in engine for a torrent whose storage is open: the
 * Downloader (requests, verification, bans) and the Uploader (choking, serving), from the
 * engine's resolved options and its rate caps (which outlive them: they change at run time).
 */
import type { TorrentInfo } from '../torrent/metainfo.js';
import type { EngineProgress } from './engine.js';
import { Downloader, type DownloaderHooks } from './download/downloader.js';
import type { ResolvedOptions } from './engine-options.js';
import { wantedBytes } from './storage/file-selection.js';
import type { OpenedStorage } from './storage/storage-setup.js';
import { Uploader } from './upload/uploader.js';
import { piecesBytes } from '../torrent/piece-layout.js';
import type { RateLimiter } from '../util/rate-limiter.js';

export interface ExchangeHooks extends DownloaderHooks {
  warn(error: Error): void;
}

export function createExchange(
  o: ResolvedOptions,
  info: TorrentInfo,
  opened: OpenedStorage,
  limits: { upload: RateLimiter; download: RateLimiter },
  hooks: ExchangeHooks
): { downloader: Downloader; uploader: Uploader } {
  const { warn, ...downloaderHooks } = hooks;
  const downloader = new Downloader({
    info,
    storage: opened.storage,
    have: opened.have,
    ...(opened.wanted ? { wanted: opened.wanted } : {}),
    clock: o.clock,
    random: o.random,
    maxInFlightBytes: o.maxInFlightBytes,
    minPipeline: o.minPipeline,
    maxPipeline: o.maxPipeline,
    pipelineSeconds: o.pipelineSeconds,
    limiter: limits.download,
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
    limiter: limits.upload,
    cacheBytes: o.cacheBytes,
    ...(o.choker ? { choker: o.choker } : {}),
    peerPieceCount: (s) => downloader.picker.peerPieceCount(s),
    snubbed: (s) => downloader.isSnubbed(s),
    availability: (piece) => downloader.picker.availability(piece),
    distribute: o.distribute,
    warn
  });
  return { downloader, uploader };
}

/**
 * Byte and piece counts of a progress report (rates and peers are the engine's). With a file
 * selection the piece and byte totals cover the wanted pieces only: 100% means every selected
 * file is here (pieces stored beyond the selection, e.g. from an earlier run, are not counted).
 */
export function transferCounts(
  info: TorrentInfo | undefined,
  downloader: Downloader | undefined,
  uploader: Uploader | undefined
): Omit<EngineProgress, 'downRate' | 'upRate' | 'peers'> {
  const downloaded = downloader?.receivedBytes ?? 0;
  const uploaded = uploader?.uploadedBytes ?? 0;
  if (!info || !downloader) {
    return {
      downloaded,
      uploaded,
      verifiedPieces: 0,
      totalPieces: info?.pieceCount ?? 0,
      verifiedBytes: 0,
      totalBytes: info?.length ?? 0
    };
  }
  const { stored, wanted } = downloader;
  const last = info.pieceCount - 1;
  const verifiedPieces = downloader.storedWantedCount;
  const verifiedBytes = piecesBytes(info, verifiedPieces, stored.get(last) && (!wanted || wanted.get(last)));
  return {
    downloaded,
    uploaded,
    verifiedPieces,
    totalPieces: downloader.wantedCount,
    verifiedBytes,
    totalBytes: wanted ? wantedBytes(info, wanted) : info.length
  };
}
