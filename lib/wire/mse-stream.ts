/**
 * The stream the wire protocol sees after a Message Stream Encryption handshake: plaintext in
 * both directions. With RC4 selected, writes are encrypted into fresh buffers (the caller's
 * chunks may be views of shared data, e.g. cached pieces, so never in place) and reads are
 * decrypted in place (chunks handed to `onData` belong to the receiver, see stream.ts).
 */
import type { Rc4 } from './rc4.js';
import type { Clock } from '../util/clock.js';
import { HeldData } from '../net/held-data.js';
import type { PeerTransport, WireStream } from '../net/stream.js';

export type CryptoMethod = 'plaintext' | 'rc4';

export class MseStream implements WireStream {
  readonly method: CryptoMethod;
  private readonly raw: WireStream;
  private readonly enc: Rc4 | undefined;
  private readonly dec: Rc4 | undefined;
  /** Plaintext received before the consumer attached `onData` (the IA and what followed). */
  private readonly held: HeldData;

  /** `initial`: plaintext already decoded by the handshake. `enc`/`dec`: RC4 states, or none. */
  constructor(raw: WireStream, initial: Uint8Array[], clock: Clock, enc?: Rc4, dec?: Rc4) {
    this.raw = raw;
    this.enc = enc;
    this.dec = dec;
    this.method = enc ? 'rc4' : 'plaintext';
    this.held = new HeldData(initial, clock);
  }

  get transport(): PeerTransport | undefined {
    return this.raw.transport;
  }

  /** The underlying stream's remote address, when it has one (a socket). */
  get remoteAddress(): unknown {
    return (this.raw as { remoteAddress?: unknown }).remoteAddress;
  }

  /** Bytes from the raw stream (the handshake forwards them here once it is done). */
  receive(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.dec?.process(chunk);
    this.held.push(chunk);
  }

  write(data: Uint8Array): boolean {
    if (!this.enc) return this.raw.write(data);
    return this.raw.write(this.enc.process(data, Buffer.allocUnsafe(data.length)));
  }

  writev(chunks: readonly Uint8Array[], onWritten?: () => void): boolean {
    if (!this.enc) {
      if (this.raw.writev) return this.raw.writev(chunks, onWritten);
      let ok = true;
      for (const c of chunks) ok = this.raw.write(c);
      return ok;
    }
    let total = 0;
    for (const c of chunks) total += c.length;
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    for (const c of chunks) {
      this.enc.process(c, out, at);
      at += c.length;
    }
    onWritten?.(); // encrypted into `out`: the chunks are not held
    return this.raw.write(out);
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
