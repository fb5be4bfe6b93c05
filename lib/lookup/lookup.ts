/**
 * One generic iterative Kademlia lookup; find_node, get_peers, announce, bootstrap and the
 * crawler are small functions on top of it with the query injected.
 *
 * Algorithm (Kademlia / BEP 5, with libtorrent's slow-query widening):
 * - Candidates are kept sorted by exact XOR distance to the target (bounded set).
 * - Up to `alpha` queries are "active" at once, always to the closest unqueried candidates
 *   among the `k` closest candidates that have not failed.
 * - A query that has not answered after `slowAfterMs` (per node: the caller derives it from
 *   measured round trips) stops counting against alpha, so the next candidate is asked (the
 *   search widens rather than waits). If the node is among the k closest it is asked once
 *   more at once, since a lost datagram is the common cause: that retry holds the lookup open
 *   for one more `slowAfterMs`. A node silent through both is "slow": it no longer holds the
 *   lookup open. Any late reply is still used while the lookup runs.
 * - Termination: the `k` closest candidates that have neither failed nor gone slow have all
 *   answered. Then nothing closer can be learned from live nodes: every one of them closer
 *   than the k-th responder has been asked.
 * - With `verified` (BEP 42), candidates whose id does not match their IP are still asked (their
 *   values count) but do not count towards the k, for up to k of them; the result lists
 *   verified responders first, so announces go to them.
 * - With `subnetOf`, at most `maxPerSubnet` learned candidates per subnet (libtorrent's
 *   restrict_search_ips); seeds and bootstrap nodes are not counted.
 * Each responder's token is kept for announce_peer.
 */
import { setMaxListeners } from 'node:events';
import type { Address } from '../net/address.js';
import type { NodeInfo } from '../krpc/types.js';
import type { SubnetKey } from '../net/ip-class.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { compareDistance } from '../id/node-id.js';
import { toHex } from '../util/bytes.js';
import { AbortError } from '../errors.js';
import { ALPHA, K } from '../constants.js';
import { formatAddress } from '../net/address.js';

/** What one queried node told us. */
export interface LookupReply {
  /** The responder's id as it reported it. */
  id: Uint8Array;
  nodes: NodeInfo[];
  token?: Uint8Array;
  values?: Address[];
}

/**
 * The injected query: ask `node` about the target (`attempt` is 1, or 2 for the retry).
 * Rejects on timeout/error; a rejection whose `code` is 'ERR_TIMEOUT' may be retried.
 */
export type LookupQuery = (
  node: Address & { id?: Uint8Array },
  signal: AbortSignal,
  attempt: number
) => Promise<LookupReply>;

export interface LookupOptions {
  target: Uint8Array;
  query: LookupQuery;
  clock: Clock;
  /** Known nodes to start from (usually the routing table's closest). */
  seeds: NodeInfo[];
  /** Addresses with unknown ids (bootstrap routers), all asked at the start (keep it short). */
  bootstrap?: readonly Address[];
  k?: number;
  alpha?: number;
  /** After this long a query no longer occupies an alpha slot nor holds the lookup open. */
  slowAfterMs?: number | ((node: NodeInfo) => number);
  /** Bound on remembered candidates (closest kept). */
  maxCandidates?: number;
  /** Hard cap on queries sent by this lookup. */
  maxQueries?: number;
  signal?: AbortSignal;
  /** Nodes never to query (ourselves, by id or address). */
  exclude?: (node: NodeInfo) => boolean;
  /** Called with each `values` list, as replies arrive. */
  onValues?: (values: Address[], from: NodeInfo) => void;
  /** BEP 42: does this node's id match its address? (Absent: every node counts.) */
  verified?: (node: NodeInfo) => boolean;
  /** The subnet a learned candidate counts against, null if unlimited. */
  subnetOf?: (node: NodeInfo) => SubnetKey | null;
  /** Learned candidates per subnet (default 1 when `subnetOf` is given). */
  maxPerSubnet?: number;
}

export interface LookupResponder {
  node: NodeInfo;
  token?: Uint8Array;
}

export interface LookupResult {
  /** Up to k closest nodes that answered, closest first, with their tokens. */
  closest: LookupResponder[];
  queries: number;
  responses: number;
  failures: number;
  /** Longest referral chain among the k closest responders (1 = a seed answered). */
  hops: number;
  durationMs: number;
  /** True when the caller's signal ended the lookup early. */
  aborted: boolean;
}

/** Queries per candidate: the first try and one retry when it is among the k closest. */
const MAX_ATTEMPTS = 2;

/**
 * new: not asked yet; active: asked, holds an alpha slot; retrying: asked again after a slow
 * first try, holds the lookup open but no alpha slot; slow: silent through its tries, holds
 * nothing (a late reply still counts); done: answered; failed: errored or timed out.
 */
type State = 'new' | 'active' | 'retrying' | 'slow' | 'done' | 'failed';

interface Candidate {
  node: NodeInfo;
  state: State;
  depth: number;
  attempts: number;
  /** Queries to it still in flight. */
  outstanding: number;
  /** Counts towards the k closest (BEP 42 compliant, or no check asked for). */
  verified: boolean;
  token?: Uint8Array;
}

export function runLookup(opts: LookupOptions): Promise<LookupResult> {
  return new Lookup(opts).run();
}

class Lookup {
  private readonly k: number;
  private readonly alpha: number;
  private readonly slowAfterMs: number | ((node: NodeInfo) => number);
  private readonly maxCandidates: number;
  private readonly maxQueries: number;
  private readonly candidates: Candidate[] = [];
  private readonly seen = new Set<string>();
  private readonly perSubnet = new Map<SubnetKey, number>();
  private readonly timers = new Set<TimerHandle>();
  private readonly controller = new AbortController();
  private readonly startedAt: number;
  private queries = 0;
  private responses = 0;
  private failures = 0;
  /** Bootstrap addresses holding the lookup open (not yet answered, failed or slow). */
  private bootstrapInflight = 0;
  /** Bootstrap addresses not yet answered or failed. */
  private bootstrapOutstanding = 0;
  private finished = false;
  private resolve: (r: LookupResult) => void = () => {};

  constructor(private readonly opts: LookupOptions) {
    this.k = opts.k ?? K;
    this.alpha = opts.alpha ?? ALPHA;
    this.slowAfterMs = opts.slowAfterMs ?? 1000;
    this.maxCandidates = opts.maxCandidates ?? Math.max(64, this.k * 8);
    this.maxQueries = opts.maxQueries ?? 1000;
    this.startedAt = opts.clock.now();
    // Every query in flight listens on this signal; on a half-dead network many are (bounded
    // by maxQueries), which is expected, not a leak.
    setMaxListeners(this.maxQueries + 16, this.controller.signal);
  }

  run(): Promise<LookupResult> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      const signal = this.opts.signal;
      if (signal?.aborted) return this.finish(true);
      signal?.addEventListener('abort', this.onAbort, { once: true });
      for (const node of this.opts.seeds) this.addCandidate(node, 1, true);
      for (const addr of this.opts.bootstrap ?? []) this.queryBootstrap(addr);
      this.step();
    });
  }

  private readonly onAbort = (): void => {
    this.controller.abort(new AbortError());
    this.finish(true);
  };

  private addCandidate(node: NodeInfo, depth: number, trusted = false): void {
    if (this.opts.exclude?.(node)) return;
    const idKey = toHex(node.id);
    const addrKey = formatAddress(node);
    if (this.seen.has(idKey) || this.seen.has(addrKey)) return;
    const subnet = trusted ? null : (this.opts.subnetOf?.(node) ?? null);
    if (subnet !== null && (this.perSubnet.get(subnet) ?? 0) >= (this.opts.maxPerSubnet ?? 1)) return;
    const list = this.candidates;
    // Binary search for the insertion point by exact distance.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareDistance(this.opts.target, list[mid]!.node.id, node.id) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= this.maxCandidates) return;
    this.seen.add(idKey);
    this.seen.add(addrKey);
    if (subnet !== null) this.perSubnet.set(subnet, (this.perSubnet.get(subnet) ?? 0) + 1);
    const verified = this.opts.verified?.(node) ?? true;
    list.splice(lo, 0, { node, state: 'new', depth, attempts: 0, outstanding: 0, verified });
    if (list.length > this.maxCandidates) {
      // Drop the farthest untouched candidate; active ones finish on their own.
      for (let i = list.length - 1; i >= this.maxCandidates; i--) {
        if (list[i]!.state === 'new') {
          list.splice(i, 1);
          break;
        }
      }
    }
  }

  private step(): void {
    if (this.finished) return;
    let active = this.bootstrapInflight;
    for (const c of this.candidates) if (c.state === 'active') active++;
    let considered = 0;
    let unverified = 0;
    let allDone = true;
    for (const c of this.candidates) {
      if (considered >= this.k) break;
      if (c.state === 'failed' || c.state === 'slow') continue;
      if (c.verified || unverified >= this.k) considered++;
      else unverified++;
      if (c.state === 'done') continue;
      allDone = false;
      if (c.state === 'new' && active < this.alpha && this.queries < this.maxQueries) {
        this.send(c);
        active++;
      }
    }
    // With nothing learned yet, wait for a slow bootstrap node rather than end empty-handed.
    const nothingYet = considered === 0 && unverified === 0 && this.bootstrapOutstanding > 0;
    const waiting =
      this.bootstrapInflight > 0 || nothingYet || this.candidates.some((c) => c.outstanding > 0);
    if ((allDone && this.bootstrapInflight === 0 && !nothingYet) || !waiting) this.finish(false);
  }

  private send(c: Candidate): void {
    c.state = c.attempts === 0 ? 'active' : 'retrying';
    c.attempts++;
    c.outstanding++;
    this.queries++;
    const slowAfter = typeof this.slowAfterMs === 'function' ? this.slowAfterMs(c.node) : this.slowAfterMs;
    const slowTimer = this.opts.clock.setTimeout(() => {
      this.timers.delete(slowTimer);
      if (this.finished || (c.state !== 'active' && c.state !== 'retrying')) return;
      // Ask a silent node among the k closest once more at once: a lost datagram is likelier
      // than a dead node, and the retry costs one round trip instead of a timeout.
      if (c.attempts < MAX_ATTEMPTS && this.rankAmongLive(c) < this.k && this.queries < this.maxQueries) {
        this.send(c);
      } else {
        c.state = 'slow';
      }
      this.step();
    }, slowAfter);
    this.timers.add(slowTimer);
    this.opts.query(c.node, this.controller.signal, c.attempts).then(
      (reply) => {
        slowTimer.cancel();
        this.timers.delete(slowTimer);
        c.outstanding--;
        if (this.finished || c.state === 'done') return;
        this.responses++;
        c.state = 'done';
        if (reply.token) c.token = reply.token;
        if (reply.values && reply.values.length > 0) this.opts.onValues?.(reply.values, c.node);
        for (const n of reply.nodes) this.addCandidate(n, c.depth + 1);
        this.step();
      },
      () => {
        slowTimer.cancel();
        this.timers.delete(slowTimer);
        c.outstanding--;
        if (this.finished || c.state === 'done' || c.outstanding > 0) return;
        this.failures++;
        c.state = 'failed';
        this.step();
      }
    );
  }

  /** Position of `c` among the candidates that have not failed. */
  private rankAmongLive(c: Candidate): number {
    let rank = 0;
    for (const x of this.candidates) {
      if (x === c) return rank;
      if (x.state !== 'failed') rank++;
    }
    return rank;
  }

  /**
   * Bootstrap addresses have no known id: ask them, then rank them by the id they report. One
   * that is silent after its slow-after time is asked once more if no node has answered yet: a
   * join through a single router would otherwise end empty-handed on one lost datagram.
   */
  private queryBootstrap(addr: Address): void {
    if (this.queries >= this.maxQueries) return;
    // Holds the lookup open (like an active query) until it answers, fails or goes slow.
    const probe = { attempts: 0, outstanding: 0, holding: true, settled: false };
    this.bootstrapInflight++;
    this.bootstrapOutstanding++;
    const release = (): void => {
      if (!probe.holding) return;
      probe.holding = false;
      this.bootstrapInflight--;
    };
    const settle = (): void => {
      probe.settled = true;
      this.bootstrapOutstanding--;
      release();
    };
    const slowAfter =
      typeof this.slowAfterMs === 'function'
        ? this.slowAfterMs({ ...addr, id: new Uint8Array(20) })
        : this.slowAfterMs;
    const ask = (): void => {
      probe.attempts++;
      probe.outstanding++;
      this.queries++;
      // A silent bootstrap node stops holding the lookup open after its slow-after time, like any
      // other node (a router that is down must not cost every lookup a full timeout).
      const slowTimer = this.opts.clock.setTimeout(() => {
        this.timers.delete(slowTimer);
        if (probe.settled || this.finished) return;
        if (probe.attempts < MAX_ATTEMPTS && this.responses === 0 && this.queries < this.maxQueries) ask();
        else release();
        this.step();
      }, slowAfter);
      this.timers.add(slowTimer);
      this.opts.query(addr, this.controller.signal, probe.attempts).then(
        (reply) => {
          slowTimer.cancel();
          this.timers.delete(slowTimer);
          probe.outstanding--;
          if (probe.settled) return;
          settle();
          if (this.finished) return;
          this.responses++;
          const node: NodeInfo = { id: reply.id, host: addr.host, port: addr.port };
          if (!this.opts.exclude?.(node)) {
            this.addCandidate(node, 1, true);
            const c = this.candidates.find((x) => x.node === node);
            if (c) {
              c.state = 'done';
              if (reply.token) c.token = reply.token;
            }
          }
          if (reply.values && reply.values.length > 0) this.opts.onValues?.(reply.values, node);
          for (const n of reply.nodes) this.addCandidate(n, 2);
          this.step();
        },
        () => {
          slowTimer.cancel();
          this.timers.delete(slowTimer);
          probe.outstanding--;
          if (probe.settled || probe.outstanding > 0) return;
          settle();
          if (this.finished) return;
          this.failures++;
          this.step();
        }
      );
    };
    ask();
  }

  private finish(aborted: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    const closest: LookupResponder[] = [];
    let hops = 0;
    // Verified responders first (BEP 42: non-compliant nodes are no storage targets), each
    // group closest first.
    for (const verified of [true, false]) {
      for (const c of this.candidates) {
        if (closest.length >= this.k) break;
        if (c.state !== 'done' || c.verified !== verified) continue;
        closest.push(c.token ? { node: c.node, token: c.token } : { node: c.node });
        hops = Math.max(hops, c.depth);
      }
    }
    this.resolve({
      closest,
      queries: this.queries,
      responses: this.responses,
      failures: this.failures,
      hops,
      durationMs: this.opts.clock.now() - this.startedAt,
      aborted
    });
  }
}
