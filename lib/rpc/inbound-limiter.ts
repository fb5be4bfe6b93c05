/**
 * Inbound DHT limits, checked before a datagram is decoded (so a flood costs a map lookup,
 * not a bencode parse): a token bucket per source IP, a ban for IPs that keep sending far
 * over it, and one global bucket for the queries we serve from everyone together.
 *
 * Only unsolicited datagrams are charged (queries, and stray replies): the RPC socket lets
 * a reply through uncharged when it awaits one from that address, so our own lookups are
 * never throttled by the nodes they ask.
 *
 * Memory is bounded: at most `maxTrackedIps` sources are remembered (least recently heard
 * from forgotten first); a forgotten source starts again with a full bucket, which the global
 * bucket bounds when an attacker rotates through many addresses.
 */
import type { Clock } from '../util/clock.js';
import { isExempt, type ExemptScope } from '../net/ip-class.js';
import { TokenBucket } from '../util/token-bucket.js';

export interface InboundLimitsOptions {
  /** Unsolicited datagrams per second one IP may send (default 20). */
  perIpRate?: number;
  /** Datagrams one IP may send at once after a quiet spell (default 40). */
  perIpBurst?: number;
  /** Dropped datagrams in a row (none let through between) that get an IP banned (default 100). */
  banAfterDrops?: number;
  /** How long a banned IP is ignored, ms (default 5 min, libtorrent's dht_block_timeout). */
  banMs?: number;
  /** Source IPs remembered at once (default 10,000). */
  maxTrackedIps?: number;
  /** Unsolicited datagrams per second from all sources together (default 2,000). */
  globalRate?: number;
  /** Sources not limited per IP (default 'loopback'; the global cap still applies). */
  exempt?: ExemptScope;
}

export const INBOUND_LIMITS_DEFAULTS: Required<InboundLimitsOptions> = {
  perIpRate: 20,
  perIpBurst: 40,
  banAfterDrops: 100,
  banMs: 5 * 60_000,
  maxTrackedIps: 10_000,
  globalRate: 2_000,
  exempt: 'loopback'
};

export type InboundVerdict = 'ok' | 'rate-limited' | 'banned' | 'overloaded';

interface Source {
  tokens: number;
  at: number;
  /** Datagrams dropped since the last one let through. */
  drops: number;
  bannedUntil: number;
}

export class InboundLimiter {
  private readonly o: Required<InboundLimitsOptions>;
  private readonly sources = new Map<string, Source>();
  /** null: no global cap. */
  private readonly global: TokenBucket | null;
  private banned = 0;

  constructor(
    private readonly clock: Clock,
    opts: InboundLimitsOptions = {}
  ) {
    this.o = { ...INBOUND_LIMITS_DEFAULTS, ...opts };
    const rate = this.o.globalRate;
    this.global =
      rate === Infinity ? null : new TokenBucket({ ratePerSecond: rate, burst: rate, nowMs: clock.now() });
  }

  /** Sources currently remembered. */
  get tracked(): number {
    return this.sources.size;
  }

  /** Bans handed out so far. */
  get bans(): number {
    return this.banned;
  }

  /** May an unsolicited datagram from `host` be processed now? */
  admit(host: string): InboundVerdict {
    if (!isExempt(host, this.o.exempt)) {
      const verdict = this.perIp(host);
      if (verdict !== 'ok') return verdict;
    }
    return !this.global || this.global.take(this.clock.now()) ? 'ok' : 'overloaded';
  }

  private perIp(host: string): InboundVerdict {
    const now = this.clock.now();
    let s = this.sources.get(host);
    if (s) {
      this.sources.delete(host); // re-inserted below: Map order = least recently heard first
    } else {
      s = { tokens: this.o.perIpBurst, at: now, drops: 0, bannedUntil: 0 };
      if (this.sources.size >= this.o.maxTrackedIps) {
        const oldest = this.sources.keys().next().value;
        if (oldest !== undefined) this.sources.delete(oldest);
      }
    }
    this.sources.set(host, s);
    if (s.bannedUntil > now) return 'banned';
    const elapsed = now - s.at;
    if (elapsed > 0) {
      s.tokens = Math.min(this.o.perIpBurst, s.tokens + (elapsed * this.o.perIpRate) / 1000);
      s.at = now;
    }
    if (s.tokens >= 1) {
      s.tokens -= 1;
      s.drops = 0;
      return 'ok';
    }
    if (++s.drops >= this.o.banAfterDrops) {
      s.bannedUntil = now + this.o.banMs;
      s.drops = 0;
      this.banned++;
      return 'banned';
    }
    return 'rate-limited';
  }
}
