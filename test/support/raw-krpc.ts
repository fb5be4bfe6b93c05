/** One KRPC query from a plain UDP socket, to see exactly what another implementation answers. */
import { createUdpTransport } from '../../lib/net/udp-transport.js';
import { decodeMessage, encodeQuery } from '../../lib/krpc/codec.js';
import type { Message, Query } from '../../lib/krpc/types.js';
import type { Address } from '../../lib/net/address.js';

/** Send `query` (as a read-only node) from a fresh 127.0.0.1 socket; the reply, or a timeout error. */
export async function rawQuery(to: Address, query: Query, timeoutMs = 5_000): Promise<Message> {
  const socket = await createUdpTransport({ host: '127.0.0.1', port: 0 });
  const tid = Uint8Array.of(0x72, 0x71);
  try {
    return await new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${query.method} reply from ${to.host}:${to.port}`)),
        timeoutMs
      );
      socket.onMessage((data) => {
        const d = decodeMessage(data);
        if (d.ok && d.message.type !== 'query') {
          clearTimeout(timer);
          resolve(d.message);
        }
      });
      socket.send(encodeQuery(tid, query, { readOnly: true }), to);
    });
  } finally {
    await socket.close();
  }
}
