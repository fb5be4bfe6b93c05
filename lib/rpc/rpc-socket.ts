/**
 * Request/response over a datagram Transport (KRPC).
 *
 * - Transaction ids are random; a reply is matched on (tid, sender address), so a reply
 *   from anyone else, or with an unknown tid, is dropped and never answered (no amplification).
 * - Bounded: at most `maxInflight` outstanding queries; further queries wait in a bounded
 *   queue; a token bucket caps the outbound query rate. Memory and traffic stay bounded.
 * - Inbound limits before decoding (inbound-limiter.ts): an unsolicited datagram from a source
 *   over its rate, banned, or beyond the global cap is dropped unparsed. A reply from an
 *   address we await passes uncharged (queries from it are charged after decoding).
 * - Outbound byte budget (libtorrent's dht_upload_rate_limit): everything we send spends it;
 *   while it is in debt, incoming queries are dropped unanswered. Our own queries are never
 *   held back by it (they have their own rate cap), so serving others cannot starve lookups.
 * - Decoding never throws into the receive path: malformed datagrams are counted and dropped,
 *   queries with bad arguments are answered with error 203 (BEP 5).
 */
import { EMPTY_MAP } from '../util/empty.js';
import { decodeMessage, encodeError, encodeQuery, encodeResponse } from '../krpc/codec.js';
import { formatAddress, type Address } from '../net/address.js';
import type { QueryMessage, Query, ResponseBody, ResponseMessage } from '../krpc/types.js';
import { KrpcErrorCode } from '../krpc/types.js';
import type { Transport } from '../net/transport.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { RandomSource } from '../util/random.js';
import {
  AbortError,
  BackpressureError,
  DestroyedError,
  RemoteError,
  TimeoutError,
  type SendError
} from '../errors.js';
import {
  MAX_DATAGRAM_SEND_BYTES,
  MAX_INFLIGHT_QUERIES,
  MAX_ITEM_DATAGRAM_BYTES,
  MAX_QUERIES_PER_SECOND,
  QUERY_TIMEOUT_MS
} from '../constants.js';
import { toHex } from '../util/bytes.js';
import { TokenBucket } from '../util/token-bucket.js';
import { RttEstimator } from './rtt-estimator.js';
import type { InboundLimiter, InboundVerdict } from './inbound-limiter.js';

export interface RpcSocketOptions {
  transport: Transport;
  clock: Clock;
  random: RandomSource;
  timeoutMs?: number;
  maxInflight?: number;
  /** Outbound queries per second (token bucket, burst = one second's worth). */
  maxQueriesPerSecond?: number;
  /** BEP 43: mark our queries `ro=1`. */
  readOnly?: boolean;
  version?: Uint8Array;
  /** Per-source and global limits on unsolicited datagrams (none when absent). */
  inbound?: InboundLimiter;
  /** Outbound byte budget, bytes per second (burst = one second's worth; default unlimited). */
  maxBytesPerSecond?: number;
}

export interface QueryOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface RpcReply {
  response: ResponseMessage;
  from: Address;
  /** Round-trip time in ms. */
  rtt: number;
}

/**
 * The per-method counts of a socket that has counted none: shared, and replaced by an object of
 * the socket's own on its first count (two objects per idle node saved).
 */
const NO_COUNTS: Record<string, number> = Object.freeze({});

/** Every counter at zero (a fresh socket; the stats of a node not bound yet). */
export function emptyRpcCounters(): RpcCounters {
  return {
    queriesOut: NO_COUNTS,
    queriesIn: NO_COUNTS,
    responsesIn: 0,
    errorsIn: 0,
    timeouts: 0,
    malformed: 0,
    unknownTid: 0,
    badArguments: 0,
    bytesOut: 0,
    bytesIn: 0,
    repliesSent: 0,
    rejectedLocally: 0,
    droppedRateLimited: 0,
    droppedBanned: 0,
    droppedOverloaded: 0,
    droppedOverBudget: 0,
    sendFailures: 0
  };
}

export interface RpcCounters {
  queriesOut: Record<string, number>;
  queriesIn: Record<string, number>;
  responsesIn: number;
  errorsIn: number;
  timeouts: number;
  malformed: number;
  unknownTid: number;
  badArguments: number;
  bytesOut: number;
  bytesIn: number;
  repliesSent: number;
  rejectedLocally: number;
  /** Unsolicited datagrams dropped unparsed: source over its rate. */
  droppedRateLimited: number;
  /** ... source banned for flooding. */
  droppedBanned: number;
  /** ... over the global cap of all sources together. */
  droppedOverloaded: number;
  /** Queries dropped unanswered while the outbound byte budget was spent. */
  droppedOverBudget: number;
  /** Queries failed at once because the system refused to send them (no route, firewall). */
  sendFailures: number;
}

/** Who answers the queries we receive (the DHT's server). */
export interface QueryServer {
  serve(message: QueryMessage, from: Address): void;
}

interface Pending {
  key: string;
  /** formatAddress of the node asked. */
  address: string;
  host: string;
  method: string;
  sentAt: number;
  timer: TimerHandle;
  resolve: (r: RpcReply) => void;
  reject: (e: Error) => void;
  cleanupSignal: () => void;
}

interface Waiting {
  start: () => void;
  reject: (e: Error) => void;
}

const MAX_WAITING_FACTOR = 4;

/** No query waiting (shared; a socket gets an array of its own for its first). */
const NO_WAITING: readonly Waiting[] = Object.freeze([]);
/** The round-trip estimate of a socket that has measured none (shared, never sampled). */
const NO_RTT_SAMPLES = new RttEstimator();

/** The counters of a socket that has counted nothing yet (shared, frozen). */
const NO_COUNTERS: Readonly<RpcCounters> = Object.freeze(emptyRpcCounters());

export class RpcSocket {
  /**
   * Made on the first count (`count()`): 17 fields, 160 bytes an idle socket does without.
   * Read them through `counters`.
   */
  private ownCounters: RpcCounters | null = null;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly timeoutMs: number;
  private readonly maxInflight: number;
  private readonly ratePerSecond: number;
  private readonly readOnly: boolean;
  private readonly version: Uint8Array | undefined;
  private pending: ReadonlyMap<string, Pending> = EMPTY_MAP;
  /** host|port -> queries awaiting its reply: such replies skip the inbound limits. */
  private awaiting: ReadonlyMap<string, number> = EMPTY_MAP;
  /**
   * host -> queries awaiting a reply from any port of it: checked first, so a datagram from a
   * host we await nothing from (a flood) is sorted without building its address string.
   */
  private awaitingHosts: ReadonlyMap<string, number> = EMPTY_MAP;
  private readonly inbound: InboundLimiter | undefined;
  /** Outbound byte budget per second (Infinity: unlimited). */
  private readonly bytesPerSecond: number;
  /**
   * The token buckets, made on first use: a bucket made then is as full as one made at
   * construction would be by then (full is its cap), and an idle node keeps none.
   */
  private budgetBucket: TokenBucket | null = null;
  private queryRateBucket: TokenBucket | null = null;
  /** Round trips of every answer we got; made on the first (read it through `rtt`). */
  private rttEstimate: RttEstimator | null = null;
  /** When we last received a valid reply (-Infinity: never). */
  lastResponseAt = -Infinity;
  /** Queries waiting for room (in flight or rate); an array of its own from the first. */
  private waiting: readonly Waiting[] = NO_WAITING;
  private server: QueryServer | null = null;
  private refillTimer: TimerHandle | null = null;
  private closed = false;

  constructor(opts: RpcSocketOptions) {
    this.transport = opts.transport;
    this.clock = opts.clock;
    this.random = opts.random;
    this.timeoutMs = opts.timeoutMs ?? QUERY_TIMEOUT_MS;
    this.maxInflight = opts.maxInflight ?? MAX_INFLIGHT_QUERIES;
    this.ratePerSecond = opts.maxQueriesPerSecond ?? MAX_QUERIES_PER_SECOND;
    this.readOnly = opts.readOnly ?? false;
    this.version = opts.version;
    // A rate of our caller's is checked now (the bucket throws on a bad one), not at first use.
    if (opts.maxQueriesPerSecond !== undefined) this.queryRate();
    this.inbound = opts.inbound;
    const bytes = opts.maxBytesPerSecond ?? Infinity;
    this.bytesPerSecond = bytes > 0 ? bytes : Infinity;
    this.transport.onMessage((data, from) => this.receive(data, from));
  }

  /** What this socket has counted so far (every counter at zero before the first). */
  get counters(): Readonly<RpcCounters> {
    return this.ownCounters ?? NO_COUNTERS;
  }

  /** Round trips of every answer we got. */
  get rtt(): Pick<RttEstimator, 'smoothed' | 'slowAfter'> {
    return this.rttEstimate ?? NO_RTT_SAMPLES;
  }

  /** Which of the parts made on first use exist (NodeCore.made()): an idle socket has none. */
  made(): { counters: boolean; rtt: boolean } {
    return { counters: this.ownCounters !== null, rtt: this.rttEstimate !== null };
  }

  /** Answer incoming queries with `server` (none: they are counted and dropped). */
  onQuery(server: QueryServer): void {
    this.server = server;
  }

  inflight(): number {
    return this.pending.size;
  }

  /** Send a query and wait for its response. Rejects with TimeoutError, RemoteError, AbortError. */
  query(to: Address, query: Query, opts: QueryOptions = {}): Promise<RpcReply> {
    if (this.closed) return Promise.reject(new DestroyedError('RPC socket'));
    if (opts.signal?.aborted) return Promise.reject(new AbortError());
    if (
      this.waiting.length === 0 &&
      this.pending.size < this.maxInflight &&
      this.queryRate().take(this.clock.now())
    ) {
      return new Promise((resolve, reject) => this.send(to, query, opts, resolve, reject));
    }
    if (this.waiting.length >= this.maxInflight * MAX_WAITING_FACTOR) {
      this.count().rejectedLocally++;
      return Promise.reject(
        new BackpressureError('ERR_TOO_MANY_INFLIGHT', 'too many queries waiting to be sent')
      );
    }
    return new Promise((resolve, reject) => {
      const entry: Waiting = {
        start: () => {
          opts.signal?.removeEventListener('abort', onAbort);
          if (opts.signal?.aborted) reject(new AbortError());
          else this.send(to, query, opts, resolve, reject);
        },
        reject
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.ownWaiting().splice(i, 1);
        reject(new AbortError());
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.ownWaiting().push(entry);
      this.scheduleDrain();
    });
  }

  /**
   * Send a response; false (nothing sent) if it would exceed one 1024-byte datagram, or one of
   * MAX_ITEM_DATAGRAM_BYTES when it carries a BEP 44 value (they do not fit 1024).
   */
  respond(to: Address, tid: Uint8Array, body: ResponseBody): boolean {
    if (this.closed) return false;
    const data = encodeResponse(tid, body, { ip: to, version: this.version });
    const max = body.v === undefined ? MAX_DATAGRAM_SEND_BYTES : MAX_ITEM_DATAGRAM_BYTES;
    if (data.length > max) return false;
    this.count().repliesSent++;
    this.sendRaw(data, to, max);
    return true;
  }

  respondError(to: Address, tid: Uint8Array, code: number, message: string): void {
    if (this.closed) return;
    this.sendRaw(encodeError(tid, code, message), to);
  }

  /**
   * The system refused a datagram to `err.to`: the queries awaiting that address fail now with
   * the SendError instead of timing out (a refused query never left). Returns how many failed.
   */
  sendFailed(err: SendError): number {
    const addr = formatAddress(err.to);
    if (!this.awaiting.has(addr)) return 0;
    const keys: string[] = [];
    for (const p of this.pending.values()) if (p.address === addr) keys.push(p.key);
    for (const key of keys) this.finish(key, err);
    this.count().sendFailures += keys.length;
    return keys.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.refillTimer?.cancel();
    for (const p of this.pending.values()) {
      p.timer.cancel();
      p.cleanupSignal();
      p.reject(new DestroyedError('RPC socket'));
    }
    this.pending = EMPTY_MAP;
    this.awaiting = EMPTY_MAP;
    this.awaitingHosts = EMPTY_MAP;
    const waiting = this.waiting;
    this.waiting = NO_WAITING;
    for (const w of waiting) w.reject(new DestroyedError('RPC socket'));
  }

  private send(
    to: Address,
    query: Query,
    opts: QueryOptions,
    resolve: (r: RpcReply) => void,
    reject: (e: Error) => void
  ): void {
    let tid: Uint8Array;
    let key: string;
    do {
      tid = this.random.bytes(4);
      key = pendingKey(tid, to);
    } while (this.pending.has(key));
    const data = encodeQuery(tid, query, {
      readOnly: this.readOnly,
      ...(this.version ? { version: this.version } : {})
    });
    const onAbort = (): void => this.finish(key, new AbortError());
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = this.clock.setTimeout(() => {
      this.count().timeouts++;
      this.finish(key, new TimeoutError(`${query.method} to ${to.host}:${to.port} timed out`));
    }, opts.timeoutMs ?? this.timeoutMs);
    const addr = formatAddress(to);
    this.awaiting = countUp(this.awaiting, addr);
    this.awaitingHosts = countUp(this.awaitingHosts, to.host);
    this.ownPending().set(key, {
      key,
      address: addr,
      host: to.host,
      method: query.method,
      sentAt: this.clock.now(),
      timer,
      resolve,
      reject,
      cleanupSignal: () => opts.signal?.removeEventListener('abort', onAbort)
    });
    this.countQuery('queriesOut', query.method);
    this.sendRaw(data, to, query.method === 'put' ? MAX_ITEM_DATAGRAM_BYTES : MAX_DATAGRAM_SEND_BYTES);
  }

  private finish(key: string, result: Error | RpcReply): void {
    const p = this.pending.get(key);
    if (!p) return;
    this.ownPending().delete(key);
    countDown(this.awaiting, p.address);
    countDown(this.awaitingHosts, p.host);
    p.timer.cancel();
    p.cleanupSignal();
    if (result instanceof Error) p.reject(result);
    else p.resolve(result);
    this.drain();
  }

  private sendRaw(data: Uint8Array, to: Address, max = MAX_DATAGRAM_SEND_BYTES): void {
    if (data.length > max) {
      // Callers trim replies to fit; this is a last line of defence, never expected.
      this.count().rejectedLocally++;
      return;
    }
    this.count().bytesOut += data.length;
    this.budget()?.spend(this.clock.now(), data.length);
    this.transport.send(data, to);
  }

  private receive(data: Uint8Array, from: Address): void {
    if (this.closed) return;
    this.count().bytesIn += data.length;
    const awaited = this.awaitingHosts.has(from.host) && this.awaiting.has(formatAddress(from));
    if (!awaited && !this.admitted(from)) return;
    const decoded = decodeMessage(data);
    if (!decoded.ok) {
      if (decoded.queryTid) {
        this.count().badArguments++;
        this.respondError(from, decoded.queryTid, KrpcErrorCode.Protocol, decoded.reason);
      } else {
        this.count().malformed++;
      }
      return;
    }
    const msg = decoded.message;
    if (msg.type === 'query') {
      if (awaited && !this.admitted(from)) return;
      const budget = this.budget();
      if (budget && !budget.hasAny(this.clock.now())) {
        this.count().droppedOverBudget++;
        return;
      }
      const name = msg.query.method === 'unknown' ? 'unknown' : msg.query.method;
      this.countQuery('queriesIn', name);
      this.server?.serve(msg, from);
      return;
    }
    const key = pendingKey(msg.tid, from);
    const p = this.pending.get(key);
    if (!p) {
      this.count().unknownTid++;
      return;
    }
    if (msg.type === 'error') {
      this.count().errorsIn++;
      this.finish(key, new RemoteError(msg.code, msg.message));
      return;
    }
    this.count().responsesIn++;
    const rtt = this.clock.now() - p.sentAt;
    (this.rttEstimate ??= new RttEstimator()).sample(rtt);
    this.lastResponseAt = this.clock.now();
    this.finish(key, { response: msg, from, rtt });
  }

  /** Inbound limits for an unsolicited datagram; false (and counted) when it must be dropped. */
  private admitted(from: Address): boolean {
    if (!this.inbound) return true;
    const verdict: InboundVerdict = this.inbound.admit(from.host);
    if (verdict === 'ok') return true;
    if (verdict === 'rate-limited') this.count().droppedRateLimited++;
    else if (verdict === 'banned') this.count().droppedBanned++;
    else this.count().droppedOverloaded++;
    return false;
  }

  private drain(): void {
    while (this.waiting.length > 0 && this.pending.size < this.maxInflight) {
      if (!this.queryRate().take(this.clock.now())) {
        this.scheduleDrain();
        return;
      }
      this.ownWaiting().shift()!.start();
    }
  }

  /** Wake up when the token bucket has refilled enough for the next waiting query. */
  private scheduleDrain(): void {
    if (this.refillTimer || this.closed) return;
    const waitMs = this.queryRate().waitMs(this.clock.now()) || 1;
    this.refillTimer = this.clock.setTimeout(() => {
      this.refillTimer = null;
      this.drain();
    }, waitMs);
  }

  /** The counters to add to (made on the first count). */
  private count(): RpcCounters {
    return (this.ownCounters ??= emptyRpcCounters());
  }

  private countQuery(kind: 'queriesOut' | 'queriesIn', method: string): void {
    const counters = this.count();
    let counts = counters[kind];
    if (counts === NO_COUNTS) counts = counters[kind] = {};
    counts[method] = (counts[method] ?? 0) + 1;
  }

  /** Outbound queries per second (burst = one second's worth). */
  private queryRate(): TokenBucket {
    return (this.queryRateBucket ??= new TokenBucket({
      ratePerSecond: this.ratePerSecond,
      burst: this.ratePerSecond,
      nowMs: this.clock.now()
    }));
  }

  /** The outbound byte budget; null when unlimited. */
  private budget(): TokenBucket | null {
    if (this.bytesPerSecond === Infinity) return null;
    return (this.budgetBucket ??= new TokenBucket({
      ratePerSecond: this.bytesPerSecond,
      burst: this.bytesPerSecond,
      nowMs: this.clock.now()
    }));
  }

  private ownWaiting(): Waiting[] {
    if (this.waiting === NO_WAITING) this.waiting = [];
    return this.waiting as Waiting[];
  }

  private ownPending(): Map<string, Pending> {
    if (this.pending === EMPTY_MAP) this.pending = new Map();
    return this.pending as Map<string, Pending>;
  }
}

/** `counts` with one more for `key` (a new Map in place of the shared empty one). */
function countUp(counts: ReadonlyMap<string, number>, key: string): ReadonlyMap<string, number> {
  const own = counts === EMPTY_MAP ? new Map<string, number>() : (counts as Map<string, number>);
  own.set(key, (own.get(key) ?? 0) + 1);
  return own;
}

/** One less for `key` in a map countUp made (never the shared empty one: it has no keys). */
function countDown(counts: ReadonlyMap<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left > 0) (counts as Map<string, number>).set(key, left);
  else if (counts.has(key)) (counts as Map<string, number>).delete(key);
}

function pendingKey(tid: Uint8Array, from: Address): string {
  return `${toHex(tid)}|${from.host}|${from.port}`;
}
