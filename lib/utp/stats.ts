/**
 * Counters of one uTP socket (all its connections). Monotonic totals, for tests, benchmarks and
 * operators: what came in, what went out, what was dropped and why.
 */
import type { MalformedReason } from './packet.js';

export interface UtpStats {
  packetsIn: number;
  packetsOut: number;
  /** Datagram bytes, headers included. */
  bytesIn: number;
  bytesOut: number;
  /** Application bytes delivered in order / first sent. */
  payloadIn: number;
  payloadOut: number;
  /** STATE packets (acks) sent. */
  acksOut: number;
  /** Packets retransmitted after a timeout or a fast-retransmit signal. */
  retransmits: number;
  fastRetransmits: number;
  /** Packets declared lost by time: sent before one that was acknowledged, and overdue. */
  lateLosses: number;
  /** Tail-loss probes: the oldest packet sent again after 2 round trips without an ack. */
  probes: number;
  timeouts: number;
  /** Connections ended because the system refused to send to their peer (no route, firewall). */
  unreachable: number;
  /** Datagrams that failed to decode, by reason. */
  malformed: Record<MalformedReason, number>;
  /** Decodable packets dropped by a connection (ack of something never sent, after FIN, ...). */
  invalid: number;
  duplicates: number;
  outOfOrder: number;
  /** Data too far ahead of the reorder buffer. */
  beyondWindow: number;
  resetsSent: number;
  resetsReceived: number;
  /** Resets we owed but did not send (rate limit). */
  resetsSuppressed: number;
  accepted: number;
  dialed: number;
  /** SYNs refused (limits, no listener, id in use). */
  synsRefused: number;
}

export function emptyUtpStats(): UtpStats {
  return {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    payloadIn: 0,
    payloadOut: 0,
    acksOut: 0,
    retransmits: 0,
    fastRetransmits: 0,
    lateLosses: 0,
    probes: 0,
    timeouts: 0,
    unreachable: 0,
    malformed: { short: 0, version: 0, type: 0, extension: 0, oversize: 0 },
    invalid: 0,
    duplicates: 0,
    outOfOrder: 0,
    beyondWindow: 0,
    resetsSent: 0,
    resetsReceived: 0,
    resetsSuppressed: 0,
    accepted: 0,
    dialed: 0,
    synsRefused: 0
  };
}
