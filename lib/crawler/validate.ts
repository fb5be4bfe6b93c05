/**
 * Sanity checks on a `sample_infohashes` reply before the crawler believes any of it.
 *
 * The codec already rejects structurally broken datagrams (non-bencode, `samples` not a
 * multiple of 20 bytes, negative integers, > 1500 bytes). What is left is input that parses but
 * makes no sense; a node sending it is either broken or lying, so the crawler drops the reply
 * (or the offending part) and counts why. Dropping is cheap: every infohash is held by ~8
 * nodes, so one bad node costs no coverage.
 */
import { ID_LENGTH } from '../constants.js';
import { isIpLiteral } from '../net/address.js';
import type { NodeInfo } from '../krpc/types.js';
import type { SampleReply } from './types.js';

/** BEP 51: "The permissible range is between 0 and 21600 seconds (inclusive)". */
export const MAX_SAMPLE_INTERVAL_S = 21_600;

/**
 * Most samples a reply can honestly carry: a 1500-byte datagram (our receive cap) minus the
 * KRPC envelope holds at most 73 infohashes; BEP 32 senders stay under 1024 bytes (~48).
 */
export const MAX_SAMPLES_RECEIVED = 73;

/** More `nodes` than this in one reply is not a Kademlia reply (k = 8; 16 allows nodes+nodes6). */
export const MAX_NODES_PER_REPLY = 16;

/**
 * Largest `num` we believe. libtorrent stores at most a few thousand infohashes by default; a
 * node claiming billions wants to be revisited forever, so it is treated as lying.
 */
export const MAX_PLAUSIBLE_NUM = 10_000_000;

/** Why a reply was dropped. */
export type RejectReason = 'bad-id' | 'too-many-samples' | 'bad-sample' | 'lying-num';

/** Something wrong that was repaired (the reply is still used). */
export type AnomalyKind =
  | 'duplicate-samples'
  | 'missing-num'
  | 'missing-interval'
  | 'interval-out-of-range'
  | 'bad-node'
  | 'too-many-nodes';

export interface CleanReply {
  /** False when `samples` was absent: the node answered but does not implement BEP 51. */
  supported: boolean;
  /** Distinct, well-formed infohashes. */
  samples: Uint8Array[];
  num: number;
  /** Clamped to 0..MAX_SAMPLE_INTERVAL_S; missing = the maximum (the cautious reading). */
  intervalS: number;
  nodes: NodeInfo[];
  anomalies: AnomalyKind[];
}

export type SanitizeResult =
  { ok: true; reply: CleanReply } | { ok: false; reason: RejectReason; nodes: NodeInfo[] };

export interface SanitizeOptions {
  /** Addresses never to add to the frontier (ourselves, bogons...). */
  acceptNode?: (node: NodeInfo) => boolean;
}

export function sanitizeReply(reply: SampleReply, opts: SanitizeOptions = {}): SanitizeResult {
  const anomalies: AnomalyKind[] = [];
  const nodes = cleanNodes(reply.nodes, anomalies, opts.acceptNode);
  if (!(reply.id instanceof Uint8Array) || reply.id.length !== ID_LENGTH)
    return { ok: false, reason: 'bad-id', nodes: [] };

  const supported = reply.samples !== undefined;
  const raw = reply.samples ?? [];
  // Nodes of a reply dropped for its samples are still usable leads: the lie is in the
  // samples, and a node's neighbours are checked when we reach them.
  if (raw.length > MAX_SAMPLES_RECEIVED) return { ok: false, reason: 'too-many-samples', nodes };
  const seen = new Set<string>();
  const samples: Uint8Array[] = [];
  for (const s of raw) {
    if (!(s instanceof Uint8Array) || s.length !== ID_LENGTH)
      return { ok: false, reason: 'bad-sample', nodes };
    const key = Buffer.from(s.buffer, s.byteOffset, s.byteLength).toString('latin1');
    if (seen.has(key)) continue;
    seen.add(key);
    samples.push(s);
  }
  if (samples.length !== raw.length) anomalies.push('duplicate-samples');

  let num = reply.num;
  if (num === undefined) {
    if (supported) anomalies.push('missing-num');
    num = samples.length;
  }
  // `num` counts what the node stores; it cannot be below what it just sent us.
  if (!Number.isSafeInteger(num) || num < samples.length || num > MAX_PLAUSIBLE_NUM) {
    return { ok: false, reason: 'lying-num', nodes };
  }

  let intervalS = reply.interval;
  if (intervalS === undefined || !Number.isFinite(intervalS) || intervalS < 0) {
    if (supported) anomalies.push('missing-interval');
    intervalS = MAX_SAMPLE_INTERVAL_S;
  } else if (intervalS > MAX_SAMPLE_INTERVAL_S) {
    anomalies.push('interval-out-of-range');
    intervalS = MAX_SAMPLE_INTERVAL_S;
  }
  return { ok: true, reply: { supported, samples, num, intervalS, nodes, anomalies } };
}

function cleanNodes(
  input: NodeInfo[] | undefined,
  anomalies: AnomalyKind[],
  accept?: (n: NodeInfo) => boolean
): NodeInfo[] {
  const list = Array.isArray(input) ? input : [];
  if (list.length > MAX_NODES_PER_REPLY) anomalies.push('too-many-nodes');
  const out: NodeInfo[] = [];
  let bad = false;
  for (const n of list.slice(0, MAX_NODES_PER_REPLY)) {
    const wellFormed =
      n.id instanceof Uint8Array &&
      n.id.length === ID_LENGTH &&
      Number.isInteger(n.port) &&
      n.port >= 1 &&
      n.port <= 65535 &&
      typeof n.host === 'string' &&
      isIpLiteral(n.host);
    if (!wellFormed) bad = true;
    // Filtered nodes (e.g. ourselves: others rightly list us) are normal, not an anomaly.
    else if (accept?.(n) ?? true) out.push(n);
  }
  if (bad) anomalies.push('bad-node');
  return out;
}
