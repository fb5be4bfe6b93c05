/**
 * The DHT's protections against hostile and half-dead networks (issue 8), resolved from the
 * options in one place, each with its default:
 *
 * - inbound limits (rpc/inbound-limiter.ts): per-IP rate, bans, global cap;
 * - IP diversity (routing/ip-diversity.ts): per-IP and per-subnet limits in the routing table
 *   and in each lookup;
 * - BEP 42 (id/bep42.ts): our id follows our voted external IP; lookups count only compliant
 *   nodes towards their k closest and announce to compliant nodes first;
 * - an outbound byte budget: replies stop while it is spent.
 *
 * `exempt` names the addresses the per-address limits leave alone (default loopback, see
 * net/ip-class.ts); BEP 42 always exempts every local address, as the BEP says.
 */
import type { ExemptScope } from '../net/ip-class.js';
import { INBOUND_LIMITS_DEFAULTS, type InboundLimitsOptions } from '../rpc/inbound-limiter.js';
import { IP_DIVERSITY_DEFAULTS, type IpDiversityOptions } from '../routing/ip-diversity.js';
import { withDefaults } from '../util/defaults.js';

/** Default outbound budget, bytes/s: ~2 Mbit/s, far above a DHT node's usual few KB/s. */
export const DEFAULT_MAX_BYTES_PER_SECOND = 256 * 1024;

export interface ProtectionOptions {
  /** Addresses the per-address limits leave alone: 'none', 'loopback' (default) or 'local'. */
  exempt?: ExemptScope;
  /** Inbound limits; `false` turns them off. */
  inboundLimits?: InboundLimitsOptions | false;
  /** IP diversity in the routing table and lookups; `false` turns it off. */
  ipDiversity?: IpDiversityOptions | false;
  /** BEP 42 node ids and preference for verified nodes (default true). */
  bep42?: boolean;
  /** Outbound byte budget, bytes/s (default 256 KiB/s; 0 = unlimited). */
  maxBytesPerSecond?: number;
}

export interface Protections {
  readonly inbound: Readonly<Required<InboundLimitsOptions>> | null;
  readonly diversity: Readonly<Required<IpDiversityOptions>> | null;
  readonly bep42: boolean;
  readonly maxBytesPerSecond: number;
}

/** What a node with no protection options gets: one shared object, not a copy per node. */
const DEFAULT_PROTECTIONS: Protections = Object.freeze({
  inbound: INBOUND_LIMITS_DEFAULTS,
  diversity: Object.freeze({ ...IP_DIVERSITY_DEFAULTS }),
  bep42: true,
  maxBytesPerSecond: DEFAULT_MAX_BYTES_PER_SECOND
});

export function resolveProtections(o: ProtectionOptions): Protections {
  const exempt = o.exempt ?? 'loopback';
  const resolved: Protections = {
    inbound:
      o.inboundLimits === false
        ? null
        : withDefaults(INBOUND_LIMITS_DEFAULTS, {
            ...o.inboundLimits,
            exempt: o.inboundLimits?.exempt ?? exempt
          }),
    diversity:
      o.ipDiversity === false
        ? null
        : withDefaults(DEFAULT_PROTECTIONS.diversity!, {
            ...o.ipDiversity,
            exempt: o.ipDiversity?.exempt ?? exempt
          }),
    bep42: o.bep42 ?? true,
    maxBytesPerSecond:
      o.maxBytesPerSecond === 0 ? Infinity : (o.maxBytesPerSecond ?? DEFAULT_MAX_BYTES_PER_SECOND)
  };
  const d = DEFAULT_PROTECTIONS;
  const isDefault =
    resolved.inbound === d.inbound &&
    resolved.diversity === d.diversity &&
    resolved.bep42 === d.bep42 &&
    resolved.maxBytesPerSecond === d.maxBytesPerSecond;
  return isDefault ? d : resolved;
}
