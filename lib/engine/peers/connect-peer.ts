/**
 * Dialing a peer: which transport (TCP, uTP, in the order the policy says, falling back when
 * one fails), then the encryption policy on the connection (plaintext, or a Message Stream
 * Encryption handshake first for 'preferred' and 'required').
 */
import { AbortError } from '../../errors.js';
import type { Address } from '../../net/address.js';
import type { PeerTransport, WireStream } from '../../net/stream.js';
import { connectTcp, CONNECT_TIMEOUT_MS, type ConnectOptions } from '../../net/tcp.js';
import { DEFAULT_ENCRYPTION, dialsEncrypted, mseInitiate, type EncryptionPolicy } from '../../wire/mse.js';

/**
 * Which transports to dial, in which order: one only ('tcp', 'utp'), one then the other when it
 * fails ('utp-first', 'tcp-first'), or both at once keeping the first connected ('both').
 */
export type TransportPolicy = 'tcp' | 'utp' | 'tcp-first' | 'utp-first' | 'both';
export const TRANSPORT_POLICIES: readonly TransportPolicy[] = [
  'tcp',
  'utp',
  'tcp-first',
  'utp-first',
  'both'
];
/**
 * uTP first, as libtorrent dials (most of the swarm speaks it, and LEDBAT yields to the user's
 * other traffic); TCP when uTP fails.
 */
export const DEFAULT_TRANSPORT: TransportPolicy = 'utp-first';
/**
 * How long a uTP dial may take when TCP is the fallback, ms (libtorrent's utp_connect_timeout):
 * a peer with no uTP socket answers nothing (no ICMP reaches an unconnected UDP socket), so
 * this is what such a peer costs before TCP is tried.
 */
export const UTP_FALLBACK_TIMEOUT_MS = 3_000;

/** Dials uTP (utp/socket.ts UtpSocket). */
export interface UtpDialer {
  connect(address: Address, options: { signal?: AbortSignal; timeoutMs?: number }): Promise<WireStream>;
}

export interface PeerDialOptions extends ConnectOptions {
  encryption?: EncryptionPolicy;
  /** Default DEFAULT_TRANSPORT when `utp` is given; TCP only without it. */
  transport?: TransportPolicy;
  /** The uTP socket to dial from; without it only TCP is dialed. */
  utp?: UtpDialer;
  /**
   * What the peer said about uTP (BEP 11 PEX flag): false puts TCP first under 'utp-first'
   * (uTP stays the fallback). Undefined: unknown.
   */
  utpHint?: boolean;
}

/** The transports to try for a peer, in order ('both': all at once). */
export function dialOrder(
  policy: TransportPolicy,
  hasUtp: boolean,
  utpHint: boolean | undefined
): PeerTransport[] {
  if (!hasUtp || policy === 'tcp') return ['tcp'];
  if (policy === 'utp') return ['utp'];
  if (policy === 'tcp-first' || (policy === 'utp-first' && utpHint === false)) return ['tcp', 'utp'];
  return ['utp', 'tcp'];
}

/**
 * Dial a peer for `infoHash`: the transports in the policy's order (the next one when one
 * fails, except on abort), then plaintext ('disabled', 'enabled') or MSE with RC4 first
 * ('preferred': on failure redial in plaintext over the same transport; 'required': no
 * fallback). The stream's `transport` tells which one connected.
 */
export async function connectPeer(
  address: Address,
  infoHash: Uint8Array,
  options: PeerDialOptions = {}
): Promise<WireStream> {
  const order = dialOrder(options.transport ?? DEFAULT_TRANSPORT, options.utp !== undefined, options.utpHint);
  if (options.transport === 'both' && order.length === 2) return race(address, infoHash, options);
  let failure: unknown;
  for (let i = 0; i < order.length; i++) {
    const fallback = i < order.length - 1;
    try {
      return await dialOver(order[i]!, address, infoHash, options, fallback);
    } catch (err) {
      if (options.signal?.aborted || err instanceof AbortError) throw err;
      failure = err;
    }
  }
  throw failure;
}

/** Both transports at once: the first to connect (encryption included) wins, the other is closed. */
async function race(address: Address, infoHash: Uint8Array, options: PeerDialOptions): Promise<WireStream> {
  const losers = new AbortController();
  const onAbort = (): void => losers.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const dials = (['utp', 'tcp'] as const).map((t) =>
    dialOver(t, address, infoHash, { ...options, signal: losers.signal }, false)
  );
  try {
    const winner = await Promise.any(dials);
    // A dial that connects after the winner is closed at once.
    for (const d of dials)
      void d.then(
        (s) => s !== winner && s.close(),
        () => {}
      );
    return winner;
  } catch (err) {
    if (options.signal?.aborted) throw new AbortError();
    throw (err as AggregateError).errors[0];
  } finally {
    losers.abort();
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** One transport, then the encryption policy. */
async function dialOver(
  transport: PeerTransport,
  address: Address,
  infoHash: Uint8Array,
  options: PeerDialOptions,
  fallback: boolean
): Promise<WireStream> {
  const open = (): Promise<WireStream> => {
    if (transport === 'tcp') return connectTcp(address, options);
    const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS;
    return options.utp!.connect(address, {
      timeoutMs: fallback ? Math.min(timeoutMs, UTP_FALLBACK_TIMEOUT_MS) : timeoutMs,
      ...(options.signal ? { signal: options.signal } : {})
    });
  };
  const policy = options.encryption ?? DEFAULT_ENCRYPTION;
  if (!dialsEncrypted(policy)) return open();
  const raw = await open();
  try {
    const { stream } = await mseInitiate(raw, {
      infoHash,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.signal ? { signal: options.signal } : {})
    });
    return stream;
  } catch (err) {
    if (policy === 'required' || options.signal?.aborted) throw err;
    return open();
  }
}
