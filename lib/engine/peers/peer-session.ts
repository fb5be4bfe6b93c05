/**
 * One peer connection as the engine sees it: the PeerWire with its ut_metadata and ut_pex
 * plugins, plus the per-peer bookkeeping the policies need (rates, when data last arrived, what
 * the peer announced before the metadata was known, its queue of requests to us, what we told
 * it through PEX). No policy lives here: the downloader, uploader and metadata fetcher decide.
 */
import type { Address } from '../../net/address.js';
import { toHex } from '../../util/bytes.js';
import type { Clock } from '../../util/clock.js';
import { DEFAULT_REQQ } from '../../wire/constants.js';
import type { BlockRequest } from '../../wire/messages.js';
import { PeerWire } from '../../wire/peer-wire.js';
import type { PeerWireOptions } from '../../wire/peer-wire-types.js';
import type { WireStream } from '../../net/stream.js';
import { UtMetadata } from '../../wire/ut-metadata.js';
import { UtPex } from '../../wire/ut-pex.js';
import type { PeerSource } from '../engine.js';
import { RateMeter } from '../../util/rate-meter.js';

/** Client name in our extension handshake. */
export const CLIENT_NAME = 'trackerless 0.1';
/** Before the metadata is known, HAVEs are remembered up to this many (the largest torrent we accept). */
const MAX_PENDING_HAVES = 1 << 20;
/** Most requests we queue from one peer; BEP 10 `reqq` tells the peer (libtorrent: 250). */
export const MAX_INBOUND_QUEUE = DEFAULT_REQQ;
/**
 * Most allowed_fast indices remembered per peer. BEP 6 suggests sets of 10 (libtorrent sends
 * 10 by default); the cap bounds what a peer sending endless allowed_fast messages costs us.
 */
export const MAX_PEER_ALLOWED_FAST = 64;

export interface PeerSessionOptions {
  stream: WireStream;
  /** Initiator: we dialed `address`. Responder: `address` is the remote socket address. */
  role: 'initiator' | 'responder';
  address: Address;
  source: PeerSource;
  infoHash: Uint8Array;
  peerId: Uint8Array;
  clock: Clock;
  /** The info dictionary, when known (served with ut_metadata). */
  infoBytes?: Uint8Array;
  pieceCount?: number;
  /** Our TCP listen port (extension handshake `p`). */
  listenPort?: number;
  /** Our DHT port (BEP 5: DHT bit and PORT message). */
  dhtPort?: number;
  /** We are a seed when the connection opens: BEP 21 `upload_only` in our extension handshake. */
  uploadOnly?: boolean;
  /** Enable ut_pex (never for private torrents, BEP 27). */
  pex: boolean;
  maxMetadataSize?: number;
  /** Timeouts and caps passed to the wire (tests shorten them). */
  wire?: Pick<PeerWireOptions, 'keepAliveIntervalMs' | 'idleTimeoutMs' | 'handshakeTimeoutMs'>;
}

export class PeerSession {
  readonly wire: PeerWire;
  readonly utMetadata: UtMetadata;
  readonly utPex: UtPex | undefined;
  readonly address: Address;
  readonly source: PeerSource;
  readonly outgoing: boolean;
  readonly createdAt: number;
  /** Clock time of the handshake (0 before it). */
  connectedAt = 0;
  /** Payload bytes/s they send us and we send them (10 s window, as the choker looks). */
  readonly down: RateMeter;
  readonly up: RateMeter;
  /** Last time a block arrived from the peer, or when our first request to it went out. */
  lastBlockAt = 0;
  /** Before the metadata: what the peer announced (applied once the piece count is known). */
  pendingBitfield: Uint8Array | undefined;
  pendingHaveAll = false;
  readonly pendingHaves = new Set<number>();
  /** The peer has every piece (have_all or a full bitfield). */
  isSeed = false;
  /** Their requests to us, in arrival order (`at`: when queued, clock ms). */
  inbound: (BlockRequest & { at?: number })[] = [];
  /** Pieces we put in this peer's BEP 6 allowed-fast set. */
  readonly allowedFast = new Set<number>();
  /** Pieces the peer put in our allowed-fast set: we may request them while it chokes us (capped). */
  readonly peerAllowedFast = new Set<number>();
  /** Seeding, distribute mode: piece -> when we rejected it to send this peer elsewhere. */
  readonly redirected = new Map<number, number>();
  /** Downloading: piece -> until when not to ask this peer for it (it rejected it unchoked). */
  readonly avoid = new Map<number, number>();
  /** Addresses we told this peer about with PEX (to send only the changes). */
  readonly pexSent = new Set<string>();
  /** ut_metadata: do not ask this peer again before this time (it rejected us). */
  metadataBackoffUntil = 0;
  /** The peer sent no data for a while although we asked (choker: no regular slot). */
  snubbed = false;
  /** We banned it (no reconnection). */
  banned = false;
  /** Closed as a second connection to the same peer (no reconnection). */
  duplicate = false;
  /** Our bitfield / have_all / have_none went out (later pieces go as HAVEs). */
  availabilitySent = false;

  constructor(options: PeerSessionOptions) {
    this.address = options.address;
    this.source = options.source;
    this.outgoing = options.role === 'initiator';
    this.createdAt = options.clock.now();
    this.down = new RateMeter(options.clock, 10);
    this.up = new RateMeter(options.clock, 10);
    this.wire = new PeerWire(options.stream, {
      role: options.role,
      peerId: options.peerId,
      infoHash: options.infoHash,
      clock: options.clock,
      extendedHandshake: {
        v: CLIENT_NAME,
        reqq: MAX_INBOUND_QUEUE,
        ...(options.listenPort !== undefined ? { p: options.listenPort } : {}),
        ...(options.uploadOnly ? { uploadOnly: true } : {})
      },
      ...(options.dhtPort !== undefined ? { dhtPort: options.dhtPort } : {}),
      ...(options.pieceCount !== undefined ? { pieceCount: options.pieceCount } : {}),
      ...options.wire
    });
    this.utMetadata = new UtMetadata({
      ...(options.infoBytes ? { metadata: options.infoBytes } : {}),
      ...(options.maxMetadataSize !== undefined ? { maxMetadataSize: options.maxMetadataSize } : {})
    });
    this.wire.use(this.utMetadata);
    this.utPex = options.pex ? new UtPex() : undefined;
    if (this.utPex) this.wire.use(this.utPex);
  }

  /** Hex peer id once the handshake is done. */
  get peerId(): string | undefined {
    const id = this.wire.remoteHandshake?.peerId;
    return id ? toHex(id) : undefined;
  }

  get connected(): boolean {
    return this.wire.handshakeComplete && !this.wire.closed;
  }

  /**
   * Where this peer accepts connections: the address we dialed, or the remote host with the
   * port from its extension handshake. Undefined for an incoming peer that did not say.
   */
  get listenAddress(): Address | undefined {
    if (this.outgoing) return this.address;
    const p = this.wire.remoteExtendedHandshake?.p;
    return p === undefined ? undefined : { host: this.address.host, port: p };
  }

  /** The remote's request queue size (BEP 10 `reqq`), if it told us. */
  get remoteQueueLimit(): number | undefined {
    return this.wire.remoteExtendedHandshake?.reqq;
  }

  /** Remember a bitfield received before the piece count was known. */
  rememberBitfield(bytes: Uint8Array): void {
    this.pendingBitfield = new Uint8Array(bytes);
  }

  rememberHave(index: number): void {
    if (this.pendingHaves.size < MAX_PENDING_HAVES) this.pendingHaves.add(index);
  }

  /** An allowed_fast index (range-checked by the caller once the piece count is known). False if new ones are capped. */
  rememberAllowedFast(index: number): boolean {
    if (this.peerAllowedFast.has(index)) return true;
    if (this.peerAllowedFast.size >= MAX_PEER_ALLOWED_FAST) return false;
    this.peerAllowedFast.add(index);
    return true;
  }

  /** Record payload we received (rates, snub detection). */
  received(bytes: number, now: number): void {
    this.down.add(bytes);
    this.lastBlockAt = now;
    this.snubbed = false;
  }

  sent(bytes: number): void {
    this.up.add(bytes);
  }

  toString(): string {
    return `${this.address.host}:${this.address.port}`;
  }
}
