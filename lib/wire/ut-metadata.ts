/**
 * BEP 9 ut_metadata plugin: serve the info dictionary in 16 KiB pieces, and fetch pieces from
 * a peer. One instance per wire (`wire.use(new UtMetadata(...))`). The plugin only moves and
 * checks messages; `MetadataAssembler` (metadata-assembler.ts) collects pieces from several
 * peers and verifies the SHA-1, so the engine decides how many requests each peer gets
 * (libtorrent seeders pace their answers: keep only a few in flight per peer).
 */
import { createHash } from 'node:crypto';
import bencode from 'bencode';
import { InvalidArgumentError } from '../errors.js';
import { bytesEqual } from '../util/bytes.js';
import { DEFAULT_MAX_METADATA_SIZE, METADATA_PIECE_LENGTH } from './constants.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import {
  intField,
  isDict,
  safeDecodePrefix,
  type ExtendedHandshake,
  type ExtensionContext,
  type WireExtension
} from './extensions.js';

export type MetadataMessage =
  | { msgType: 'request'; piece: number }
  | { msgType: 'data'; piece: number; totalSize: number; data: Uint8Array }
  | { msgType: 'reject'; piece: number };

const MSG_TYPES = ['request', 'data', 'reject'] as const;

/** Number of 16 KiB pieces of `size` bytes of metadata. */
export function metadataPieceCount(size: number): number {
  return Math.ceil(size / METADATA_PIECE_LENGTH);
}

/** Length of piece `piece` of `size` bytes of metadata (all 16 KiB but the last). */
export function metadataPieceLength(size: number, piece: number): number {
  return Math.min(METADATA_PIECE_LENGTH, size - piece * METADATA_PIECE_LENGTH);
}

/** True for a metadata_size we accept: 1..maxSize bytes. */
export function isValidMetadataSize(
  size: unknown,
  maxSize: number = DEFAULT_MAX_METADATA_SIZE
): size is number {
  return typeof size === 'number' && Number.isSafeInteger(size) && size > 0 && size <= maxSize;
}

export function encodeMetadataMessage(m: MetadataMessage): Uint8Array {
  const msgType = MSG_TYPES.indexOf(m.msgType);
  if (m.msgType !== 'data') return bencode.encode({ msg_type: msgType, piece: m.piece });
  const head = bencode.encode({ msg_type: msgType, piece: m.piece, total_size: m.totalSize });
  const out = new Uint8Array(head.length + m.data.length);
  out.set(head, 0);
  out.set(m.data, head.length);
  return out;
}

/**
 * Decode a ut_metadata message; null when malformed or of an unknown msg_type (BEP 9: ignore
 * those). `data` is a view of `payload`.
 */
export function decodeMetadataMessage(payload: Uint8Array): MetadataMessage | null {
  const r = safeDecodePrefix(payload);
  if (!r || !isDict(r.value)) return null;
  const type = MSG_TYPES[intField(r.value, 'msg_type', 0, 2) ?? -1];
  const piece = intField(r.value, 'piece', 0, 0xffffffff);
  if (type === undefined || piece === undefined) return null;
  if (type !== 'data') return r.end === payload.length ? { msgType: type, piece } : null;
  const totalSize = intField(r.value, 'total_size');
  if (totalSize === undefined) return null;
  return { msgType: 'data', piece, totalSize, data: payload.subarray(r.end) };
}

export interface UtMetadataOptions {
  /** The info dictionary to serve (verified against the infohash before it is served). */
  metadata?: Uint8Array;
  /** Largest metadata_size accepted from a remote, bytes. Default 16 MiB. */
  maxMetadataSize?: number;
  /** Flood protection (BEP 9): serve at most pieces × this many requests, then reject. Default 4. */
  serveFactor?: number;
}

export type UtMetadataUnavailableReason = 'unsupported' | 'no-size' | 'bad-size';

export type UtMetadataEvents = {
  /** The remote supports ut_metadata and announced an acceptable metadata_size. */
  ready: [metadataSize: number];
  /** The remote cannot give us the metadata (no extension; missing, zero or oversized size). */
  unavailable: [reason: UtMetadataUnavailableReason];
  /** A requested piece arrived with the right size. `data` is a view: copy to keep it. */
  data: [piece: number, data: Uint8Array];
  /** The remote refused a requested piece. */
  reject: [piece: number];
};

export class UtMetadata extends TypedEmitter<UtMetadataEvents> implements WireExtension {
  readonly name = 'ut_metadata';
  private ctx: ExtensionContext | undefined;
  private metadata: Uint8Array | undefined;
  private verified = false;
  private served = 0;
  private readonly maxSize: number;
  private readonly serveFactor: number;
  private remoteSize: number | undefined;
  private readonly inFlight = new Set<number>();
  /** Unsolicited or late data/reject messages ignored (not violations). */
  ignoredMessages = 0;

  constructor(options: UtMetadataOptions = {}) {
    super();
    this.maxSize = options.maxMetadataSize ?? DEFAULT_MAX_METADATA_SIZE;
    this.serveFactor = options.serveFactor ?? 4;
    if (options.metadata) this.setMetadata(options.metadata);
  }

  /** The remote's metadata_size once validated ('ready'). */
  get metadataSize(): number | undefined {
    return this.remoteSize;
  }

  get pieceCount(): number | undefined {
    return this.remoteSize === undefined ? undefined : metadataPieceCount(this.remoteSize);
  }

  /** Pieces requested and not yet answered. */
  get pending(): ReadonlySet<number> {
    return this.inFlight;
  }

  /** Start serving `info` (e.g. once fetched and verified). Announces metadata_size again. */
  setMetadata(info: Uint8Array): void {
    if (!isValidMetadataSize(info.length, Number.MAX_SAFE_INTEGER)) {
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'metadata must not be empty');
    }
    this.metadata = info;
    this.verified = false;
    this.ctx?.updateHandshake();
  }

  attach(ctx: ExtensionContext): void {
    this.ctx = ctx;
  }

  handshakeFields(): Record<string, unknown> {
    return this.metadata ? { metadata_size: this.metadata.length } : {};
  }

  onHandshake(remote: ExtendedHandshake): void {
    if (this.remoteSize !== undefined) return; // keep the first valid size
    if (!this.ctx?.remoteSupports) return this.emit('unavailable', 'unsupported');
    const size = remote.metadataSize;
    if (size === undefined) return this.emit('unavailable', 'no-size');
    if (!isValidMetadataSize(size, this.maxSize)) return this.emit('unavailable', 'bad-size');
    this.remoteSize = size;
    this.emit('ready', size);
  }

  /** Ask for piece `piece`. False if not ready, out of range, already pending or closed. */
  request(piece: number): boolean {
    const count = this.pieceCount;
    if (!this.ctx || count === undefined || !Number.isInteger(piece) || piece < 0 || piece >= count)
      return false;
    if (this.inFlight.has(piece) || !this.ctx.remoteSupports) return false;
    this.ctx.send(encodeMetadataMessage({ msgType: 'request', piece })); // false = backpressure, still queued
    this.inFlight.add(piece);
    return true;
  }

  /** Stop waiting for a piece (e.g. after a timeout); a late answer is then ignored. */
  forget(piece: number): void {
    this.inFlight.delete(piece);
  }

  onMessage(payload: Uint8Array): void {
    const m = decodeMetadataMessage(payload);
    if (!m) return; // malformed or unknown msg_type: ignored (BEP 9)
    switch (m.msgType) {
      case 'request':
        return this.serve(m.piece);
      case 'reject':
        if (!this.inFlight.delete(m.piece)) {
          this.ignoredMessages++;
          return;
        }
        return this.emit('reject', m.piece);
      case 'data':
        return this.onData(m.piece, m.totalSize, m.data);
    }
  }

  onClose(): void {
    this.inFlight.clear();
  }

  private onData(piece: number, totalSize: number, data: Uint8Array): void {
    const size = this.remoteSize;
    if (size === undefined || !this.inFlight.has(piece)) {
      this.ignoredMessages++;
      return;
    }
    if (totalSize !== size) return this.ctx?.fail(`total_size ${totalSize} != metadata_size ${size}`);
    const expected = metadataPieceLength(size, piece);
    if (data.length !== expected)
      return this.ctx?.fail(`piece ${piece} has ${data.length} bytes, expected ${expected}`);
    this.inFlight.delete(piece);
    this.emit('data', piece, data);
  }

  private serve(piece: number): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const info = this.servable();
    const count = info ? metadataPieceCount(info.length) : 0;
    if (!info || piece >= count || this.served >= count * this.serveFactor) {
      ctx.send(encodeMetadataMessage({ msgType: 'reject', piece }));
      return;
    }
    this.served++;
    const start = piece * METADATA_PIECE_LENGTH;
    const data = info.subarray(start, start + metadataPieceLength(info.length, piece));
    ctx.send(encodeMetadataMessage({ msgType: 'data', piece, totalSize: info.length, data }));
  }

  /** BEP 9: a peer MUST verify what it sends against the infohash. Checked once. */
  private servable(): Uint8Array | undefined {
    const info = this.metadata;
    const infoHash = this.ctx?.infoHash;
    if (!info || !infoHash) return undefined;
    if (!this.verified) {
      if (!bytesEqual(createHash('sha1').update(info).digest(), infoHash)) {
        this.metadata = undefined;
        return undefined;
      }
      this.verified = true;
    }
    return info;
  }
}
