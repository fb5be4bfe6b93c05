/**
 * Connection liveness on an injected Clock: handshake deadline, then keep-alives after
 * `keepAliveIntervalMs` without sending and a timeout after `idleTimeoutMs` without receiving.
 * One timer at a time, re-armed only when it fires (traffic just updates two timestamps); each
 * firing after the handshake is also the owner's periodic check (`onCheck`).
 */
import { TimeoutError } from '../errors.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { HANDSHAKE_TIMEOUT_MS, IDLE_TIMEOUT_MS, KEEP_ALIVE_INTERVAL_MS } from './constants.js';

export interface LivenessOptions {
  clock: Clock;
  keepAliveIntervalMs?: number;
  idleTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  /** Time to send a keep-alive (the owner's write calls `sent()`). */
  onKeepAlive: () => void;
  onTimeout: (error: TimeoutError) => void;
  /**
   * Called at each check after the handshake that finds the connection alive: at least once a
   * keep-alive interval (owners release buffers an idle connection no longer needs).
   */
  onCheck?: () => void;
}

export class Liveness {
  private readonly clock: Clock;
  private readonly keepAliveMs: number;
  private readonly idleMs: number;
  private readonly handshakeMs: number;
  private readonly createdAt: number;
  private lastSentAt: number;
  private lastReceivedAt: number;
  private handshakeDone = false;
  private stopped = false;
  private timer: TimerHandle | undefined;

  constructor(private readonly options: LivenessOptions) {
    this.clock = options.clock;
    this.keepAliveMs = options.keepAliveIntervalMs ?? KEEP_ALIVE_INTERVAL_MS;
    this.idleMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    this.handshakeMs = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    this.createdAt = this.lastSentAt = this.lastReceivedAt = this.clock.now();
    this.arm();
  }

  sent(): void {
    this.lastSentAt = this.clock.now();
  }

  received(): void {
    this.lastReceivedAt = this.clock.now();
  }

  /** Switch from the handshake deadline to keep-alive / idle tracking. */
  handshakeCompleted(): void {
    this.handshakeDone = true;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private arm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.stopped) return;
    const deadline = this.handshakeDone
      ? Math.min(this.lastSentAt + this.keepAliveMs, this.lastReceivedAt + this.idleMs)
      : this.createdAt + this.handshakeMs;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, deadline - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const now = this.clock.now();
    if (!this.handshakeDone) {
      if (now - this.createdAt >= this.handshakeMs) {
        this.stop();
        return this.options.onTimeout(
          new TimeoutError(`peer handshake not completed in ${this.handshakeMs} ms`)
        );
      }
    } else {
      if (now - this.lastReceivedAt >= this.idleMs) {
        this.stop();
        return this.options.onTimeout(new TimeoutError(`peer silent for ${this.idleMs} ms`));
      }
      if (now - this.lastSentAt >= this.keepAliveMs) this.options.onKeepAlive();
      this.options.onCheck?.();
    }
    this.arm();
  }
}
