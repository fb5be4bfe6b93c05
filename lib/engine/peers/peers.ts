/**
 * The peers of one torrent: candidates and dials (PeerPool), connections (PeerSession), and the
 * per-peer protocol steps that involve the torrent as a whole: routing each wire's messages to
 * the torrent's policies (metadata fetcher, downloader, uploader), the handshake checks (bans,
 * duplicate connections), what we announce after the handshake (BEP 3 bitfield / BEP 6
 * have_all / have_none), availability announced before the metadata was known, bans, and PEX.
 * It sees the torrent only through its TorrentContext.
 */
import { TrackerlessError } from '../../errors.js';
import { formatAddress, type Address } from '../../net/address.js';
import type { PeerTransport, WireStream } from '../../net/stream.js';
import type { TorrentInfo } from '../../torrent/metainfo.js';
import { ProtocolError, type ProtocolErrorReason } from '../../wire/errors.js';
import type { PeerWireOptions } from '../../wire/peer-wire-types.js';
import { PexFlag } from '../../wire/ut-pex.js';
import { Bitfield } from '../bitfield.js';
import type { Downloader } from '../download/downloader.js';
import type { PeerBan, PeerConnector, PeerSource } from '../engine.js';
import { EarlyAvailability } from './early-availability.js';
import { PeerPool } from './peer-pool.js';
import type { ConnectionBudget } from './connection-budget.js';
import { PeerSession } from './peer-session.js';
import { PexGossip } from './pex.js';
import { Holepunching, type HolepunchStats } from './holepunching.js';
import { RandomWalkSampler, type RandomWalkOptions } from './random-walk.js';
import { acceptsIncoming } from './walk-policy.js';
import { WalkMoves, type RandomWalkStats } from './walk-moves.js';
import type { RandomSource } from '../../util/random.js';
import type { TorrentContext } from './torrent-context.js';

/** A peer that disconnected normally is dialed again after this long, ms. */
const REDIAL_AFTER_MS = 60_000;
/** A dial whose connection found the shared connection cap full is retried after this, ms. */
const SHARED_SLOT_RETRY_MS = 2_000;

/**
 * Protocol errors that only a broken or hostile peer commits once the handshake matched: the
 * peer is banned for `protocolBanMs` (like a corrupt sender), not redialed. A handshake for
 * another torrent, a self-connection or a failed encryption negotiation are not violations.
 */
const VIOLATIONS: ReadonlySet<ProtocolErrorReason> = new Set<ProtocolErrorReason>([
  'message-too-long',
  'bad-payload-length',
  'bad-piece-index',
  'bad-bitfield',
  'bad-block-length',
  'fast-not-negotiated',
  'extended-not-negotiated',
  'unrequested-block',
  'bad-block',
  'bad-extended-handshake',
  'bad-extension-message'
]);

export interface PeersOptions {
  /** Our 20-byte peer id. */
  peerId: Uint8Array;
  connect: PeerConnector;
  maxConnections: number;
  maxHalfOpen: number;
  connectTimeoutMs: number;
  maxCandidates: number;
  maxMetadataSize: number;
  /** How long a protocol violator stays banned, ms (corrupt senders: the engine's lifetime). */
  protocolBanMs: number;
  /** ut_pex (BEP 11); never used for private torrents (BEP 27). */
  pex: boolean;
  /** ut_holepunch (BEP 55): relay, and punch through NATs over uTP (needs a uTP socket to dial). */
  holepunch: boolean;
  /**
   * The random-walk sampler over PEX (random-walk.ts): at the connection cap, one connection a
   * step is moved to a peer named by the neighbour it walked through. Undefined: off. Never
   * without PEX, never for private torrents.
   */
  randomWalk?: Omit<RandomWalkOptions, 'maxConnections'>;
  random: RandomSource;
  /** Our DHT port (BEP 5 PORT message). */
  dhtPort?: number;
  /** Timeouts passed to each wire (tests shorten them). */
  wire?: Pick<PeerWireOptions, 'keepAliveIntervalMs' | 'idleTimeoutMs' | 'handshakeTimeoutMs'>;
  /** A cap shared with other engines (a Client's global limit): every connection holds a slot. */
  sharedConnections?: ConnectionBudget;
}

/** A connected peer, for status displays and tests. */
export interface PeerStatus {
  address: Address;
  /** Hex peer id. */
  peerId: string | undefined;
  source: PeerSource;
  /** We dialed it. */
  outgoing: boolean;
  /** What the connection runs over (undefined: an in-process pipe). */
  transport: PeerTransport | undefined;
  amChoking: boolean;
  amInterested: boolean;
  peerChoking: boolean;
  peerInterested: boolean;
  /** Payload rates, bytes/s. */
  downRate: number;
  upRate: number;
  /** Our block requests to it not answered yet. */
  requests: number;
  /** Pieces it lets us fetch while it chokes us (BEP 6 allowed fast), ascending. */
  allowedFast: number[];
  /** It has every piece. */
  seed: boolean;
  /** It sent nothing for a while although we asked. */
  snubbed: boolean;
}

/** What peer handling keeps per connection (it is the only writer). */
interface Connection {
  /** Availability the peer announced before the torrent was ready. */
  readonly early: EarlyAvailability;
  /** Our bitfield / have_all / have_none went out (later pieces go as HAVEs). */
  availabilitySent: boolean;
  /** Closed as a second connection to the same peer (no reconnection). */
  duplicate: boolean;
  /**
   * The address this session holds in the pool (the one we dialed, or the first listen address
   * an incoming peer named): released at close. Not re-read from the session, whose later
   * extended handshakes may name another port or none.
   */
  holds: Address | undefined;
  /** The peer's listen address as the walk sampler knows it, once the sampler does. */
  walkKey: Address | undefined;
}

export type { RandomWalkStats } from './walk-moves.js';

const NO_WALK: Readonly<RandomWalkStats> = Object.freeze({ added: 0, moved: 0, failed: 0 });

export class Peers {
  private readonly pool: PeerPool;
  private readonly connections = new Map<PeerSession, Connection>();
  private readonly pex = new PexGossip();
  private readonly holepunching: Holepunching;
  /** Sessions we banned (a ban may come after the peer left: a piece it sent failed later). */
  private readonly banned = new WeakSet<PeerSession>();
  private readonly walk: RandomWalkSampler | undefined;
  private readonly moves: WalkMoves | undefined;

  constructor(
    private readonly ctx: TorrentContext,
    private readonly o: PeersOptions
  ) {
    this.pool = new PeerPool({
      connect: o.connect,
      clock: ctx.clock,
      maxConnections: o.maxConnections,
      maxHalfOpen: o.maxHalfOpen,
      connectTimeoutMs: o.connectTimeoutMs,
      maxCandidates: o.maxCandidates,
      connectionCount: () => this.connections.size,
      wantsConnections: () => ctx.wantsConnections() && (o.sharedConnections?.hasRoom() ?? true),
      onConnect: (stream, address, source) => this.open(stream, 'initiator', address, source),
      onDialFailed: (address) => {
        this.moves?.failed(address);
        this.holepunching.dialFailed(address);
      }
    });
    this.holepunching = new Holepunching({
      sessions: () => this.connections.keys(),
      dialNow: (address) => this.pool.dialNow(address, 'pex')
    });
    if (o.pex && o.randomWalk) {
      this.walk = new RandomWalkSampler(ctx.clock, o.random, {
        ...o.randomWalk,
        maxConnections: o.maxConnections
      });
      this.moves = new WalkMoves(this.walk, {
        connections: this.connections,
        maxConnections: o.maxConnections,
        hasRoom: () => this.hasRoom(),
        addCandidate: (address) => this.pool.add(address, 'pex'),
        dialReplacing: (address) => this.pool.dialReplacing(address, 'pex')
      });
    }
  }

  /** Random-walk counters (all zero when the sampler is off). */
  get walkStats(): Readonly<RandomWalkStats> {
    return this.moves?.counts ?? NO_WALK;
  }

  /** BEP 55 counters: rendezvous relayed and asked for, connects acted on. */
  get holepunchStats(): Readonly<HolepunchStats> {
    return this.holepunching.stats;
  }

  /** Connections with the handshake done. */
  get connectedCount(): number {
    let n = 0;
    for (const s of this.connections.keys()) if (s.connected) n++;
    return n;
  }

  /** Room for another connection, counting dials in progress. */
  hasRoom(): boolean {
    if (!(this.o.sharedConnections?.hasRoom() ?? true)) return false;
    return this.connections.size + this.pool.halfOpen < this.o.maxConnections;
  }

  /** The connected peers (handshake done). */
  status(): PeerStatus[] {
    const d = this.ctx.exchange()?.downloader;
    const out: PeerStatus[] = [];
    for (const s of this.connections.keys()) {
      if (!s.connected) continue;
      const w = s.wire;
      const down = d?.status(s);
      out.push({
        address: s.address,
        peerId: s.peerId,
        source: s.source,
        outgoing: s.outgoing,
        transport: s.transport,
        amChoking: w.amChoking,
        amInterested: w.amInterested,
        peerChoking: w.peerChoking,
        peerInterested: w.peerInterested,
        downRate: s.down.rate(),
        upRate: s.up.rate(),
        requests: down?.requests ?? 0,
        allowedFast: down?.allowedFast ?? [],
        seed: down?.seed ?? false,
        snubbed: down?.snubbed ?? false
      });
    }
    return out;
  }

  /** A candidate peer from discovery or PEX (`utpHint`: what it said about uTP, if anything). */
  add(address: Address, source: PeerSource, utpHint?: boolean): void {
    this.pool.add(address, source, utpHint);
  }

  /** An incoming connection routed to this torrent. */
  accept(stream: WireStream, remote: Address): void {
    // With the walk on, a few over the cap (walk-policy.ts): moves reach full peers too.
    const room = acceptsIncoming(this.connections.size, this.o.maxConnections, this.walk !== undefined);
    if (!this.ctx.wantsConnections() || !room) return stream.close();
    this.open(stream, 'responder', remote, 'incoming');
  }

  /** Dial due candidates while there is room. */
  pump(): void {
    this.pool.pump();
  }

  /** Periodic: PEX messages that are due, a random-walk step, and dials. */
  tick(now: number): void {
    if (this.o.pex && !this.ctx.info()?.private) {
      this.pex.send(this.connections.keys(), now, (s) => this.isSeed(s));
      this.moves?.step();
      this.moves?.shed();
    }
    this.pool.pump();
  }

  /** The metadata arrived: every wire learns the piece count and can serve the dictionary. */
  metadataKnown(info: TorrentInfo): void {
    for (const s of this.connections.keys()) {
      s.wire.setPieceCount(info.pieceCount);
      s.utMetadata.setMetadata(info.infoBytes);
    }
  }

  /** The torrent is ready to exchange pieces: hook every connected peer into the policies. */
  attachAll(): void {
    for (const s of this.connections.keys()) this.attach(s);
  }

  /**
   * A piece was verified and stored: HAVE to every peer (seeds too: in `distribute` mode a seed
   * ranks its requests by who holds what). A write per HAVE per peer was most of a swarm's
   * socket writes, so it rides on our next message to a peer where that changes nothing the
   * peer can act on now: a seed; an interested peer we choke (our unchoke carries it); an
   * interested peer whose requests we are serving (the next piece carries it). Anyone else
   * gets it at once: a peer not interested in us may become so, and an unchoked peer with no
   * request queued may have nothing else to ask us for (holding those back slowed swarms).
   */
  announcePiece(index: number): void {
    const exchange = this.ctx.exchange();
    for (const s of this.connections.keys()) {
      if (!s.connected) continue;
      const seed = this.isSeed(s);
      if (!seed && exchange?.downloader.picker.peerHas(s, index)) continue;
      const w = s.wire;
      const later = seed || (w.peerInterested && (w.amChoking || exchange?.uploader.hasQueued(s) === true));
      w.have(index, { withNextWrite: later });
    }
  }

  /** We completed: close the seeds (two seeds have nothing to trade). */
  closeSeeds(): void {
    for (const s of this.connections.keys()) if (this.isSeed(s)) s.wire.close();
  }

  /** Disconnect and ban a peer; it is not reconnected while the ban lasts. */
  ban(s: PeerSession, reason: PeerBan['reason']): void {
    if (this.banned.has(s)) return;
    this.banned.add(s);
    const address = s.listenAddress ?? s.address;
    this.pool.ban(address, s.peerId, reason === 'protocol' ? this.o.protocolBanMs : Infinity);
    this.ctx.emit('peer-banned', { address, reason, ...(s.peerId ? { peerId: s.peerId } : {}) });
    s.wire.close();
  }

  /** Stop dialing and close every connection. */
  close(): void {
    this.pool.close();
    for (const s of [...this.connections.keys()]) s.wire.close();
  }

  // --- one connection -------------------------------------------------------------------------

  private open(
    stream: WireStream,
    role: 'initiator' | 'responder',
    address: Address,
    source: PeerSource
  ): void {
    if (!this.ctx.wantsConnections()) return stream.close();
    if (this.o.sharedConnections && !this.o.sharedConnections.acquire()) {
      // Another torrent took the last shared slot while this dial ran: try it again later.
      if (role === 'initiator') this.pool.markGone(address, SHARED_SLOT_RETRY_MS);
      return stream.close();
    }
    const info = this.ctx.info();
    const listenPort = this.ctx.listenPort();
    const s = new PeerSession({
      stream,
      role,
      address,
      source,
      infoHash: this.ctx.infoHash,
      peerId: this.o.peerId,
      clock: this.ctx.clock,
      pex: this.o.pex && !(info?.private ?? false),
      holepunch: this.o.holepunch && !(info?.private ?? false),
      uploadOnly: this.ctx.complete(),
      maxMetadataSize: this.o.maxMetadataSize,
      ...(info ? { infoBytes: info.infoBytes, pieceCount: info.pieceCount } : {}),
      ...(listenPort !== undefined ? { listenPort } : {}),
      ...(this.o.dhtPort !== undefined ? { dhtPort: this.o.dhtPort } : {}),
      ...(this.o.wire ? { wire: this.o.wire } : {})
    });
    this.connections.set(s, {
      early: new EarlyAvailability(),
      availabilitySent: false,
      duplicate: false,
      holds: role === 'initiator' ? address : undefined,
      walkKey: undefined
    });
    if (role === 'initiator') this.pool.markLive(address);
    this.route(s);
  }

  /** Subscribe to everything the session's wire and plugins report. */
  private route(s: PeerSession): void {
    const w = s.wire;
    const c = this.connections.get(s)!;
    const ctx = this.ctx;
    w.on('handshake', () => this.onHandshake(s));
    w.on('extended_handshake', () => this.onExtendedHandshake(s));
    w.on('bitfield', (bytes) => {
      const d = ctx.exchange()?.downloader;
      if (!d) return c.early.recordBitfield(bytes);
      this.guard(s, 'bad-bitfield', () => d.onBitfield(s, Bitfield.fromBytes(bytes, d.picker.pieceCount)));
    });
    w.on('have_all', () => {
      const d = ctx.exchange()?.downloader;
      if (d) d.onHaveAll(s);
      else c.early.recordHaveAll();
    });
    w.on('have', (index) => {
      const d = ctx.exchange()?.downloader;
      if (!d) return c.early.recordHave(index);
      this.guard(s, 'bad-piece-index', () => d.onHave(s, index));
    });
    w.on('allowed_fast', (index) => {
      const d = ctx.exchange()?.downloader;
      if (d) d.onAllowedFast(s, index);
      else c.early.recordAllowedFast(index);
    });
    w.on('choke', () => ctx.exchange()?.downloader.onChoke(s));
    w.on('unchoke', () => ctx.exchange()?.downloader.onUnchoke(s));
    w.on('interested', () => ctx.exchange()?.uploader.onInterestChanged(s));
    w.on('not_interested', () => ctx.exchange()?.uploader.onInterestChanged(s));
    w.on('request', (r) => {
      const u = ctx.exchange()?.uploader;
      if (u) u.onRequest(s, r);
      else if (w.fastExtension) w.reject(r.index, r.begin, r.length); // nothing to serve yet
    });
    w.on('cancel', (r) => ctx.exchange()?.uploader.onCancel(s, r));
    w.on('piece', (m) => ctx.exchange()?.downloader.onPiece(s, m));
    w.on('reject', (r) => ctx.exchange()?.downloader.onReject(s, r));
    w.on('port', (port) => {
      if (port > 0) ctx.emit('dht-node', { host: s.address.host, port });
    });
    w.on('drain', () => ctx.exchange()?.uploader.onDrain(s));
    w.on('close', (reason) => this.onClose(s, reason));
    s.utMetadata.on('ready', (size) => ctx.fetcher()?.onReady(s, size));
    s.utMetadata.on('data', (piece, data) => ctx.fetcher()?.onData(s, piece, data));
    s.utMetadata.on('reject', (piece) => ctx.fetcher()?.onReject(s, piece));
    s.utPex?.on('peers', (m) => {
      if (c.walkKey) this.walk?.heard(c.walkKey, m.added, m.dropped);
      // Flags 0: the sender told nothing (or has no flags field): uTP support unknown.
      for (const p of m.added) {
        const address = { host: p.host, port: p.port };
        this.add(address, 'pex', p.flags === 0 ? undefined : (p.flags & PexFlag.Utp) !== 0);
        if (p.flags & PexFlag.Holepunch && s.holepunch) this.holepunching.introduced(address, s);
      }
    });
    this.holepunching.attach(s);
  }

  /**
   * Run a step that validates peer input against the torrent (a bitfield's length, a piece
   * index); if it throws, the peer broke the protocol with `reason`: warn and close it.
   */
  private guard(s: PeerSession, reason: ProtocolErrorReason, step: () => void): void {
    try {
      step();
    } catch (err) {
      const error = err instanceof ProtocolError ? err : new ProtocolError(reason, (err as Error).message);
      this.ctx.emit(
        'warning',
        new TrackerlessError('ERR_PROTOCOL', `peer ${formatAddress(s.address)}: ${error.message}`)
      );
      s.wire.close(error);
    }
  }

  private onHandshake(s: PeerSession): void {
    const id = s.peerId!;
    if (this.pool.isBanned(s.outgoing ? s.address : undefined, id)) return s.wire.close();
    for (const [other, oc] of this.connections) {
      if (other === s || !other.connected || other.peerId !== id) continue;
      // Both ends may dial each other: keep the connection initiated by the peer with the
      // larger id, so both ends close the same one.
      const remote = s.wire.remoteHandshake!.peerId;
      const weKeepOurs = Buffer.compare(Buffer.from(this.o.peerId), Buffer.from(remote)) > 0;
      const keep = s.outgoing === other.outgoing ? other : s.outgoing === weKeepOurs ? s : other;
      const drop = keep === s ? other : s;
      (drop === s ? this.connections.get(s)! : oc).duplicate = true;
      drop.wire.close();
      if (drop === s) return;
    }
    if (s.outgoing) this.moves?.connected(s);
    if (this.ctx.exchange()) return this.attach(s);
    // The torrent is not ready (no metadata yet, or storage being checked): we have nothing.
    this.connections.get(s)!.availabilitySent = true;
    if (s.wire.fastExtension) s.wire.haveNone();
  }

  private onExtendedHandshake(s: PeerSession): void {
    const listen = s.listenAddress;
    const c = this.connections.get(s);
    // The walk knows a neighbour by its listen address: what other peers' PEX lists name.
    if (c && listen && !c.walkKey && this.walk) {
      c.walkKey = listen;
      this.walk.connected(listen);
    }
    if (s.outgoing || !listen || !c) return;
    if (this.pool.isBanned(listen, undefined)) return s.wire.close();
    if (c.holds) return; // one address per session: the first one it named
    c.holds = listen;
    this.pool.markLive(listen);
  }

  private onClose(s: PeerSession, reason: TrackerlessError | undefined): void {
    const c = this.connections.get(s);
    if (!c) return;
    this.o.sharedConnections?.release();
    if (reason instanceof ProtocolError && reason.reason === 'self-connection' && s.outgoing)
      this.pool.markOwn(s.address);
    if (reason instanceof ProtocolError && VIOLATIONS.has(reason.reason)) this.ban(s, 'protocol');
    this.connections.delete(s);
    if (c.walkKey) this.walk?.disconnected(c.walkKey);
    if (s.outgoing) this.moves?.failed(s.address);
    this.pex.forget(s);
    this.holepunching.forget(s);
    const exchange = this.ctx.exchange();
    exchange?.downloader.removePeer(s);
    exchange?.uploader.removePeer(s);
    this.ctx.fetcher()?.removePeer(s);
    const retry = !c.duplicate && !(reason instanceof ProtocolError);
    const address = c.holds;
    const redial = retry && !this.banned.has(s) && this.ctx.wantsConnections() && !this.ctx.complete();
    // A duplicate shares its address with the connection we kept: that one stays live.
    const key = address ? formatAddress(address) : undefined;
    let stillLive = false;
    for (const o of this.connections.values())
      if (o.holds && formatAddress(o.holds) === key) stillLive = true;
    if (address && !stillLive) this.pool.markGone(address, redial ? REDIAL_AFTER_MS : undefined);
    this.pool.pump();
  }

  /** The handshake is done and the torrent is ready: hook the peer into the policies. */
  private attach(s: PeerSession): void {
    const exchange = this.ctx.exchange();
    const c = this.connections.get(s);
    if (!exchange || !c || !s.connected) return;
    exchange.downloader.addPeer(s, c.early.allowedFast);
    exchange.uploader.addPeer(s);
    this.sendAvailability(s, c, exchange.downloader);
  }

  /**
   * What we have, right after the handshake (bitfield / have_all / have_none, BEP 3 + 6), or as
   * HAVEs if the handshake went out before the torrent was ready; then what the peer told us
   * before the piece count was known.
   */
  private sendAvailability(s: PeerSession, c: Connection, d: Downloader): void {
    const stored = d.stored;
    const w = s.wire;
    if (!c.availabilitySent) {
      c.availabilitySent = true;
      if (stored.hasAll() && w.fastExtension) w.haveAll();
      else if (stored.count === 0 && w.fastExtension) w.haveNone();
      else if (stored.count > 0) w.bitfield(stored.toBytes());
    } else {
      for (const i of stored.indices()) w.have(i);
    }
    this.guard(s, 'bad-bitfield', () => c.early.replay(d, s));
    if (w.closed) return;
    if (d.picker.peerPieceCount(s) <= 10) this.ctx.exchange()?.uploader.grantAllowedFast(s);
    d.updateInterest(s);
    if (this.ctx.complete() && this.isSeed(s)) w.close(); // two seeds: nothing to trade
  }

  private isSeed(s: PeerSession): boolean {
    return this.ctx.exchange()?.downloader.isSeed(s) ?? false;
  }
}
