/**
 * The rest of a stream whose first bytes someone else read: a listener reads the start of a
 * connection to route it (the BitTorrent handshake names the torrent), then hands it on with
 * those bytes still to be read. The reader keeps the only data callback on the underlying
 * stream and forwards what arrives later with `push`.
 */
import type { Clock } from '../util/clock.js';
import type { PeerTransport, WireStream } from './stream.js';

export class ReplayStream implements WireStream {
  private readonly dataCbs: ((chunk: Uint8Array) => void)[] = [];
  /** Bytes not delivered yet: the ones read before, then any pushed before delivery began. */
  private queued: Uint8Array[] | undefined;

  constructor(
    private readonly raw: WireStream,
    initial: readonly Uint8Array[],
    private readonly clock: Clock
  ) {
    this.queued = initial.filter((c) => c.length > 0);
  }

  get transport(): PeerTransport | undefined {
    return this.raw.transport;
  }

  /** A chunk that arrived on the underlying stream after the hand-over. */
  push(chunk: Uint8Array): void {
    if (this.queued) this.queued.push(chunk);
    else for (const cb of this.dataCbs) cb(chunk);
  }

  write(data: Uint8Array): boolean {
    return this.raw.write(data);
  }

  writev(chunks: readonly Uint8Array[], onWritten?: () => void): boolean {
    if (this.raw.writev) return this.raw.writev(chunks, onWritten);
    let ok = true;
    for (const c of chunks) ok = this.raw.write(c);
    return ok;
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.dataCbs.push(cb);
    if (this.dataCbs.length > 1) return;
    // On a later turn, like a socket's first bytes: the consumer attaches its handlers right
    // after constructing its wire and must not miss the handshake.
    this.clock.setTimeout(() => {
      const queued = this.queued ?? [];
      this.queued = undefined;
      for (const chunk of queued) for (const fn of this.dataCbs) fn(chunk);
    }, 0);
  }

  onDrain(cb: () => void): void {
    this.raw.onDrain(cb);
  }

  onClose(cb: () => void): void {
    this.raw.onClose(cb);
  }

  close(): void {
    this.raw.close();
  }
}
