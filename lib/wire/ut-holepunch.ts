/**
 * BEP 55 ut_holepunch plugin: a peer that cannot be dialed (a NAT dropping unsolicited
 * packets) is reached through a relay both are connected to. The initiator sends `rendezvous`
 * (the target's endpoint) to the relay; the relay sends `connect` to both, each carrying the
 * other's endpoint; both then dial each other over uTP at once, which opens both NATs. `error`
 * tells the initiator why a rendezvous failed.
 *
 * Message: msg_type (1) | addr_type (1: 0 IPv4, 1 IPv6) | addr (4 or 16) | port (2) | err_code (4).
 * libtorrent omits err_code except in `error` messages, so it is optional on input; we always
 * send it (BEP 55). Untrusted input: exact lengths, known types, port 0 refused, and at most
 * `maxPerMinute` messages per peer are acted on (each rendezvous makes the relay send two
 * messages), the rest counted and ignored. Messages from a peer that did not announce
 * ut_holepunch are ignored, as BEP 55 requires.
 */
import { InvalidArgumentError } from '../errors.js';
import { formatIp, parseIp } from '../net/ip.js';
import type { Address } from '../net/address.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import type { ExtensionContext, WireExtension } from './extensions.js';

export const HolepunchType = { Rendezvous: 0, Connect: 1, Error: 2 } as const;
export type HolepunchType = (typeof HolepunchType)[keyof typeof HolepunchType];

/** BEP 55 error codes. */
export const HolepunchError = { NoSuchPeer: 1, NotConnected: 2, NoSupport: 3, NoSelf: 4 } as const;
export type HolepunchError = (typeof HolepunchError)[keyof typeof HolepunchError];

export interface HolepunchMessage {
  type: HolepunchType;
  address: Address;
  /** 0 except in `error` messages. */
  error: number;
}

export function encodeHolepunch(msg: HolepunchMessage): Uint8Array {
  const ip = parseIp(msg.address.host);
  if (ip === undefined) {
    throw new InvalidArgumentError('ERR_INVALID_ADDRESS', `not an IP literal: ${msg.address.host}`);
  }
  const out = new Uint8Array(2 + ip.length + 2 + 4);
  const view = new DataView(out.buffer);
  out[0] = msg.type;
  out[1] = ip.length === 4 ? 0 : 1;
  out.set(ip, 2);
  view.setUint16(2 + ip.length, msg.address.port);
  view.setUint32(4 + ip.length, msg.error >>> 0);
  return out;
}

/** Decode a ut_holepunch payload; undefined when malformed. */
export function decodeHolepunch(payload: Uint8Array): HolepunchMessage | undefined {
  if (payload.length < 2) return undefined;
  const type = payload[0]!;
  const addrType = payload[1]!;
  if (type > HolepunchType.Error || addrType > 1) return undefined;
  const ipLength = addrType === 0 ? 4 : 16;
  const withoutError = 2 + ipLength + 2;
  const withError = withoutError + 4;
  if (payload.length !== withError && !(payload.length === withoutError && type !== HolepunchType.Error)) {
    return undefined;
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const port = view.getUint16(2 + ipLength);
  if (port === 0) return undefined;
  const error = payload.length === withError ? view.getUint32(withoutError) : 0;
  if (type === HolepunchType.Error && (error < HolepunchError.NoSuchPeer || error > HolepunchError.NoSelf)) {
    return undefined;
  }
  return {
    type: type as HolepunchType,
    address: { host: formatIp(payload.subarray(2, 2 + ipLength)), port },
    error: type === HolepunchType.Error ? error : 0
  };
}

export type UtHolepunchEvents = {
  /** The remote asks us, its relay, to introduce it to `target`. */
  rendezvous: [target: Address];
  /** A relay tells us to dial `peer` over uTP now (it is dialing us too). */
  connect: [peer: Address];
  /** Our rendezvous for `target` failed. */
  error: [target: Address, code: number];
};

export interface UtHolepunchOptions {
  /** Messages acted on per minute from this peer; more are ignored. Default 20. */
  maxPerMinute?: number;
}

export class UtHolepunch extends TypedEmitter<UtHolepunchEvents> implements WireExtension {
  readonly name = 'ut_holepunch';
  /** Messages ignored: malformed, unannounced, or over the rate limit. */
  ignoredMessages = 0;
  private ctx: ExtensionContext | undefined;
  private recent: number[] = [];
  private readonly maxPerMinute: number;

  constructor(options: UtHolepunchOptions = {}) {
    super();
    this.maxPerMinute = options.maxPerMinute ?? 20;
  }

  /** The remote announced ut_holepunch. */
  get supported(): boolean {
    return this.ctx?.remoteSupports ?? false;
  }

  /** Ask the remote (a relay) to introduce us to `target`. */
  rendezvous(target: Address): boolean {
    return this.send({ type: HolepunchType.Rendezvous, address: target, error: 0 });
  }

  /** Tell the remote to dial `peer` (we are relaying). */
  connect(peer: Address): boolean {
    return this.send({ type: HolepunchType.Connect, address: peer, error: 0 });
  }

  /** Tell the remote its rendezvous for `target` failed. */
  error(target: Address, code: HolepunchError): boolean {
    return this.send({ type: HolepunchType.Error, address: target, error: code });
  }

  attach(ctx: ExtensionContext): void {
    this.ctx = ctx;
  }

  onHandshake(): void {}

  onMessage(payload: Uint8Array): void {
    const ctx = this.ctx;
    const msg = decodeHolepunch(payload);
    if (!ctx || !ctx.remoteSupports || !msg) {
      this.ignoredMessages++;
      return;
    }
    const now = ctx.clock.now();
    this.recent = this.recent.filter((t) => now - t < 60_000);
    if (this.recent.length >= this.maxPerMinute) {
      this.ignoredMessages++;
      return;
    }
    this.recent.push(now);
    if (msg.type === HolepunchType.Rendezvous) this.emit('rendezvous', msg.address);
    else if (msg.type === HolepunchType.Connect) this.emit('connect', msg.address);
    else this.emit('error', msg.address, msg.error);
  }

  private send(msg: HolepunchMessage): boolean {
    const ctx = this.ctx;
    if (!ctx || !ctx.remoteSupports) return false;
    return ctx.send(encodeHolepunch(msg));
  }
}
