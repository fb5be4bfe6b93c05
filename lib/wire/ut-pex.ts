/**
 * BEP 11 ut_pex plugin: peer exchange messages (added / added.f / added6 / added6.f / dropped
 * / dropped6) with capped counts, validated compact lengths, and a once-per-minute send limit
 * per peer on an injected clock (the wire's).
 *
 * PEX data is untrusted (BEP 11 "Security Considerations"): decoded contacts are deduplicated,
 * port 0 is dropped, counts are capped; the engine should still not take all its connection
 * candidates from one PEX source.
 */
import bencode from 'bencode';
import { formatAddress, type Address } from '../net/address.js';
import { ipFamily } from '../net/ip.js';
import { decodeCompactAddress, encodeCompactPeers } from '../net/compact-address.js';
import { InvalidArgumentError } from '../errors.js';
import { COMPACT_PEER_V4_LENGTH, COMPACT_PEER_V6_LENGTH } from '../constants.js';
import { PEX_INTERVAL_MS, PEX_MAX_PEERS_PER_MESSAGE } from './constants.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import {
  isDict,
  own,
  safeDecode,
  type BDict,
  type ExtensionContext,
  type WireExtension
} from './extensions.js';

/** `added.f` flag bits (BEP 11). */
export const PexFlag = {
  PrefersEncryption: 0x01,
  Seed: 0x02,
  Utp: 0x04,
  Holepunch: 0x08,
  /** Outgoing connection: the peer is reachable. */
  Reachable: 0x10
} as const;

export interface PexPeer extends Address {
  /** PexFlag bits; 0 when unknown. */
  flags: number;
}

/** Both address families together; the host literal tells them apart. */
export interface PexMessage {
  added: PexPeer[];
  dropped: Address[];
}

export interface PexLimits {
  /** Max added contacts (v4 + v6 combined); extras are dropped. */
  maxAdded?: number;
  /** Max dropped contacts (v4 + v6 combined); extras are dropped. */
  maxDropped?: number;
}

function uniqueCapped<T extends Address>(list: readonly T[], max: number, exclude?: Set<string>): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const a of list) {
    if (out.length >= max) break;
    const k = formatAddress(a);
    if (seen.has(k) || exclude?.has(k)) continue;
    seen.add(k);
    out.push(a);
  }
  return out;
}

/**
 * Encode a PEX payload. Duplicates are removed, each list is capped (default 50, BEP 11), and
 * a contact both added and dropped is only added. Throws on a host that is not an IP literal.
 */
export function encodePex(msg: PexMessage, limits: PexLimits = {}): Uint8Array {
  const added = uniqueCapped(msg.added, limits.maxAdded ?? PEX_MAX_PEERS_PER_MESSAGE);
  const addedKeys = new Set(added.map(formatAddress));
  const dropped = uniqueCapped(msg.dropped, limits.maxDropped ?? PEX_MAX_PEERS_PER_MESSAGE, addedKeys);
  const family = (a: Address): 4 | 6 => {
    const f = ipFamily(a.host);
    if (f === undefined)
      throw new InvalidArgumentError('ERR_INVALID_ADDRESS', `not an IP literal: ${a.host}`);
    return f;
  };
  const added4 = added.filter((a) => family(a) === 4);
  const added6 = added.filter((a) => family(a) === 6);
  const dropped4 = dropped.filter((a) => family(a) === 4);
  const dropped6 = dropped.filter((a) => family(a) === 6);
  const flags = (list: PexPeer[]): Uint8Array => Uint8Array.from(list, (p) => p.flags & 0xff);
  const dict: BDict = {
    added: encodeCompactPeers(added4, 4),
    'added.f': flags(added4),
    dropped: encodeCompactPeers(dropped4, 4)
  };
  if (added6.length > 0) {
    dict.added6 = encodeCompactPeers(added6, 6);
    dict['added6.f'] = flags(added6);
  }
  if (dropped6.length > 0) dict.dropped6 = encodeCompactPeers(dropped6, 6);
  return bencode.encode(dict);
}

/** Split one compact list; undefined if its length is not a multiple of the record size. */
function readList(dict: BDict, field: string, size: number, flagsField?: string): PexPeer[] | undefined {
  const raw = own(dict, field);
  if (raw === undefined) return [];
  if (!(raw instanceof Uint8Array) || raw.length % size !== 0) return undefined;
  const count = raw.length / size;
  const f = flagsField === undefined ? undefined : own(dict, flagsField);
  const flags = f instanceof Uint8Array && f.length === count ? f : undefined; // else: flags unknown
  const out: PexPeer[] = [];
  for (let i = 0; i < count; i++) {
    const addr = decodeCompactAddress(raw.subarray(i * size, (i + 1) * size));
    if (addr) out.push({ host: addr.host, port: addr.port, flags: flags?.[i] ?? 0 });
  }
  return out;
}

/**
 * Decode a PEX payload; null if it is not a dictionary or a compact list has a bad length.
 * Port-0 contacts and duplicates are dropped, a contact both added and dropped is ignored,
 * and each list is capped (default 50 + 50: a first message may be larger).
 */
export function decodePex(payload: Uint8Array, limits: PexLimits = {}): PexMessage | null {
  const dict = safeDecode(payload);
  if (!isDict(dict)) return null;
  const added4 = readList(dict, 'added', COMPACT_PEER_V4_LENGTH, 'added.f');
  const added6 = readList(dict, 'added6', COMPACT_PEER_V6_LENGTH, 'added6.f');
  const dropped4 = readList(dict, 'dropped', COMPACT_PEER_V4_LENGTH);
  const dropped6 = readList(dict, 'dropped6', COMPACT_PEER_V6_LENGTH);
  if (!added4 || !added6 || !dropped4 || !dropped6) return null;
  const droppedAll = [...dropped4, ...dropped6].map(({ host, port }) => ({ host, port }));
  const droppedKeys = new Set(droppedAll.map(formatAddress));
  const addedAll = [...added4, ...added6];
  const addedKeys = new Set(addedAll.map(formatAddress));
  return {
    added: uniqueCapped(addedAll, limits.maxAdded ?? 2 * PEX_MAX_PEERS_PER_MESSAGE, droppedKeys),
    dropped: uniqueCapped(droppedAll, limits.maxDropped ?? 2 * PEX_MAX_PEERS_PER_MESSAGE, addedKeys)
  };
}

export interface UtPexOptions {
  /** Minimum time between two messages we send (BEP 11: one per minute), ms. */
  intervalMs?: number;
  /** Caps on what we send (default 50 each, BEP 11). */
  sendLimits?: PexLimits;
  /** Caps on what we accept per message (default 100 each). */
  receiveLimits?: PexLimits;
  /**
   * Messages accepted per `intervalMs` window; more are ignored as a flood. Default 2: one per
   * minute is the rule, the slack absorbs a message delayed behind a full send buffer.
   */
  receiveBurst?: number;
}

export type PexSendResult = 'sent' | 'rate-limited' | 'unsupported' | 'empty' | 'closed';

export type UtPexEvents = {
  /** A valid PEX message from the remote. */
  peers: [message: PexMessage];
};

export class UtPex extends TypedEmitter<UtPexEvents> implements WireExtension {
  readonly name = 'ut_pex';
  /** Messages ignored: malformed, empty or too frequent. */
  ignoredMessages = 0;
  private ctx: ExtensionContext | undefined;
  private closed = false;
  private lastSentAt: number | undefined;
  /** Arrival times of recently accepted messages (at most `receiveBurst`). */
  private recent: number[] = [];
  private readonly options: UtPexOptions;

  constructor(options: UtPexOptions = {}) {
    super();
    this.options = options;
  }

  /** The remote announced ut_pex. */
  get supported(): boolean {
    return this.ctx?.remoteSupports ?? false;
  }

  /** Earliest clock time at which `send` will not be rate limited. */
  nextSendAt(): number {
    return this.lastSentAt === undefined ? 0 : this.lastSentAt + (this.options.intervalMs ?? PEX_INTERVAL_MS);
  }

  /** Send added/dropped contacts (capped, deduplicated), at most once per interval. */
  send(message: PexMessage): PexSendResult {
    const ctx = this.ctx;
    if (!ctx || this.closed) return 'closed';
    if (!ctx.remoteSupports) return 'unsupported';
    if (message.added.length === 0 && message.dropped.length === 0) return 'empty';
    if (this.lastSentAt !== undefined && ctx.clock.now() < this.nextSendAt()) return 'rate-limited';
    this.lastSentAt = ctx.clock.now();
    ctx.send(encodePex(message, this.options.sendLimits));
    return 'sent';
  }

  attach(ctx: ExtensionContext): void {
    this.ctx = ctx;
  }

  onHandshake(): void {}

  onMessage(payload: Uint8Array): void {
    const now = this.ctx?.clock.now() ?? 0;
    const window = this.options.intervalMs ?? PEX_INTERVAL_MS;
    this.recent = this.recent.filter((t) => now - t < window);
    if (this.recent.length >= (this.options.receiveBurst ?? 2)) {
      this.ignoredMessages++;
      return;
    }
    const message = decodePex(payload, this.options.receiveLimits);
    if (!message || (message.added.length === 0 && message.dropped.length === 0)) {
      this.ignoredMessages++;
      return;
    }
    this.recent.push(now);
    this.emit('peers', message);
  }

  onClose(): void {
    this.closed = true;
  }
}
