/**
 * The byte stream a peer wire runs over: a TCP socket (tcp.ts `SocketStream`), a uTP connection
 * (utp/connection.ts), an MSE-encrypted stream (wire/mse-stream.ts), or an in-process pipe
 * (wire/memory-stream.ts `pipePair`).
 *
 * Ownership: chunks passed to `onData` callbacks belong to the receiver (the wire keeps
 * zero-copy views of them, e.g. piece blocks), unless the stream says `chunksReused`; chunks
 * passed to `write` must not be mutated by the caller afterwards (like net.Socket, the stream
 * may hold them until flushed).
 */
/** What a peer connection runs over: TCP, or uTP (BEP 29) over UDP. */
export type PeerTransport = 'tcp' | 'utp';

export interface WireStream {
  /** The transport under this stream; undefined for in-process pipes. */
  readonly transport?: PeerTransport;
  /** Queue bytes. Returns false when the caller should wait for `onDrain` (backpressure). */
  write(data: Uint8Array): boolean;
  /**
   * Optional gathered write (e.g. socket.cork(); write each; socket.uncork()). Used for
   * piece messages, [header, block] or a batch [header, block, header, block, ...], so the
   * 13-byte headers and the blocks go out together without concatenation. `onWritten`, if the
   * stream can tell, is called once it holds none of `chunks` any more (handed to the kernel,
   * or dropped on close), so their memory may be reused; a stream that cannot tell never calls it.
   */
  writev?(chunks: readonly Uint8Array[], onWritten?: () => void): boolean;
  /**
   * True: the stream reads into one buffer it reuses (no allocation per read), so a chunk passed
   * to `onData` is valid only until the callback returns; the receiver copies what it keeps.
   */
  readonly chunksReused?: boolean;
  onData(cb: (chunk: Uint8Array) => void): void;
  onDrain(cb: () => void): void;
  /** Called once when either end closed the stream. */
  onClose(cb: () => void): void;
  /** Close both directions; pending written data is still delivered. Idempotent. */
  close(): void;
}
