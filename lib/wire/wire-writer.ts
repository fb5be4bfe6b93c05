/**
 * The outgoing byte path of a PeerWire: every write is counted in the wire's stats and reported
 * to liveness (sending resets the keep-alive timer), and multi-part messages go out as one
 * gathered write when the stream supports it, so piece blocks are never copied into a message.
 * Nothing is written once the wire closed (every method then returns false); the wire checks
 * the handshake state before calling in.
 */
import { PIECE_HEADER_LENGTH } from './constants.js';
import { encodePieceHeader } from './messages.js';
import type { OutgoingBlock, WireStats } from './peer-wire-types.js';
import type { WireStream } from '../net/stream.js';

export class WireWriter {
  constructor(
    private readonly stream: WireStream,
    private readonly counters: WireStats,
    /** Called on every write (Liveness.sent). */
    private readonly onSent: () => void,
    private readonly isClosed: () => boolean
  ) {}

  write(bytes: Uint8Array): boolean {
    if (this.isClosed()) return false;
    this.counters.bytesSent += bytes.length;
    this.onSent();
    return this.stream.write(bytes);
  }

  /** Header + body as one gathered write (no concatenation of the body). */
  writeParts(header: Uint8Array, body: Uint8Array): boolean {
    if (this.isClosed()) return false;
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
    const chunks: Uint8Array[] = [];
    let payload = 0;
    for (const b of blocks) {
      chunks.push(encodePieceHeader(b.index, b.begin, b.block.length));
      if (b.block.length > 0) chunks.push(b.block);
      payload += b.block.length;
    }
    this.counters.bytesSent += blocks.length * PIECE_HEADER_LENGTH + payload;
    this.counters.payloadBytesSent += payload;
    this.onSent();
    if (this.stream.writev) return this.stream.writev(chunks, onWritten);
    let ok = true;
    for (const c of chunks) ok = this.stream.write(c);
    return ok;
  }
}
