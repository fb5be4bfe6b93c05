/**
 * Dialing a peer with the encryption policy: plain `connectTcp`, or a Message Stream
 * Encryption handshake first (lib/wire/mse.ts) for 'preferred' and 'required'.
 */
import type { Address } from '../../net/address.js';
import { DEFAULT_ENCRYPTION, dialsEncrypted, mseInitiate, type EncryptionPolicy } from '../../wire/mse.js';
import type { WireStream } from '../../net/stream.js';
import { connectTcp, type ConnectOptions } from '../../net/tcp.js';

/**
 * Dial a peer for `infoHash` under an encryption policy: plaintext ('disabled', 'enabled'), or
 * MSE with RC4 first ('preferred': on failure redial in plaintext; 'required': no fallback).
 */
export async function connectPeer(
  address: Address,
  infoHash: Uint8Array,
  options: ConnectOptions & { encryption?: EncryptionPolicy } = {}
): Promise<WireStream> {
  const policy = options.encryption ?? DEFAULT_ENCRYPTION;
  if (!dialsEncrypted(policy)) return connectTcp(address, options);
  const socket = await connectTcp(address, options);
  try {
    const { stream } = await mseInitiate(socket, {
      infoHash,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.signal ? { signal: options.signal } : {})
    });
    return stream;
  } catch (err) {
    if (policy === 'required' || options.signal?.aborted) throw err;
    return connectTcp(address, options);
  }
}
