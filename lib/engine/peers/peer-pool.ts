/**
 * Candidate peers and outgoing connections for one torrent: dedupe by address, a cap on
 * connections and on dials in progress (half-open), retries with back-off, bans (address and
 * peer id) and our own addresses (a self-connection is never retried).
 *
 * Candidates from PEX are untrusted (BEP 11): they enter the same bounded queue as the others
 * and are only dialed while the engine has room, so one PEX source cannot take every slot.
 */
import { AbortError } from '../../errors.js';
import { type Address, formatAddress } from '../../net/address.js';
import type { Clock } from '../../util/clock.js';
import type { WireStream } from '../../net/stream.js';
import type { PeerConnector, PeerSource } from '../engine.js';
import { BanList } from './ban-list.js';

/** Dial attempts per candidate before it is dropped. */
const MAX_ATTEMPTS = 3;
/** Back-off after a failed dial, times the attempt number, ms. */
const RETRY_BASE_MS = 15_000;
/** Banned addresses and peer ids remembered per torrent (each list). */
const MAX_BANS = 4096;

interface Candidate {
  address: Address;
  source: PeerSource;
  attempts: number;
  notBefore: number;
  /** What the peer said about uTP (BEP 11 PEX flag), if anything. */
  utpHint: boolean | undefined;
}

export interface PeerPoolOptions {
  connect: PeerConnector;
  clock: Clock;
  maxConnections: number;
  maxHalfOpen: number;
  connectTimeoutMs: number;
  maxCandidates: number;
  /** Sessions open now (dialed and accepted, handshaking or not). */
  connectionCount(): number;
  /** Dial only while this holds (e.g. not when complete). */
  wantsConnections(): boolean;
  onConnect(stream: WireStream, address: Address, source: PeerSource): void;
  /** A dial failed (not aborted): e.g. to ask for a holepunch. */
  onDialFailed?(address: Address): void;
}

export class PeerPool {
  private readonly o: PeerPoolOptions;
  private readonly candidates = new Map<string, Candidate>();
  /** Addresses with a live session (dialed, or an incoming peer's listen address). */
  private readonly live = new Set<string>();
  private readonly bannedAddresses = new BanList(MAX_BANS);
  private readonly bannedIds = new BanList(MAX_BANS);
  private readonly ownAddresses = new Set<string>();
  private readonly dials = new Set<AbortController>();
  private closed = false;

  constructor(options: PeerPoolOptions) {
    this.o = options;
  }

  get halfOpen(): number {
    return this.dials.size;
  }

  get candidateCount(): number {
    return this.candidates.size;
  }

  /**
   * Queue a candidate (`utpHint`: what it said about uTP, if anything). Returns false if it is
   * known, live, banned, ours, or the queue is full.
   */
  add(address: Address, source: PeerSource, utpHint?: boolean): boolean {
    if (this.closed || !Number.isInteger(address.port) || address.port < 1 || address.port > 65535)
      return false;
    const key = formatAddress(address);
    if (
      this.candidates.has(key) ||
      this.live.has(key) ||
      this.bannedAddresses.has(key, this.o.clock.now()) ||
      this.ownAddresses.has(key)
    )
      return false;
    if (this.candidates.size >= this.o.maxCandidates) return false;
    this.candidates.set(key, { address, source, attempts: 0, notBefore: 0, utpHint });
    this.pump();
    return true;
  }

  /**
   * Dial `address` over uTP at once, ahead of the queue and the half-open cap (a holepunch:
   * the other side is dialing us at the same moment). False if it is live, banned, ours, or
   * there is no room for another connection.
   */
  dialNow(address: Address, source: PeerSource): boolean {
    const key = formatAddress(address);
    if (!this.dialableNow(key, 0)) return false;
    this.candidates.delete(key);
    this.dial(key, { address, source, attempts: MAX_ATTEMPTS - 1, notBefore: 0, utpHint: true }, true);
    return true;
  }

  /**
   * Dial `address` now, ahead of the queue, in place of a connection the caller closes right
   * after (a random-walk step at the cap): the cap may be full by that one connection. False if
   * it is live, banned, ours, or we dial no one now.
   */
  dialReplacing(address: Address, source: PeerSource): boolean {
    const key = formatAddress(address);
    if (!this.dialableNow(key, 1)) return false;
    this.candidates.delete(key);
    this.dial(key, { address, source, attempts: 0, notBefore: 0, utpHint: undefined });
    return true;
  }

  /** Whether `key` may be dialled at once, with `spare` connections over the cap allowed. */
  private dialableNow(key: string, spare: number): boolean {
    return (
      !this.closed &&
      this.o.wantsConnections() &&
      !this.live.has(key) &&
      !this.bannedAddresses.has(key, this.o.clock.now()) &&
      !this.ownAddresses.has(key) &&
      this.o.connectionCount() + this.dials.size < this.o.maxConnections + spare
    );
  }

  /** A session holds this address now (don't dial it). */
  markLive(address: Address): void {
    const key = formatAddress(address);
    this.live.add(key);
    this.candidates.delete(key);
  }

  /** The session ended; with `retryAfterMs` the address is dialed again later. */
  markGone(address: Address, retryAfterMs?: number): void {
    const key = formatAddress(address);
    if (!this.live.delete(key) || retryAfterMs === undefined || this.closed) return;
    if (this.bannedAddresses.has(key, this.o.clock.now()) || this.candidates.size >= this.o.maxCandidates)
      return;
    this.candidates.set(key, {
      address,
      source: 'manual',
      attempts: 0,
      notBefore: this.o.clock.now() + retryAfterMs,
      utpHint: undefined
    });
  }

  /** Ban for `durationMs` (Infinity: for the engine's lifetime): not dialed, not accepted. */
  ban(address: Address | undefined, peerId: string | undefined, durationMs: number): void {
    const until = this.o.clock.now() + durationMs;
    if (address) {
      const key = formatAddress(address);
      this.bannedAddresses.add(key, until);
      this.candidates.delete(key);
    }
    if (peerId) this.bannedIds.add(peerId, until);
  }

  isBanned(address: Address | undefined, peerId: string | undefined): boolean {
    const now = this.o.clock.now();
    return (
      (address !== undefined && this.bannedAddresses.has(formatAddress(address), now)) ||
      (peerId !== undefined && this.bannedIds.has(peerId, now))
    );
  }

  /** We connected to ourselves at this address: never again. */
  markOwn(address: Address): void {
    const key = formatAddress(address);
    this.ownAddresses.add(key);
    this.candidates.delete(key);
  }

  /** Dial due candidates while there is room. */
  pump(): void {
    if (this.closed || !this.o.wantsConnections()) return;
    const now = this.o.clock.now();
    for (const [key, c] of this.candidates) {
      if (
        this.dials.size >= this.o.maxHalfOpen ||
        this.o.connectionCount() + this.dials.size >= this.o.maxConnections
      )
        return;
      if (c.notBefore > now) continue;
      this.candidates.delete(key);
      this.dial(key, c);
    }
  }

  /** Abort dials in progress and forget candidates. */
  close(): void {
    this.closed = true;
    for (const d of this.dials) d.abort();
    this.dials.clear();
    this.candidates.clear();
  }

  private dial(key: string, c: Candidate, utpOnly = false): void {
    const controller = new AbortController();
    this.dials.add(controller);
    this.live.add(key); // no second dial to it while this one runs
    const options = {
      signal: controller.signal,
      timeoutMs: this.o.connectTimeoutMs,
      ...(c.utpHint !== undefined ? { utpHint: c.utpHint } : {}),
      ...(utpOnly ? { utpOnly } : {})
    };
    this.o.connect(c.address, options).then(
      (stream) => {
        this.dials.delete(controller);
        if (this.closed || controller.signal.aborted) {
          stream.close();
          return;
        }
        this.o.onConnect(stream, c.address, c.source);
        this.pump();
      },
      (err: unknown) => {
        this.dials.delete(controller);
        this.live.delete(key);
        if (this.closed || err instanceof AbortError) return;
        this.o.onDialFailed?.(c.address);
        c.attempts++;
        if (c.attempts < MAX_ATTEMPTS && this.candidates.size < this.o.maxCandidates) {
          c.notBefore = this.o.clock.now() + RETRY_BASE_MS * c.attempts;
          this.candidates.set(key, c);
        }
        this.pump();
      }
    );
  }
}
