/**
 * Several protocols on one datagram socket (libtorrent runs its DHT and uTP on one UDP port):
 * each incoming datagram goes to the channel `classify` names, and every channel is a
 * `Transport` of its own whose sends leave through the shared socket. The classifier belongs to
 * the caller (the DHT/uTP split reads the first byte: KRPC is bencode and starts with 'd', uTP's
 * first byte carries version 1; see utp/packet.ts `looksLikeUtp`), so this file knows no
 * protocol.
 *
 * Ownership: closing a channel detaches it; the shared transport is closed once every channel
 * is. So each protocol's owner closes its channel as it would close a socket of its own (the
 * DHT closes its transport on destroy), and the socket goes when the last one does. Socket
 * errors, send errors included, are reported to every channel (each looks for what it sent to
 * the failing address).
 */
import type { Address } from './address.js';
import type { DatagramHandler, Transport } from './transport.js';

class Channel implements Transport {
  handler: DatagramHandler | null = null;
  errorHandler: ((err: Error) => void) | null = null;
  closed = false;

  constructor(
    private readonly base: Transport,
    private readonly onClosed: () => Promise<void>
  ) {}

  send(data: Uint8Array, to: Address, unchecked?: boolean): void {
    if (!this.closed) this.base.send(data, to, unchecked);
  }

  sendv(parts: readonly Uint8Array[], to: Address, unchecked?: boolean): void {
    if (!this.closed) this.base.sendv(parts, to, unchecked);
  }

  onMessage(handler: DatagramHandler): void {
    this.handler = handler;
  }

  onError(handler: (err: Error) => void): void {
    this.errorHandler = handler;
  }

  address(): Address {
    return this.base.address();
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.handler = null;
    return this.onClosed();
  }
}

/**
 * Split `base` into one Transport per key. Datagrams are routed by `classify`; a datagram for a
 * closed channel, or one without a handler yet, is dropped.
 */
export function demuxTransport<K extends string>(
  base: Transport,
  keys: readonly K[],
  classify: (data: Uint8Array) => K
): Record<K, Transport> {
  const channels = new Map<K, Channel>();
  let baseClosing: Promise<void> | null = null;
  const closeIfLast = (): Promise<void> => {
    if ([...channels.values()].some((c) => !c.closed)) return Promise.resolve();
    baseClosing ??= base.close();
    return baseClosing;
  };
  for (const k of keys) channels.set(k, new Channel(base, closeIfLast));
  base.onMessage((data, from) => {
    const channel = channels.get(classify(data));
    if (channel !== undefined && !channel.closed) channel.handler?.(data, from);
  });
  base.onError((err) => {
    for (const c of channels.values()) if (!c.closed) c.errorHandler?.(err);
  });
  const out = {} as Record<K, Transport>;
  for (const [k, c] of channels) out[k] = c;
  return out;
}
