/**
 * The Kademlia join of a started node: after an optional delay (many nodes started at once
 * spread their joins; the node answers queries meanwhile), look up our own id, then a random id
 * in every bucket still sparse, so the table fills on both sides of us.
 */
import type { RoutingTable } from '../routing/routing-table.js';
import type { NodeLookups } from './node-lookups.js';
import type { Clock } from '../util/clock.js';
import type { RandomSource } from '../util/random.js';
import { sleep } from '../util/abort.js';
import { randomIdWithPrefix } from '../id/node-id.js';
import { DestroyedError, TrackerlessError } from '../errors.js';

export interface JoinContext {
  readonly id: Uint8Array;
  readonly k: number;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly table: RoutingTable;
  readonly lookups: NodeLookups;
  /** Someone to ask: the bootstrap list is not empty. */
  readonly hasBootstrap: boolean;
  readonly delayMs: number;
  /** Aborted when the node is destroyed (ends the delay at once). */
  readonly signal: AbortSignal;
  readonly warn: (err: Error) => void;
}

export async function join(ctx: JoinContext): Promise<void> {
  if (ctx.delayMs > 0) await sleep(ctx.clock, ctx.delayMs, ctx.signal).catch(() => {});
  if (ctx.signal.aborted) throw new DestroyedError();
  if (ctx.hasBootstrap || ctx.table.size() > 0) {
    const result = await ctx.lookups.run(ctx.id, 'find_node', undefined, true);
    if (result.responses === 0 && !ctx.signal.aborted)
      ctx.warn(new TrackerlessError('ERR_TIMEOUT', 'bootstrap: no node answered'));
  }
  if (ctx.signal.aborted) throw new DestroyedError();
  refreshSparseBuckets(ctx);
}

/** Look up a random id in every sparse bucket farther than our neighbours. */
function refreshSparseBuckets(ctx: JoinContext): void {
  for (const prefix of ctx.table.sparseBuckets(Math.ceil(ctx.k / 2))) {
    ctx.table.touchBucket(prefix);
    ctx.lookups.run(randomIdWithPrefix(ctx.id, prefix, ctx.random), 'find_node').catch(() => {});
  }
}
