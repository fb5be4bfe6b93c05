/**
 * Routes one PeerSession's wire and plugin events to the engine's policies (Downloader,
 * Uploader, MetadataFetcher, PeerPool), plus the per-peer protocol steps that involve the
 * engine as a whole: the handshake checks (bans, duplicate connections), what we announce
 * after the handshake (BEP 3 bitfield / BEP 6 have_all/have_none), and PEX gossip.
 */
import { TrackerlessError } from '../../errors.js';
import { formatAddress, type Address, isIpLiteral } from '../../net/address.js';
import { ProtocolError } from '../../wire/errors.js';
import { PexFlag, type PexPeer } from '../../wire/ut-pex.js';
import { Bitfield } from '../bitfield.js';
import type { BitTorrentEngine } from '../bittorrent-engine.js';
import { type PeerSession } from './peer-session.js';

/** Subscribe the engine to everything the session's wire and plugins report. */
export function bindSession(e: BitTorrentEngine, s: PeerSession): void {
  const w = s.wire;
  w.on('handshake', () => onHandshake(e, s));
  w.on('extended_handshake', () => onExtendedHandshake(e, s));
  w.on('bitfield', (bytes) => {
    const d = e.downloader;
    if (!d) return s.rememberBitfield(bytes);
    guard(e, s, () => d.onBitfield(s, Bitfield.fromBytes(bytes, d.picker.pieceCount)));
  });
  w.on('have_all', () => (e.downloader ? e.downloader.onHaveAll(s) : (s.pendingHaveAll = true)));
  w.on('have', (index) => {
    const d = e.downloader;
    if (!d) return s.rememberHave(index);
    guard(e, s, () => d.onHave(s, index));
  });
  w.on('allowed_fast', (index) =>
    e.downloader ? e.downloader.onAllowedFast(s, index) : s.rememberAllowedFast(index)
  );
  w.on('choke', () => e.downloader?.onChoke(s));
  w.on('unchoke', () => e.downloader?.onUnchoke(s));
  w.on('interested', () => e.uploader?.onInterestChanged(s));
  w.on('not_interested', () => e.uploader?.onInterestChanged(s));
  w.on('request', (r) => {
    if (e.uploader) e.uploader.onRequest(s, r);
    else if (w.fastExtension) w.reject(r.index, r.begin, r.length); // nothing to serve yet
  });
  w.on('cancel', (r) => e.uploader?.onCancel(s, r));
  w.on('piece', (m) => e.downloader?.onPiece(s, m));
  w.on('reject', (r) => e.downloader?.onReject(s, r));
  w.on('port', (port) => {
    if (port > 0) e.emitEvent('dht-node', { host: s.address.host, port });
  });
  w.on('drain', () => e.uploader?.onDrain(s));
  w.on('close', (reason) => onClose(e, s, reason));
  s.utMetadata.on('ready', (size) => e.fetcher?.onReady(s, size));
  s.utMetadata.on('data', (piece, data) => e.fetcher?.onData(s, piece, data));
  s.utMetadata.on('reject', (piece) => e.fetcher?.onReject(s, piece));
  s.utPex?.on('peers', (m) => {
    for (const p of m.added) e.addPeer({ host: p.host, port: p.port }, 'pex');
  });
}

/** Run a step that validates peer input (bitfield length, piece index); close the peer if it throws. */
function guard(e: BitTorrentEngine, s: PeerSession, step: () => void): void {
  try {
    step();
  } catch (err) {
    e.emitEvent(
      'warning',
      new TrackerlessError('ERR_PROTOCOL', `peer ${formatAddress(s.address)}: ${(err as Error).message}`)
    );
    s.wire.close(new ProtocolError('bad-payload-length', (err as Error).message));
  }
}

function onHandshake(e: BitTorrentEngine, s: PeerSession): void {
  s.connectedAt = e.o.clock.now();
  const id = s.peerId!;
  if (e.pool.isBanned(s.outgoing ? s.address : undefined, id)) return s.wire.close();
  for (const other of e.sessions) {
    if (other === s || !other.connected || other.peerId !== id) continue;
    // Both ends may dial each other: keep the connection initiated by the peer with the
    // larger id, so both ends close the same one.
    const remote = s.wire.remoteHandshake!.peerId;
    const weKeepOurs = Buffer.compare(Buffer.from(e.o.peerId), Buffer.from(remote)) > 0;
    const keep = s.outgoing === other.outgoing ? other : s.outgoing === weKeepOurs ? s : other;
    const drop = keep === s ? other : s;
    drop.duplicate = true;
    drop.wire.close();
    if (drop === s) return;
  }
  if (e.downloader) return e.attachPeer(s);
  // The torrent is not ready (no metadata yet, or storage being checked): we have nothing.
  s.availabilitySent = true;
  if (s.wire.fastExtension) s.wire.haveNone();
}

function onExtendedHandshake(e: BitTorrentEngine, s: PeerSession): void {
  const listen = s.listenAddress;
  if (s.outgoing || !listen) return;
  if (e.pool.isBanned(listen, undefined)) return s.wire.close();
  e.pool.markLive(listen);
}

function onClose(e: BitTorrentEngine, s: PeerSession, reason: TrackerlessError | undefined): void {
  if (reason instanceof ProtocolError && reason.reason === 'self-connection' && s.outgoing)
    e.pool.markOwn(s.address);
  const retry = !s.duplicate && !(reason instanceof ProtocolError);
  e.sessionClosed(s, retry);
}

/**
 * What we have, right after the handshake (bitfield / have_all / have_none, BEP 3 + 6), or as
 * HAVEs if the handshake went out before the torrent was ready; then what the peer told us
 * before the piece count was known.
 */
export function sendAvailability(e: BitTorrentEngine, s: PeerSession): void {
  const d = e.downloader!;
  const stored = d.stored;
  const w = s.wire;
  if (!s.availabilitySent) {
    s.availabilitySent = true;
    if (stored.hasAll() && w.fastExtension) w.haveAll();
    else if (stored.count === 0 && w.fastExtension) w.haveNone();
    else if (stored.count > 0) w.bitfield(stored.toBytes());
  } else {
    for (const i of stored.indices()) w.have(i);
  }
  guard(e, s, () => {
    if (s.pendingHaveAll) d.onHaveAll(s);
    else if (s.pendingBitfield) d.onBitfield(s, Bitfield.fromBytes(s.pendingBitfield, d.picker.pieceCount));
    for (const i of s.pendingHaves) d.onHave(s, i);
  });
  s.pendingBitfield = undefined;
  s.pendingHaves.clear();
  s.pendingHaveAll = false;
  if (w.closed) return;
  if (d.picker.peerPieceCount(s) <= 10) e.uploader?.grantAllowedFast(s);
  d.updateInterest(s);
  if (e.complete && (s.isSeed || d.picker.peerHasAll(s))) w.close(); // two seeds: nothing to trade
}

/**
 * PEX (BEP 11): tell each peer about the peers we are connected to (their listen addresses),
 * as changes since the last message. UtPex enforces one message per minute per peer.
 */
export function sendPex(e: BitTorrentEngine): void {
  if (!e.o.pex || e.info?.private) return;
  const now = e.o.clock.now();
  const due = [...e.sessions].filter((s) => s.connected && s.utPex?.supported && s.utPex.nextSendAt() <= now);
  if (due.length === 0) return;
  const live = new Map<string, PexPeer>();
  for (const s of e.sessions) {
    const a: Address | undefined = s.listenAddress;
    if (!s.connected || !a || !isIpLiteral(a.host)) continue;
    live.set(formatAddress(a), {
      host: a.host,
      port: a.port,
      flags: (s.outgoing ? PexFlag.Reachable : 0) | (s.isSeed ? PexFlag.Seed : 0)
    });
  }
  for (const s of due) {
    const self = s.listenAddress ? formatAddress(s.listenAddress) : undefined;
    const added = [...live].filter(([k]) => k !== self && !s.pexSent.has(k)).slice(0, 50);
    const dropped = [...s.pexSent].filter((k) => !live.has(k)).slice(0, 50);
    const droppedAddresses = dropped.map((k) => parseKey(k));
    if (s.utPex!.send({ added: added.map(([, p]) => p), dropped: droppedAddresses }) !== 'sent') continue;
    for (const [k] of added) s.pexSent.add(k);
    for (const k of dropped) s.pexSent.delete(k);
  }
}

function parseKey(key: string): Address {
  const colon = key.lastIndexOf(':');
  const host = key.slice(0, colon).replace(/^\[|\]$/g, '');
  return { host, port: Number(key.slice(colon + 1)) };
}
