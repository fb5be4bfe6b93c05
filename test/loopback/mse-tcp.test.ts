/** Message Stream Encryption on real sockets: TcpPeerListener's responder and connectPeer's policies. */
import { describe, expect, it } from '@jest/globals';
import { connectPeer } from '../../lib/engine/peers/connect-peer.js';
import { TcpPeerListener } from '../../lib/engine/peers/tcp-peer-listener.js';
import type { Address } from '../../lib/net/address.js';
import { encodeHandshake } from '../../lib/wire/messages.js';
import type { EncryptionPolicy } from '../../lib/wire/mse.js';
import type { WireStream } from '../../lib/net/stream.js';
import { collect, until } from '../support/stream-collect.js';

const hashA = new Uint8Array(20).fill(0xa);
const hashB = new Uint8Array(20).fill(0xb);
const peerId = new Uint8Array(20).fill(0x33);

async function withListener(
  encryption: EncryptionPolicy,
  fn: (l: TcpPeerListener, got: { which: string; stream: WireStream; remote: Address }[]) => Promise<void>
): Promise<void> {
  const listener = await TcpPeerListener.listen({ host: '127.0.0.1', port: 0, encryption });
  const got: { which: string; stream: WireStream; remote: Address }[] = [];
  listener.register(hashA, (stream, remote) => got.push({ which: 'A', stream, remote }));
  listener.register(hashB, (stream, remote) => got.push({ which: 'B', stream, remote }));
  try {
    await fn(listener, got);
  } finally {
    await listener.close();
  }
}

describe('MSE over TCP', () => {
  it('the listener answers an encrypted dial, routes it by SKEY, and both sides see plaintext', async () => {
    await withListener('enabled', async (listener, got) => {
      const client = await connectPeer({ host: '127.0.0.1', port: listener.port }, hashB, {
        encryption: 'required'
      });
      expect((client as { method?: string }).method).toBe('rc4');
      const hs = encodeHandshake({ infoHash: hashB, peerId });
      const big = Buffer.alloc(2 * 1024 * 1024, 7);
      client.write(hs);
      client.writev!([big.subarray(0, 100), big.subarray(100)]);
      const routed = await until(() => got[0]);
      expect(routed.which).toBe('B');
      expect(routed.remote.host).toBe('127.0.0.1');
      const reader = collect(routed.stream);
      await until(() => reader.bytes().length >= hs.length + big.length);
      expect(reader.bytes().equals(Buffer.concat([hs, big]))).toBe(true);
      const back = collect(client);
      routed.stream.write(Buffer.from('pong'));
      await until(() => back.bytes().length === 4);
      expect(back.bytes().toString()).toBe('pong');
      expect(listener.stats).toEqual({ accepted: 1, encrypted: 1, refused: 0 });
      client.close();
    });
  });

  it("'required' refuses plaintext handshakes; an unknown SKEY is refused", async () => {
    await withListener('required', async (listener, got) => {
      const plain = await connectPeer({ host: '127.0.0.1', port: listener.port }, hashA, {
        encryption: 'enabled'
      });
      const p = collect(plain);
      plain.write(encodeHandshake({ infoHash: hashA, peerId }));
      await until(() => p.closed());
      await expect(
        connectPeer({ host: '127.0.0.1', port: listener.port }, new Uint8Array(20).fill(0xc), {
          encryption: 'required'
        })
      ).rejects.toThrow(/bad-encryption-handshake/);
      expect(got).toHaveLength(0);
      await until(() => listener.stats.refused === 2);
    });
  });

  it("'disabled' refuses MSE; a 'preferred' dialer then falls back to plaintext, a 'required' one fails", async () => {
    await withListener('disabled', async (listener, got) => {
      const address = { host: '127.0.0.1', port: listener.port };
      await expect(connectPeer(address, hashA, { encryption: 'required' })).rejects.toThrow(
        /bad-encryption-handshake/
      );
      const fallback = await connectPeer(address, hashA, { encryption: 'preferred' });
      expect((fallback as { method?: string }).method).toBeUndefined(); // a plain SocketStream
      fallback.write(encodeHandshake({ infoHash: hashA, peerId }));
      const routed = await until(() => got[0]);
      expect(routed.which).toBe('A');
      fallback.close();
      expect(listener.stats.refused).toBe(2);
      expect(listener.stats.encrypted).toBe(0);
    });
  });
});
