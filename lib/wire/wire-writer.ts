/**
 * The outgoing byte path of a PeerWire: every write is counted in the wire's stats and reported
 * to liveness (sending resets the keep-alive timer), and multi-part messages go out as one
 * gathered write when the stream supports it, so piece blocks are never copied into a message.
 * Nothing is written once the wire closed (every method then returns false); the wire checks
 * the handshake state before calling in.
 *
 * Deferred messages (`writeLater`) go out ahead of the next write, in the same gathered write:
 * a HAVE to a peer that is interested in us already changes nothing it acts on at once, and one
 * socket write per HAVE per peer was most of a swarm's write syscalls. At most
 * `MAX_DEFERRED_BYTES` wait; more sends them at once, so memory and staleness stay bounded.
 */
import { PIECE_HEADER_LENGTH } from './constants.js';
import { encodePieceHeader } from './messages.js';
import type { OutgoingBlock, WireStats } from './peer-wire-types.js';
import type { WireStream } from '../net/stream.js';

/** Deferred bytes that go out on their own when exceeded (~28 HAVEs). */
export const MAX_DEFERRED_BYTES = 256;

export class WireWriter {
  private deferred: Uint8Array[] = [];
  private deferredBytes = 0;

  constructor(
    private readonly stream: WireStream,
    private readonly counters: WireStats,
    /** Called on every write (Liveness.sent). */
    private readonly onSent: () => void,
    private readonly isClosed: () => boolean
  ) {}

  write(bytes: Uint8Array): boolean {
    if (this.isClosed()) return false;
    if (this.deferredBytes > 0) return this.gather([bytes]);
    this.counters.bytesSent += bytes.length;
    this.onSent();
    return this.stream.write(bytes);
  }

  /** Send `bytes` ahead of the next write (see above). The caller must not modify them. */
  writeLater(bytes: Uint8Array): boolean {
    if (this.isClosed()) return false;
    this.deferred.push(bytes);
    this.deferredBytes += bytes.length;
    return this.deferredBytes > MAX_DEFERRED_BYTES ? this.flush() : true;
  }

  /** Deferred bytes waiting for the next write. */
  get pendingBytes(): number {
    return this.deferredBytes;
  }

  /** Send what waits now (nothing to do if nothing waits). */
  flush(): boolean {
    if (this.isClosed() || this.deferredBytes === 0) return !this.isClosed();
    return this.gather([]);
  }

  /** Drop what waits (the wire closed). */
  discard(): void {
    this.deferred = [];
    this.deferredBytes = 0;
  }

  /** Header + body as one gathered write (no concatenation of the body). */
  writeParts(header: Uint8Array, body: Uint8Array): boolean {
    if (this.isClosed()) return false;
    if (this.deferredBytes > 0) return this.gather(body.length === 0 ? [header] : [header, body]);
    this.counters.bytesSent += header.length + body.length;
    this.onSent();
    if (body.length === 0) return this.stream.write(header);
    if (this.stream.writev) return this.stream.writev([header, body]);
    this.stream.write(header);
    return this.stream.write(body);
  }

  /**
   * Several piece messages as one gathered write, [header, block, header, block, ...]: one
   * writev (one syscall on a socket) instead of one per block. `onWritten`: see
   * `WireStream.writev` (never called when the stream cannot tell or nothing was written).
   */
  writePieces(blocks: readonly OutgoingBlock[], onWritten?: () => void): boolean {
    if (this.isClosed()) return false;
    const deferred = this.deferredBytes;
    const chunks: Uint8Array[] = this.takeDeferred();
    let payload = 0;
    for (const b of blocks) {
      chunks.push(encodePieceHeader(b.index, b.begin, b.block.length));
      if (b.block.length > 0) chunks.push(b.block);
      payload += b.block.length;
    }
    this.counters.bytesSent += blocks.length * PIECE_HEADER_LENGTH + payload + deferred;
    this.counters.payloadBytesSent += payload;
    this.onSent();
    if (this.stream.writev) return this.stream.writev(chunks, onWritten);
    let ok = true;
    for (const c of chunks) ok = this.stream.write(c);
    return ok;
  }

  /** What waits, then `chunks`, as one gathered write. */
  private gather(chunks: readonly Uint8Array[]): boolean {
    const all = this.takeDeferred();
    let bytes = 0;
    for (const c of all) bytes += c.length;
    for (const c of chunks) {
      all.push(c);
      bytes += c.length;
    }
    this.counters.bytesSent += bytes;
    this.onSent();
    if (all.length === 1) return this.stream.write(all[0]!);
    if (this.stream.writev) return this.stream.writev(all);
    let ok = true;
    for (const c of all) ok = this.stream.write(c);
    return ok;
  }

  /** The deferred messages, in order, as one chunk (an empty list if none wait). */
  private takeDeferred(): Uint8Array[] {
    if (this.deferredBytes === 0) return [];
    const parts = this.deferred;
    const one = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.deferredBytes);
    this.deferred = [];
    this.deferredBytes = 0;
    return [one];
  }
}
