/**
 * In-memory WireStream pairs: two PeerWires piped together without sockets.
 *
 * Delivery is asynchronous (setImmediate), like socket I/O, so a write never re-enters the
 * writer's own stack and a long transfer cannot starve timers. Chunks are handed over without
 * copying. `write` returns false once more than `highWaterMark` bytes wait for delivery; the
 * writer's `onDrain` fires when the receiver has taken them.
 */
import type { WireStream } from '../net/stream.js';

export interface PipeOptions {
  /** Bytes queued towards the other end before `write` reports backpressure. Default 1 MiB. */
  highWaterMark?: number;
}

class MemoryEnd implements WireStream {
  peer!: MemoryEnd;
  private readonly dataCbs: ((chunk: Uint8Array) => void)[] = [];
  private readonly drainCbs: (() => void)[] = [];
  private readonly closeCbs: (() => void)[] = [];
  /** Chunks written by this end, not yet delivered to the peer. */
  private outbox: Uint8Array[] = [];
  private outboxBytes = 0;
  private needDrain = false;
  private flushScheduled = false;
  private closing = false;
  private closed = false;

  constructor(private readonly highWaterMark: number) {}

  write(data: Uint8Array): boolean {
    if (this.closing || this.closed) return false;
    if (data.length === 0) return this.outboxBytes < this.highWaterMark;
    this.outbox.push(data);
    this.outboxBytes += data.length;
    this.scheduleFlush();
    if (this.outboxBytes >= this.highWaterMark) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  writev(chunks: readonly Uint8Array[]): boolean {
    let ok = true;
    for (const c of chunks) ok = this.write(c);
    return ok;
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.dataCbs.push(cb);
  }
  onDrain(cb: () => void): void {
    this.drainCbs.push(cb);
  }
  onClose(cb: () => void): void {
    this.closeCbs.push(cb);
  }

  close(): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    // Data already written is delivered first (like a FIN after the send buffer).
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const chunks = this.outbox;
    this.outbox = [];
    this.outboxBytes = 0;
    for (const chunk of chunks) {
      if (this.peer.closed) break;
      this.peer.receive(chunk);
    }
    if (this.needDrain && !this.closing && !this.closed) {
      this.needDrain = false;
      for (const cb of this.drainCbs.slice()) cb();
    }
    if (this.outbox.length > 0) this.scheduleFlush();
    else if (this.closing) {
      this.finish();
      this.peer.finish();
    }
  }

  private receive(chunk: Uint8Array): void {
    for (const cb of this.dataCbs) cb(chunk);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    this.outbox = [];
    this.outboxBytes = 0;
    for (const cb of this.closeCbs.slice()) cb();
  }
}

/** Two connected in-memory streams: bytes written to one are read from the other. */
export function pipePair(options: PipeOptions = {}): [WireStream, WireStream] {
  const hwm = options.highWaterMark ?? 1024 * 1024;
  const a = new MemoryEnd(hwm);
  const b = new MemoryEnd(hwm);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
