/**
 * IP diversity against Sybil attacks (libtorrent's `restrict_routing_ips` and
 * `restrict_search_ips`): one machine with many ports, or one subnet with many addresses,
 * must not fill a routing table or a lookup's closest set.
 *
 * - routing table: at most `maxPerIp` entries per IP address in the whole table, and at most
 *   `maxPerSubnetPerBucket` per /24 (IPv4) or /64 (IPv6) in one bucket;
 * - lookups: at most `maxPerSubnetPerLookup` candidates per /24 or /64 (nodes seeded from our
 *   own table are not counted: they passed the table's rules already).
 *
 * Addresses in the `exempt` scope are not limited (default: loopback, where test rigs and
 * local tools run many nodes on 127.0.0.1 and which no other machine can use as a source).
 */
import { isExempt, subnetKey, type ExemptScope, type SubnetKey } from '../net/ip-class.js';

export interface IpDiversityOptions {
  /** Entries per IP address in the routing table (default 1). */
  maxPerIp?: number;
  /** Entries per /24 or /64 in one routing-table bucket (default 1). */
  maxPerSubnetPerBucket?: number;
  /** Candidates per /24 or /64 in one lookup (default 1). */
  maxPerSubnetPerLookup?: number;
  /** Addresses not limited (default 'loopback'). */
  exempt?: ExemptScope;
}

export const IP_DIVERSITY_DEFAULTS: Required<IpDiversityOptions> = {
  maxPerIp: 1,
  maxPerSubnetPerBucket: 1,
  maxPerSubnetPerLookup: 1,
  exempt: 'loopback'
};

export class IpDiversity {
  readonly maxPerIp: number;
  readonly maxPerSubnetPerBucket: number;
  readonly maxPerSubnetPerLookup: number;
  private readonly exempt: ExemptScope;

  constructor(opts: IpDiversityOptions = {}) {
    const o = { ...IP_DIVERSITY_DEFAULTS, ...opts };
    this.maxPerIp = o.maxPerIp;
    this.maxPerSubnetPerBucket = o.maxPerSubnetPerBucket;
    this.maxPerSubnetPerLookup = o.maxPerSubnetPerLookup;
    this.exempt = o.exempt;
  }

  /** The subnet `host` counts against, or null when it is exempt. */
  subnetOf(host: string): SubnetKey | null {
    return isExempt(host, this.exempt) ? null : subnetKey(host);
  }

  /** Is `host` limited at all? */
  limits(host: string): boolean {
    return !isExempt(host, this.exempt);
  }
}
