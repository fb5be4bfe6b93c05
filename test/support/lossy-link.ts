/**
 * Two datagram Transports joined by a simulated path in virtual time (FakeClock): one-way
 * delay, jitter (which reorders), random loss, and optionally a bottleneck with a rate and a
 * drop-tail buffer, so queueing delay builds up like behind a modem. Deterministic for a seed.
 */
import type { Address } from '../../lib/net/address.js';
import type { DatagramHandler, Transport } from '../../lib/net/transport.js';
import { seededRandom, type RandomSource } from '../../lib/util/random.js';
import type { FakeClock } from './fake-clock.js';

export interface PathOptions {
  /** One-way propagation delay, ms. Default 10. */
  delayMs?: number;
  /** Extra uniform delay in [0, jitterMs), ms (reorders packets). Default 0. */
  jitterMs?: number;
  /** Probability a datagram is lost. Default 0. */
  loss?: number;
  /** Bottleneck rate, bytes/s. Default: none. */
  rateBytesPerSec?: number;
  /** Bottleneck buffer, bytes: datagrams that find it full are dropped. Default 64 KiB. */
  queueBytes?: number;
}

export interface DirectionStats {
  sent: number;
  delivered: number;
  lost: number;
  /** Dropped because the bottleneck buffer was full. */
  overflowed: number;
  /** Largest queueing delay a datagram met at the bottleneck, ms. */
  maxQueueMs: number;
  /** Queueing delay of every datagram that entered the bottleneck, ms. */
  queueMs: number[];
}

class Direction {
  readonly stats: DirectionStats = {
    sent: 0,
    delivered: 0,
    lost: 0,
    overflowed: 0,
    maxQueueMs: 0,
    queueMs: []
  };
  opts: Required<Omit<PathOptions, 'rateBytesPerSec'>> & { rateBytesPerSec: number | undefined };
  /** When the bottleneck finishes sending what it holds. */
  private busyUntil = 0;
  /** Test hook: return true to drop this datagram. */
  dropIf: ((data: Uint8Array) => boolean) | null = null;

  constructor(
    private readonly clock: FakeClock,
    private readonly random: RandomSource,
    opts: PathOptions
  ) {
    this.opts = {
      delayMs: opts.delayMs ?? 10,
      jitterMs: opts.jitterMs ?? 0,
      loss: opts.loss ?? 0,
      rateBytesPerSec: opts.rateBytesPerSec,
      queueBytes: opts.queueBytes ?? 64 * 1024
    };
  }

  carry(data: Uint8Array, deliver: (copy: Uint8Array) => void): void {
    this.stats.sent++;
    if (this.dropIf?.(data)) {
      this.stats.lost++;
      return;
    }
    if (this.opts.loss > 0 && this.random.int(1_000_000) < this.opts.loss * 1_000_000) {
      this.stats.lost++;
      return;
    }
    const now = this.clock.now();
    let leaveAt = now;
    const rate = this.opts.rateBytesPerSec;
    if (rate !== undefined) {
      const start = Math.max(now, this.busyUntil);
      const queuedBytes = ((start - now) * rate) / 1000;
      if (queuedBytes + data.length > this.opts.queueBytes) {
        this.stats.overflowed++;
        return;
      }
      this.busyUntil = start + (data.length * 1000) / rate;
      leaveAt = this.busyUntil;
      const q = start - now;
      this.stats.queueMs.push(q);
      if (q > this.stats.maxQueueMs) this.stats.maxQueueMs = q;
    }
    const jitter = this.opts.jitterMs > 0 ? this.random.int(this.opts.jitterMs * 1000) / 1000 : 0;
    const copy = Buffer.from(data);
    this.clock.setTimeout(
      () => {
        this.stats.delivered++;
        deliver(copy);
      },
      leaveAt - now + this.opts.delayMs + jitter
    );
  }
}

class LinkEnd implements Transport {
  handler: DatagramHandler | null = null;
  closed = false;
  constructor(
    readonly local: Address,
    private readonly out: Direction,
    private readonly peer: () => LinkEnd
  ) {}
  send(data: Uint8Array, to: Address): void {
    if (this.closed) return;
    const peer = this.peer();
    if (to.host !== peer.local.host || to.port !== peer.local.port) return;
    this.out.carry(data, (copy) => {
      if (!peer.closed) peer.handler?.(copy, this.local);
    });
  }
  sendv(parts: readonly Uint8Array[], to: Address): void {
    this.send(Buffer.concat(parts), to);
  }
  onMessage(handler: DatagramHandler): void {
    this.handler = handler;
  }
  onError(): void {}
  address(): Address {
    return this.local;
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

export class LossyLink {
  readonly a: Transport;
  readonly b: Transport;
  /** a -> b and b -> a. */
  readonly ab: Direction;
  readonly ba: Direction;

  constructor(clock: FakeClock, opts: PathOptions & { seed?: number; back?: PathOptions } = {}) {
    const random = seededRandom(opts.seed ?? 1);
    this.ab = new Direction(clock, random, opts);
    this.ba = new Direction(clock, random, opts.back ?? opts);
    const a: LinkEnd = new LinkEnd({ host: '10.0.0.1', port: 1001 }, this.ab, () => b);
    const b: LinkEnd = new LinkEnd({ host: '10.0.0.2', port: 1002 }, this.ba, () => a);
    this.a = a;
    this.b = b;
  }
}
