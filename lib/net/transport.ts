/**
 * The datagram transport the DHT and uTP run on. Two implementations: UDP (udp-transport.ts, the only
 * file importing node:dgram) and the in-memory simulated network (sim-network.ts).
 */
import type { Address } from './address.js';

export type DatagramHandler = (data: Uint8Array, from: Address) => void;

export interface Transport {
  /**
   * Send one datagram. Never throws for network reasons: a send the system refuses is reported
   * through onError as a SendError naming the destination (lib/errors.ts). `unchecked`: the
   * refusal may go unreported; a hot path saves the per-datagram completion work that reporting
   * costs in Node (up to ~6 % of a send's CPU) and checks a sample of its datagrams instead.
   */
  send(data: Uint8Array, to: Address, unchecked?: boolean): void;
  /**
   * Send one datagram gathered from `parts` in order (scatter-gather: a header and views of
   * payload go out without being copied into one buffer first). Same contract as `send`; the
   * parts must not change until the datagram has left (UDP: until the call returns or its
   * queued send completes, so callers treat sent parts as frozen).
   */
  sendv(parts: readonly Uint8Array[], to: Address, unchecked?: boolean): void;
  /** Set the single receive handler. */
  onMessage(handler: DatagramHandler): void;
  /** Report socket errors: a SendError for a send the system refused, other Errors otherwise. */
  onError(handler: (err: Error) => void): void;
  /** The bound local address. */
  address(): Address;
  /** Close the socket; resolves once nothing is left open. */
  close(): Promise<void>;
}
