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
 * bucket bounds when an attacker rotates through many addresses. A source whose bucket has
 * refilled and that is not banned is forgotten as soon as a new one arrives (remembering it
 * would change nothing), so a node that hears from many sources now and then keeps only the
 * busy ones, and a node that hears from none holds no map at all.
 *
 * A flood is sorted per datagram with one map lookup and no allocation: the recency order
 * (Map insertion order) is refreshed at most once per REORDER_MS per source, since moving a
 * key (delete + set) at 100k datagrams/s makes V8 rebuild the map's table over and over.
 */
import type { Clock } from '../util/clock.js';
import { isExempt, type ExemptScope } from '../net/ip-class.js';
import { TokenBucket } from '../util/token-bucket.js';
import { EMPTY_MAP } from '../util/empty.js';
import { withDefaults } from '../util/defaults.js';

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

export const INBOUND_LIMITS_DEFAULTS: Readonly<Required<InboundLimitsOptions>> = Object.freeze({
  perIpRate: 20,
  perIpBurst: 40,
  banAfterDrops: 100,
  banMs: 5 * 60_000,
  maxTrackedIps: 10_000,
  globalRate: 2_000,
  exempt: 'loopback'
});

export type InboundVerdict = 'ok' | 'rate-limited' | 'banned' | 'overloaded';

/** How stale a source's place in the recency order may get, ms (eviction is LRU to this grain). */
const REORDER_MS = 1000;
/** Oldest sources checked (refilled ones forgotten) per new source: amortised, bounded work. */
const FORGET_PER_INSERT = 4;

interface Source {
  tokens: number;
  /** When `tokens` was last refilled. */
  at: number;
  /** When the source last moved to the young end of the recency order. */
  touched: number;
  /** Datagrams dropped since the last one let through. */
  drops: number;
  bannedUntil: number;
}

export class InboundLimiter {
  private readonly o: Readonly<Required<InboundLimitsOptions>>;
  /** Least recently heard first; the shared empty map until a limited source arrives. */
  private sources: ReadonlyMap<string, Source> = EMPTY_MAP;
  /** The global cap's bucket, made on first use (as full then as it would be); null: none yet. */
  private globalBucket: TokenBucket | null = null;
  private banned = 0;

  constructor(
    private readonly clock: Clock,
    opts: InboundLimitsOptions = {}
  ) {
    this.o = withDefaults(INBOUND_LIMITS_DEFAULTS, opts);
    // A rate of our caller's is checked now (the bucket throws on a bad one), not at first use.
    if (this.o !== INBOUND_LIMITS_DEFAULTS) this.global();
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
    const global = this.global();
    return !global || global.take(this.clock.now()) ? 'ok' : 'overloaded';
  }

  /** The bucket of all sources together; null when there is no global cap. */
  private global(): TokenBucket | null {
    const rate = this.o.globalRate;
    if (rate === Infinity) return null;
    return (this.globalBucket ??= new TokenBucket({
      ratePerSecond: rate,
      burst: rate,
      nowMs: this.clock.now()
    }));
  }

  private perIp(host: string): InboundVerdict {
    const now = this.clock.now();
    let s = this.sources.get(host);
    if (s === undefined) s = this.track(host, now);
    else if (now - s.touched >= REORDER_MS) {
      const own = this.sources as Map<string, Source>;
      own.delete(host);
      own.set(host, s);
      s.touched = now;
    }
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

  /**
   * Remember a new source, making room: refilled sources first, else the least recent. A banned
   * source met at the old end goes to the young end: a flooder banned and gone quiet would
   * otherwise hold one of the few places checked for the whole ban, and a handful of them would
   * stop refilled sources from being forgotten at all (the map then fills to its cap).
   */
  private track(host: string, now: number): Source {
    const own =
      this.sources === EMPTY_MAP ? new Map<string, Source>() : (this.sources as Map<string, Source>);
    this.sources = own;
    let checked = 0;
    for (const [key, old] of own) {
      if (checked++ >= FORGET_PER_INSERT) break;
      if (this.forgettable(old, now)) own.delete(key);
      else if (old.bannedUntil > now) {
        own.delete(key);
        own.set(key, old);
        old.touched = now;
      }
    }
    if (own.size >= this.o.maxTrackedIps) {
      const oldest = own.keys().next().value;
      if (oldest !== undefined) own.delete(oldest);
    }
    const s: Source = { tokens: this.o.perIpBurst, at: now, touched: now, drops: 0, bannedUntil: 0 };
    own.set(host, s);
    return s;
  }

  /** Would forgetting `s` change nothing? Not banned and its bucket full again. */
  private forgettable(s: Source, now: number): boolean {
    if (s.bannedUntil > now) return false;
    return s.tokens + ((now - s.at) * this.o.perIpRate) / 1000 >= this.o.perIpBurst;
  }
}
