/**
 * The rest of a stream whose first bytes someone else read: a listener reads the start of a
 * connection to route it (the BitTorrent handshake names the torrent), then hands it on with
 * those bytes still to be read. The reader keeps the only data callback on the underlying
 * stream and forwards what arrives later with `push`.
 */
import type { Clock } from '../util/clock.js';
import { HeldData } from './held-data.js';
import type { PeerTransport, WireStream } from './stream.js';

export class ReplayStream implements WireStream {
  /** The bytes read before, then any pushed before delivery began. */
  private readonly held: HeldData;

  constructor(
    private readonly raw: WireStream,
    initial: readonly Uint8Array[],
    clock: Clock
  ) {
    this.held = new HeldData(initial, clock);
  }

  get transport(): PeerTransport | undefined {
    return this.raw.transport;
  }

  /** A chunk that arrived on the underlying stream after the hand-over. */
  push(chunk: Uint8Array): void {
    this.held.push(chunk);
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
    this.held.onData(cb);
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
