/**
 * BEP 10 extension protocol: the extension handshake codec (with size caps and validated
 * values), the plugin interface, and the per-connection registry that assigns our local
 * extended message ids and remembers the remote's.
 */
import bencode from 'bencode';
import type { Clock } from '../util/clock.js';
import { InvalidArgumentError, StateError } from '../errors.js';
import { bencodeValueEnd } from '../util/bencode-scan.js';
import { MAX_EXTENDED_HANDSHAKE_LENGTH, MAX_EXTENSION_NAMES } from './constants.js';
import { ProtocolError } from './errors.js';

/** The remote's extension handshake, validated. Invalid optional values are dropped. */
export interface ExtendedHandshake {
  /** Extension name -> the id to use when sending it to this peer; 0 = disabled (BEP 10). */
  m: Map<string, number>;
  /** Client name and version. */
  v?: string;
  /** The remote's TCP listen port. */
  p?: number;
  /** How many outstanding requests the remote accepts. */
  reqq?: number;
  /** BEP 9: size of the info dictionary in bytes (range checked by ut_metadata). */
  metadataSize?: number;
  /** Our address as the remote sees it: 4 or 16 bytes. */
  yourip?: Uint8Array;
  ipv4?: Uint8Array;
  ipv6?: Uint8Array;
  /** BEP 21 `upload_only`: the remote is a seed / partial seed. */
  uploadOnly?: boolean;
  /** The whole decoded dictionary (strings are Uint8Array) for other keys. Read with Object.hasOwn. */
  dict: Record<string, unknown>;
}

/** Fields of the extension handshake we send (besides `m` and plugin fields). */
export interface LocalExtendedHandshake {
  v?: string;
  p?: number;
  reqq?: number;
  yourip?: Uint8Array;
  ipv4?: Uint8Array;
  ipv6?: Uint8Array;
  uploadOnly?: boolean;
}

/** What a plugin gets from the wire it is attached to. */
export interface ExtensionContext {
  /** Send one message of this extension. False if the remote lacks it, or backpressure. */
  send(payload: Uint8Array): boolean;
  /** True when the remote announced this extension with a non-zero id. */
  readonly remoteSupports: boolean;
  /** Re-send our extension handshake (e.g. metadata_size became known); no-op before it. */
  updateHandshake(): void;
  /** The remote broke this extension's protocol: the wire emits ERR_PROTOCOL and closes. */
  fail(message: string): void;
  /** The torrent's infohash, once the BitTorrent handshake has been read. */
  readonly infoHash: Uint8Array | undefined;
  readonly clock: Clock;
}

/** A BEP 10 extension plugin, registered with `wire.use(ext)`. One instance per wire. */
export interface WireExtension {
  /** Name in the `m` dictionary, e.g. 'ut_metadata'. */
  readonly name: string;
  /** Called by `wire.use()` before anything else. */
  attach?(ctx: ExtensionContext): void;
  /** Extra top-level keys for our extension handshake (e.g. `metadata_size`). */
  handshakeFields?(): Record<string, unknown>;
  /** The remote's (validated) extension handshake; may come more than once (BEP 10). */
  onHandshake(remote: ExtendedHandshake): void;
  /** A message of this extension (payload after the extended id byte). May be a view. */
  onMessage(payload: Uint8Array): void;
  /** The wire closed. */
  onClose?(): void;
}

/** What the wire provides to build each plugin's ExtensionContext. */
export interface ExtensionHost {
  send(payload: Uint8Array): boolean;
  fail(message: string): void;
  updateHandshake(): void;
  infoHash(): Uint8Array | undefined;
  clock: Clock;
}

// ---------------------------------------------------------------------------------------------
// Decoding helpers for bencoded dictionaries from the network

export type BDict = Record<string, unknown>;

export function isDict(v: unknown): v is BDict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Own property only: a remote `__proto__` key must not be read through the prototype. */
export function own(dict: BDict, key: string): unknown {
  return Object.hasOwn(dict, key) ? dict[key] : undefined;
}

/** A non-negative safe integer, or undefined. */
export function intField(
  dict: BDict,
  key: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER
): number | undefined {
  const v = own(dict, key);
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? v : undefined;
}

export function bytesField(dict: BDict, key: string, ...lengths: number[]): Uint8Array | undefined {
  const v = own(dict, key);
  if (!(v instanceof Uint8Array)) return undefined;
  return lengths.length === 0 || lengths.includes(v.length) ? v : undefined;
}

/**
 * Decode the bencoded value at the start of `payload` without ever throwing or hanging: the
 * bytes are scanned first (bencode-scan.ts). Returns the value and where it ended, or
 * undefined. The caller caps the payload size.
 */
export function safeDecodePrefix(payload: Uint8Array): { value: unknown; end: number } | undefined {
  const end = bencodeValueEnd(payload);
  if (end < 0) return undefined;
  try {
    return { value: bencode.decode(payload.subarray(0, end)), end };
  } catch {
    return undefined;
  }
}

/** Decode a payload that must be exactly one bencoded value; undefined if it is not. */
export function safeDecode(payload: Uint8Array): unknown {
  const r = safeDecodePrefix(payload);
  return r && r.end === payload.length ? r.value : undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const MAX_CLIENT_NAME_BYTES = 256;
const MAX_EXTENSION_NAME_LENGTH = 64;

// ---------------------------------------------------------------------------------------------
// Codec

export function encodeExtendedHandshake(
  m: Record<string, number>,
  local: LocalExtendedHandshake = {},
  extra: Record<string, unknown> = {}
): Uint8Array {
  const dict: BDict = { ...extra, m };
  if (local.v !== undefined) dict.v = local.v;
  if (local.p !== undefined) dict.p = local.p;
  if (local.reqq !== undefined) dict.reqq = local.reqq;
  if (local.yourip !== undefined) dict.yourip = local.yourip;
  if (local.ipv4 !== undefined) dict.ipv4 = local.ipv4;
  if (local.ipv6 !== undefined) dict.ipv6 = local.ipv6;
  if (local.uploadOnly !== undefined) dict.upload_only = local.uploadOnly ? 1 : 0;
  return bencode.encode(dict);
}

/** Decode and validate a remote extension handshake. Never throws. */
export function decodeExtendedHandshake(
  payload: Uint8Array,
  maxLength: number = MAX_EXTENDED_HANDSHAKE_LENGTH
): ExtendedHandshake | ProtocolError {
  if (payload.length > maxLength) {
    return new ProtocolError('bad-extended-handshake', `${payload.length} bytes > cap ${maxLength}`);
  }
  const dict = safeDecode(payload);
  if (!isDict(dict)) return new ProtocolError('bad-extended-handshake', 'not a bencoded dictionary');
  const m = new Map<string, number>();
  const rawM = own(dict, 'm');
  if (rawM !== undefined) {
    if (!isDict(rawM)) return new ProtocolError('bad-extended-handshake', '`m` is not a dictionary');
    for (const name of Object.keys(rawM).slice(0, MAX_EXTENSION_NAMES)) {
      const id = intField(rawM, name, 0, 255);
      if (id !== undefined && name.length > 0 && name.length <= MAX_EXTENSION_NAME_LENGTH) m.set(name, id);
    }
  }
  const hs: ExtendedHandshake = { m, dict };
  const v = bytesField(dict, 'v');
  if (v && v.length <= MAX_CLIENT_NAME_BYTES) hs.v = utf8.decode(v);
  const p = intField(dict, 'p', 1, 65535);
  if (p !== undefined) hs.p = p;
  const reqq = intField(dict, 'reqq', 1, 0x7fffffff);
  if (reqq !== undefined) hs.reqq = reqq;
  const metadataSize = intField(dict, 'metadata_size');
  if (metadataSize !== undefined) hs.metadataSize = metadataSize;
  const yourip = bytesField(dict, 'yourip', 4, 16);
  if (yourip) hs.yourip = yourip;
  const ipv4 = bytesField(dict, 'ipv4', 4);
  if (ipv4) hs.ipv4 = ipv4;
  const ipv6 = bytesField(dict, 'ipv6', 16);
  if (ipv6) hs.ipv6 = ipv6;
  const uploadOnly = intField(dict, 'upload_only');
  if (uploadOnly !== undefined) hs.uploadOnly = uploadOnly !== 0;
  return hs;
}

// ---------------------------------------------------------------------------------------------
// Registry

/** Per-connection extension bookkeeping. Used by PeerWire; pure. */
export class ExtensionRegistry {
  /** Index = our local extended message id (1-based; 0 is the handshake). */
  private readonly byLocalId: WireExtension[] = [];
  private readonly remoteIds = new Map<string, number>();
  private remote: ExtendedHandshake | undefined;

  get extensions(): readonly WireExtension[] {
    return this.byLocalId;
  }

  /** The last extension handshake received, if any. */
  get remoteHandshake(): ExtendedHandshake | undefined {
    return this.remote;
  }

  /**
   * Register a plugin, give it its context (`attach`), and return its local id (assigned in
   * registration order from 1).
   */
  add(ext: WireExtension, host: ExtensionHost): number {
    if (this.byLocalId.some((e) => e.name === ext.name)) {
      throw new StateError(`extension ${ext.name} already registered`);
    }
    if (this.byLocalId.length >= 255)
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'too many extensions');
    this.byLocalId.push(ext);
    const remoteIds = this.remoteIds;
    ext.attach?.({
      send: host.send,
      fail: host.fail,
      updateHandshake: host.updateHandshake,
      clock: host.clock,
      get remoteSupports() {
        return remoteIds.has(ext.name);
      },
      get infoHash() {
        return host.infoHash();
      }
    });
    return this.byLocalId.length;
  }

  /** Our `m` dictionary. */
  localIds(): Record<string, number> {
    const m: Record<string, number> = {};
    this.byLocalId.forEach((e, i) => (m[e.name] = i + 1));
    return m;
  }

  /** Our extension handshake payload, with the plugins' extra fields. */
  encodeHandshake(local: LocalExtendedHandshake, extra: Record<string, unknown> = {}): Uint8Array {
    const fields: Record<string, unknown> = { ...extra };
    for (const e of this.byLocalId) Object.assign(fields, e.handshakeFields?.() ?? {});
    return encodeExtendedHandshake(this.localIds(), local, fields);
  }

  /** The id the remote wants for `name`, or undefined if it lacks or disabled it. */
  remoteId(name: string): number | undefined {
    return this.remoteIds.get(name);
  }

  /** Apply a remote handshake (BEP 10: `m` is additive, 0 disables) and notify plugins. */
  receiveHandshake(payload: Uint8Array): ExtendedHandshake | ProtocolError {
    const hs = decodeExtendedHandshake(payload);
    if (hs instanceof ProtocolError) return hs;
    for (const [name, id] of hs.m) {
      if (id === 0) this.remoteIds.delete(name);
      else this.remoteIds.set(name, id);
    }
    this.remote = hs;
    for (const e of this.byLocalId) e.onHandshake(hs);
    return hs;
  }

  /** Route a message sent to our local id. False if no plugin has that id. */
  dispatch(localId: number, payload: Uint8Array): boolean {
    const ext = this.byLocalId[localId - 1];
    if (!ext) return false;
    ext.onMessage(payload);
    return true;
  }

  close(): void {
    for (const e of this.byLocalId) e.onClose?.();
  }
}
