/**
 * One peer connection as the engine sees it: the PeerWire with its ut_metadata and ut_pex
 * plugins, who the peer is (address, where it came from, its peer id), when the handshake
 * finished, and the payload rates both ways. It holds no policy state: each policy keeps its
 * own per-peer record (download/downloader.ts, upload/upload-peer.ts, download/metadata-fetcher.ts,
 * peers/peers.ts, peers/pex.ts), so every field has one writer.
 */
import { formatAddress, type Address } from '../../net/address.js';
import { toHex } from '../../util/bytes.js';
import type { Clock } from '../../util/clock.js';
import { RateMeter } from '../../util/rate-meter.js';
import { CLIENT_NAME } from '../../constants.js';
import { DEFAULT_REQQ } from '../../wire/constants.js';
import { PeerWire } from '../../wire/peer-wire.js';
import type { PeerWireOptions } from '../../wire/peer-wire-types.js';
import type { PeerTransport, WireStream } from '../../net/stream.js';
import { UtMetadata } from '../../wire/ut-metadata.js';
import { UtPex } from '../../wire/ut-pex.js';
import { UtHolepunch } from '../../wire/ut-holepunch.js';
import type { PeerSource } from '../engine.js';

/** Most requests we queue from one peer; BEP 10 `reqq` tells the peer (libtorrent: 250). */
export const MAX_INBOUND_QUEUE = DEFAULT_REQQ;

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
  /** Enable ut_holepunch (BEP 55): only with uTP to dial on a relay's `connect`. */
  holepunch?: boolean;
  maxMetadataSize?: number;
  /** Timeouts and caps passed to the wire (tests shorten them). */
  wire?: Pick<PeerWireOptions, 'keepAliveIntervalMs' | 'idleTimeoutMs' | 'handshakeTimeoutMs'>;
}

export class PeerSession {
  readonly wire: PeerWire;
  readonly utMetadata: UtMetadata;
  readonly utPex: UtPex | undefined;
  readonly holepunch: UtHolepunch | undefined;
  readonly address: Address;
  readonly source: PeerSource;
  readonly outgoing: boolean;
  /** What the connection runs over (undefined: an in-process pipe). */
  readonly transport: PeerTransport | undefined;
  /** Payload bytes/s they send us (fed by the downloader) and we send them (fed by the uploader); 10 s window, as the choker looks. */
  readonly down: RateMeter;
  readonly up: RateMeter;
  private handshakeAt = 0;

  constructor(options: PeerSessionOptions) {
    this.address = options.address;
    this.source = options.source;
    this.outgoing = options.role === 'initiator';
    this.transport = options.stream.transport;
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
    // Registered before anyone else's handler: the time is set when they hear of the handshake.
    this.wire.on('handshake', () => (this.handshakeAt = options.clock.now()));
    this.utMetadata = new UtMetadata({
      ...(options.infoBytes ? { metadata: options.infoBytes } : {}),
      ...(options.maxMetadataSize !== undefined ? { maxMetadataSize: options.maxMetadataSize } : {})
    });
    this.wire.use(this.utMetadata);
    this.utPex = options.pex ? new UtPex() : undefined;
    if (this.utPex) this.wire.use(this.utPex);
    this.holepunch = options.holepunch ? new UtHolepunch() : undefined;
    if (this.holepunch) this.wire.use(this.holepunch);
  }

  /** Clock time of the handshake (0 before it). */
  get connectedAt(): number {
    return this.handshakeAt;
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

  /**
   * Where a holepunching peer should dial this one (BEP 55): over uTP the connection's remote
   * endpoint, as its NAT maps it (as libtorrent hands out); over TCP its listen address.
   */
  get punchAddress(): Address {
    return this.transport === 'utp' ? this.address : (this.listenAddress ?? this.address);
  }

  toString(): string {
    return formatAddress(this.address);
  }
}
