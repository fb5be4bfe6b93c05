/**
 * One query whose outcome the routing table hears of: an answer marks the responder seen (through
 * admission, which may add it), a silence or a wrong id marks the node we meant failed, and the
 * address the reply says we have goes to the external-IP vote. Every query the node sends on its
 * own behalf (pings, lookups, puts) goes through here; the RPC layer below knows nothing of the
 * table.
 */
import { AbortError, DestroyedError, TrackerlessError } from '../errors.js';
import type { Address } from '../net/address.js';
import type { NodeInfo, Query, ResponseBody } from '../krpc/types.js';
import type { RpcSocket } from '../rpc/rpc-socket.js';
import type { Clock } from '../util/clock.js';
import { bytesEqual } from '../util/bytes.js';

/** What a tracked query needs from the node. */
export interface TrackedQueryHost {
  readonly rpc: RpcSocket;
  readonly clock: Clock;
  /** The node we meant did not answer, or answered with another id. */
  nodeFailed(id: Uint8Array): void;
  /** A node answered (admission decides whether the table takes it). */
  answered(node: NodeInfo, rtt: number): void;
  /** A reply told us the address it saw us at. */
  voteExternalIp(voter: string, reported: string): void;
}

export interface TrackedQueryOptions {
  signal?: AbortSignal | undefined;
  /** The id of the node we meant to reach: checked against the reply, failed on silence. */
  expectedId?: Uint8Array | undefined;
  timeoutMs?: number | undefined;
}

export async function trackedQuery(
  host: TrackedQueryHost,
  to: Address,
  query: Query,
  { signal, expectedId, timeoutMs }: TrackedQueryOptions = {}
): Promise<ResponseBody> {
  const { rpc } = host;
  const sentAt = host.clock.now();
  try {
    const opts = { ...(signal ? { signal } : {}), ...(timeoutMs ? { timeoutMs } : {}) };
    const { response, from, rtt } = await rpc.query(to, query, opts);
    const body = response.body;
    if (response.ip) host.voteExternalIp(from.host, response.ip.host);
    if (expectedId && !bytesEqual(expectedId, body.id)) {
      host.nodeFailed(expectedId);
      throw new TrackerlessError(
        'ERR_BAD_RESPONSE',
        `node ${from.host}:${from.port} answered with another id`
      );
    }
    host.answered({ id: body.id, host: from.host, port: from.port }, rtt);
    return body;
  } catch (err) {
    // A silence counts against the node only if others answered us meanwhile: when our own
    // link is down, every node looks dead and the table must not be emptied.
    if (
      expectedId &&
      !(err instanceof AbortError) &&
      !(err instanceof DestroyedError) &&
      rpc.lastResponseAt >= sentAt
    )
      host.nodeFailed(expectedId);
    throw err;
  }
}
