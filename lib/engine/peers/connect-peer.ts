/**
 * Dialing a peer: which transport (TCP, uTP, in the order the policy says, the second joining
 * when the first fails or is slow to answer), then the encryption policy on the connection (plaintext, or a Message Stream
 * Encryption handshake first for 'preferred' and 'required').
 */
import { AbortError, TimeoutError } from '../../errors.js';
import type { Address } from '../../net/address.js';
import type { PeerTransport, WireStream } from '../../net/stream.js';
import { connectTcp, CONNECT_TIMEOUT_MS, type ConnectOptions } from '../../net/tcp.js';
import { systemClock, type TimerHandle } from '../../util/clock.js';
import { DEFAULT_ENCRYPTION, dialsEncrypted, mseInitiate, type EncryptionPolicy } from '../../wire/mse.js';
import type { TcpOnlyPeers } from './tcp-only-peers.js';

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
/**
 * How long the first transport of 'utp-first' / 'tcp-first' has before the second is dialed
 * beside it, ms. Most peers answer a uTP SYN well within this; one that has no uTP answers
 * nothing, and TCP is tried after this rather than after the uTP timeout (libtorrent waits
 * the whole utp_connect_timeout).
 */
export const TRANSPORT_HEAD_START_MS = 750;

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
  /** Dials TCP. Default `connectTcp` (tests give their own). */
  tcp?: (address: Address, options: ConnectOptions) => Promise<WireStream>;
  /**
   * What the peer said about uTP (BEP 11 PEX flag): false puts TCP first under 'utp-first'
   * (uTP stays the fallback). Undefined: unknown.
   */
  utpHint?: boolean;
  /**
   * Peers whose uTP went unanswered while TCP connected: dialed TCP first (overriding
   * `utpHint`), and updated by this dial's outcome.
   */
  tcpOnly?: TcpOnlyPeers;
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
 * Dial a peer for `infoHash`: the transports in the policy's order, then plaintext
 * ('disabled', 'enabled') or MSE with RC4 first ('preferred': on failure redial in plaintext
 * over the same transport; 'required': no fallback). The stream's `transport` tells which one
 * connected.
 *
 * With two transports the second does not wait for the first to fail: it starts when the first
 * fails or, if the first has not connected after TRANSPORT_HEAD_START_MS, beside it ('both': at
 * once), and the first to connect (encryption included) wins; the other is closed. So a peer
 * without uTP costs the head start under 'utp-first' (not the uTP timeout), and a uTP peer
 * still connects over uTP: its answer arrives before TCP is even tried.
 */
export async function connectPeer(
  address: Address,
  infoHash: Uint8Array,
  options: PeerDialOptions = {}
): Promise<WireStream> {
  const hint = options.tcpOnly?.has(address) ? false : options.utpHint;
  const order = dialOrder(options.transport ?? DEFAULT_TRANSPORT, options.utp !== undefined, hint);
  if (order.length === 1) return dialOver(order[0]!, address, infoHash, options, {});
  const headStartMs = options.transport === 'both' ? 0 : TRANSPORT_HEAD_START_MS;
  const { stream, utpUnanswered } = await race(order[0]!, order[1]!, headStartMs, address, infoHash, options);
  if (stream.transport === 'utp') options.tcpOnly?.forget(address);
  // Only a uTP dial that had its head start says the peer does not answer uTP.
  else if (utpUnanswered && order[0] === 'utp' && headStartMs > 0) options.tcpOnly?.remember(address);
  return stream;
}

/** A race's winner, and whether a uTP dial in it went unanswered (timed out, or still waiting). */
interface RaceResult {
  stream: WireStream;
  utpUnanswered: boolean;
}

/**
 * `first`, then `second` when `first` fails or has not connected (transport level, before
 * encryption) within `headStartMs`; the first stream to come out wins, a later one is closed.
 * A uTP dial that was refused (RESET: the peer has uTP) or never started is not "unanswered".
 */
function race(
  first: PeerTransport,
  second: PeerTransport,
  headStartMs: number,
  address: Address,
  infoHash: Uint8Array,
  options: PeerDialOptions
): Promise<RaceResult> {
  const clock = options.clock ?? systemClock;
  const losers = new AbortController();
  const onAbort = (): void => losers.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const shared = { ...options, signal: losers.signal };
  return new Promise<RaceResult>((resolve, reject) => {
    let settled = false;
    /** The uTP dial: not started, waiting, connected, timed out, or failed otherwise. */
    let utp: 'idle' | 'waiting' | 'open' | 'timeout' | 'failed' = 'idle';
    let pending = 0;
    let secondStarted = false;
    let headStart: TimerHandle | null = null;
    const settle = (stream: WireStream | null, err?: unknown): void => {
      settled = true;
      headStart?.cancel();
      losers.abort();
      options.signal?.removeEventListener('abort', onAbort);
      if (stream !== null) resolve({ stream, utpUnanswered: utp === 'waiting' || utp === 'timeout' });
      else reject(options.signal?.aborted ? new AbortError() : err);
    };
    const start = (transport: PeerTransport, how: DialHow): void => {
      pending++;
      if (transport === 'utp') utp = 'waiting';
      const onOpen = how.onOpen;
      const opened = (): void => {
        if (transport === 'utp') utp = 'open';
        onOpen?.();
      };
      dialOver(transport, address, infoHash, shared, { ...how, onOpen: opened }).then(
        (stream) => {
          pending--;
          if (settled) stream.close();
          else settle(stream);
        },
        (err: unknown) => {
          pending--;
          if (transport === 'utp' && utp === 'waiting')
            utp = err instanceof TimeoutError ? 'timeout' : 'failed';
          if (settled) return;
          if (options.signal?.aborted) settle(null, err);
          else if (!secondStarted) startSecond();
          else if (pending === 0) settle(null, err);
        }
      );
    };
    const startSecond = (): void => {
      if (secondStarted || settled) return;
      secondStarted = true;
      headStart?.cancel();
      headStart = null;
      start(second, {});
    };
    start(first, {
      // uTP with TCP behind it gives up early (see UTP_FALLBACK_TIMEOUT_MS); TCP keeps its own.
      fallback: headStartMs > 0,
      onOpen: () => {
        headStart?.cancel();
        headStart = null;
      }
    });
    if (settled) return;
    if (headStartMs === 0) startSecond();
    else if (!secondStarted) headStart = clock.setTimeout(startSecond, headStartMs);
  });
}

interface DialHow {
  /** A uTP dial with another transport behind it: the shorter timeout. */
  fallback?: boolean;
  /** Called when the transport connected, before any encryption handshake. */
  onOpen?: () => void;
}

/** One transport, then the encryption policy. */
async function dialOver(
  transport: PeerTransport,
  address: Address,
  infoHash: Uint8Array,
  options: PeerDialOptions,
  how: DialHow
): Promise<WireStream> {
  // A plaintext TCP stream reads into the shared buffer (no allocation per read): the wire
  // copies what it keeps and the downloader copies blocks as they arrive. The MSE handshake
  // keeps raw chunks, so an encrypted dial reads as usual.
  const open = async (plaintext: boolean): Promise<WireStream> => {
    let stream: WireStream;
    if (transport === 'tcp') {
      stream = await (options.tcp ?? connectTcp)(address, { ...options, reuseReadBuffer: plaintext });
    } else {
      const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS;
      stream = await options.utp!.connect(address, {
        timeoutMs: how.fallback ? Math.min(timeoutMs, UTP_FALLBACK_TIMEOUT_MS) : timeoutMs,
        ...(options.signal ? { signal: options.signal } : {})
      });
    }
    how.onOpen?.();
    return stream;
  };
  const policy = options.encryption ?? DEFAULT_ENCRYPTION;
  if (!dialsEncrypted(policy)) return open(true);
  const raw = await open(false);
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
    return open(true);
  }
}
