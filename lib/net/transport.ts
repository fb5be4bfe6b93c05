/**
 * The datagram transport the DHT and uTP run on. Two implementations: UDP (udp-transport.ts, the only
 * file importing node:dgram) and the in-memory simulated network (sim-network.ts).
 */
import type { Address } from './address.js';

export type DatagramHandler = (data: Uint8Array, from: Address) => void;

export interface Transport {
  /** Send one datagram. Never throws for network reasons (errors are reported via onError). */
  send(data: Uint8Array, to: Address): void;
  /**
   * Send one datagram gathered from `parts` in order (scatter-gather: a header and views of
   * payload go out without being copied into one buffer first). Same contract as `send`; the
   * parts must not change until the datagram has left (UDP: until the call returns or its
   * queued send completes, so callers treat sent parts as frozen).
   */
  sendv(parts: readonly Uint8Array[], to: Address): void;
  /** Set the single receive handler. */
  onMessage(handler: DatagramHandler): void;
  /** Report asynchronous socket errors (e.g. ICMP-driven send errors). */
  onError(handler: (err: Error) => void): void;
  /** The bound local address. */
  address(): Address;
  /** Close the socket; resolves once nothing is left open. */
  close(): Promise<void>;
}
