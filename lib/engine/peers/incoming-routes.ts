/**
 * Where incoming peer connections go, whatever their transport: the handler registered for each
 * infohash, and HASH('req2', infohash) -> infohash to find the torrent a Message Stream
 * Encryption handshake names (SKEY). One table serves the TCP and the uTP listener, so a torrent
 * registered once is reachable over both.
 */
import { StateError } from '../../errors.js';
import { toHex } from '../../util/bytes.js';
import { PROTOCOL_STRING } from '../../wire/constants.js';
import { mseReq2 } from '../../wire/mse-crypto.js';
import { mseRespond, type EncryptionPolicy } from '../../wire/mse.js';
import type { WireStream } from '../../net/stream.js';
import type { Clock } from '../../util/clock.js';
import type { IncomingHandler } from '../engine.js';

/** The first 20 bytes of a plaintext handshake; anything else is taken for MSE. */
const PLAIN_START = Buffer.from(`\x13${PROTOCOL_STRING}`, 'latin1');

export class IncomingRoutes {
  private readonly handlers = new Map<string, IncomingHandler>();
  /** hex(HASH('req2', infohash)) -> infohash, to identify MSE connections. */
  private readonly skeys = new Map<string, Uint8Array>();

  /** Route connections for `infoHash` to `handler`; returns the unregister function. */
  register(infoHash: Uint8Array, handler: IncomingHandler): () => void {
    const key = toHex(infoHash);
    if (this.handlers.has(key)) throw new StateError(`infohash ${key} is already registered`);
    this.handlers.set(key, handler);
    const req2 = toHex(mseReq2(infoHash));
    this.skeys.set(req2, Uint8Array.from(infoHash));
    return () => {
      if (this.handlers.get(key) !== handler) return;
      this.handlers.delete(key);
      this.skeys.delete(req2);
    };
  }

  handler(infoHash: Uint8Array): IncomingHandler | undefined {
    return this.handlers.get(toHex(infoHash));
  }

  /** The infohash an MSE initiator named by HASH('req2', SKEY), if we serve it. */
  findSkey(req2: Uint8Array): Uint8Array | undefined {
    return this.skeys.get(toHex(req2));
  }

  clear(): void {
    this.handlers.clear();
    this.skeys.clear();
  }

  /**
   * Run the MSE responder on `raw` (a connection whose first bytes are not a plaintext
   * handshake): resolves with the decrypted stream and the handler of the torrent its SKEY
   * names, or undefined when the handshake fails or names no torrent of ours.
   */
  async respondEncrypted(
    raw: WireStream,
    options: { policy: EncryptionPolicy; timeoutMs: number; clock: Clock }
  ): Promise<{ stream: WireStream; handler: IncomingHandler } | undefined> {
    try {
      const { stream, infoHash } = await mseRespond(raw, {
        findSkey: (req2) => this.findSkey(req2),
        ...options
      });
      const handler = this.handler(infoHash);
      return handler ? { stream, handler } : undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * What the first bytes of an incoming connection say: 'mse' (they are not a plaintext
 * handshake), 'refuse' (a plaintext handshake where encryption is required), or 'plain' (a
 * plaintext handshake so far: read on to the infohash).
 */
export function handshakeStart(first: Uint8Array, policy: EncryptionPolicy): 'plain' | 'mse' | 'refuse' {
  const n = Math.min(PLAIN_START.length, first.length);
  if (!Buffer.from(first.buffer, first.byteOffset, n).equals(PLAIN_START.subarray(0, n))) return 'mse';
  if (policy === 'required' && n === PLAIN_START.length) return 'refuse';
  return 'plain';
}
