/**
 * uTP over real UDP sockets on 127.0.0.1: bulk data both ways, Message Stream Encryption on a
 * uTP stream, and two engines exchanging a torrent over uTP (the peer wire unchanged).
 */
import { describe, expect, it } from '@jest/globals';
import { createCipheriv } from 'node:crypto';
import { BitTorrentEngine } from '../../lib/engine/bittorrent-engine.js';
import type { IncomingHandler, PeerListener } from '../../lib/engine/engine.js';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import { createUdpTransport } from '../../lib/net/udp-transport.js';
import type { Transport } from '../../lib/net/transport.js';
import { createTorrentFromBuffer } from '../../lib/torrent/create.js';
import type { UtpConnection } from '../../lib/utp/connection.js';
import { shareUdpPort } from '../../lib/utp/shared-port.js';
import { UtpSocket } from '../../lib/utp/socket.js';
import { DHT } from '../../lib/dht/dht.js';
import { toHex } from '../../lib/util/bytes.js';
import { mseInitiate, mseRespond } from '../../lib/wire/mse.js';
import type { WireStream } from '../../lib/net/stream.js';
import { collect, until } from '../support/stream-collect.js';

const HOST = '127.0.0.1';

function keystream(n: number, key: number): Buffer {
  const c = createCipheriv('aes-128-ctr', Buffer.alloc(16, key), Buffer.alloc(16, 0));
  return c.update(Buffer.alloc(n));
}

/** Like collect(), with a running length (polling bytes() would concatenate megabytes). */
function counted(stream: WireStream): ReturnType<typeof collect> & { length: () => number } {
  let n = 0;
  stream.onData((c) => (n += c.length));
  return { ...collect(stream), length: () => n };
}

async function sockets(): Promise<{
  a: UtpSocket;
  b: UtpSocket;
  tb: Transport;
  accepted: UtpConnection[];
  close: () => Promise<void>;
}> {
  const ta = await createUdpTransport({ host: HOST });
  const tb = await createUdpTransport({ host: HOST });
  const a = new UtpSocket(ta);
  const b = new UtpSocket(tb);
  const accepted: UtpConnection[] = [];
  b.onConnection((c) => accepted.push(c));
  return {
    a,
    b,
    tb,
    accepted,
    close: async () => {
      a.close();
      b.close();
      await Promise.all([ta.close(), tb.close()]);
    }
  };
}

describe('uTP over UDP on loopback', () => {
  it('moves 8 MiB each way at once, byte-identical, and closes cleanly', async () => {
    const s = await sockets();
    try {
      const client = await s.a.connect(s.tb.address());
      const server = await until(() => s.accepted[0]);
      const up = keystream(8 << 20, 1);
      const down = keystream(8 << 20, 2);
      const atServer = counted(server);
      const atClient = counted(client);
      const send = (conn: UtpConnection, data: Buffer): void => {
        let at = 0;
        const push = (): void => {
          while (at < data.length) {
            const chunk = data.subarray(at, at + 65536);
            at += chunk.length;
            if (!conn.write(chunk)) return;
          }
        };
        conn.onDrain(push);
        push();
      };
      send(client, up);
      send(server, down);
      await until(() => atServer.length() === up.length && atClient.length() === down.length, 60_000);
      expect(atServer.bytes().equals(up)).toBe(true);
      expect(atClient.bytes().equals(down)).toBe(true);
      client.close();
      await until(() => atServer.closed() && atClient.closed(), 10_000);
      await until(() => s.a.connectionCount === 0 && s.b.connectionCount === 0, 10_000);
      expect(s.a.stats.resetsSent + s.b.stats.resetsSent).toBe(0);
      expect(s.b.stats.malformed).toEqual({ short: 0, version: 0, type: 0, extension: 0, oversize: 0 });
    } finally {
      await s.close();
    }
  });

  it('runs Message Stream Encryption (RC4) over a uTP stream', async () => {
    const s = await sockets();
    try {
      const infoHash = new Uint8Array(20).fill(0x5a);
      const clientRaw = await s.a.connect(s.tb.address());
      const serverRaw = await until(() => s.accepted[0]);
      const [dialed, answered] = await Promise.all([
        mseInitiate(clientRaw, { infoHash }),
        mseRespond(serverRaw, { findSkey: () => infoHash, policy: 'enabled' })
      ]);
      expect((dialed.stream as { method?: string }).method).toBe('rc4');
      expect(toHex(answered.infoHash)).toBe(toHex(infoHash));
      const payload = keystream(1 << 20, 3);
      const got = counted(answered.stream);
      dialed.stream.write(payload);
      await until(() => got.length() === payload.length, 30_000);
      expect(got.bytes().equals(payload)).toBe(true);
      dialed.stream.close();
    } finally {
      await s.close();
    }
  });

  it('carries a torrent between two engines: the peer wire runs unchanged over uTP', async () => {
    const data = keystream(6 * 1024 * 1024 + 12345, 4);
    const info = createTorrentFromBuffer('utp.bin', data);
    const s = await sockets();
    let handler: IncomingHandler | null = null;
    s.b.onConnection((conn) => handler?.(conn, conn.remoteAddress));
    const listener: PeerListener = {
      port: s.tb.address().port,
      register: (_ih, h) => {
        handler = h;
        return () => (handler = null);
      }
    };
    const seed = new BitTorrentEngine({
      infoHash: info.infoHash,
      info,
      storage: MemoryStorage.fromData(info, data),
      existing: 'complete',
      seed: true,
      listener
    });
    const storage = new MemoryStorage(info);
    const leech = new BitTorrentEngine({
      infoHash: info.infoHash,
      info,
      storage,
      existing: 'none',
      connect: (address, opts) => s.a.connect(address, opts)
    });
    try {
      await seed.start();
      await leech.start();
      leech.addPeer({ host: HOST, port: listener.port }, 'manual');
      await leech.done({ signal: AbortSignal.timeout(60_000) });
      const got = Buffer.concat(
        await Promise.all(Array.from({ length: info.pieceCount }, (_, i) => storage.readPiece(i)))
      );
      expect(got.equals(data)).toBe(true);
      expect(s.b.stats.accepted).toBe(1);
    } finally {
      await leech.destroy();
      await seed.destroy();
      await s.close();
    }
  });

  it('shares one UDP port between a DHT node and uTP connections', async () => {
    const udp = await createUdpTransport({ host: HOST });
    const shared = shareUdpPort(udp);
    const node = await DHT.create({ transport: shared.dht, bootstrap: [] });
    const utp = new UtpSocket(shared.utp);
    const accepted: UtpConnection[] = [];
    utp.onConnection((c) => accepted.push(c));
    // A long query timeout: a ping the shared port lost or misrouted is still never answered,
    // but on a loaded machine (the stream and the pings share this process) an answer can be
    // seconds late; the default 2 s timed one out once.
    const other = await DHT.create({ host: HOST, port: 0, bootstrap: [], queryTimeoutMs: 20_000 });
    const ta = await createUdpTransport({ host: HOST });
    const dialer = new UtpSocket(ta);
    const port = udp.address().port;
    try {
      // Both at once: DHT queries to the port while a uTP stream runs through it.
      const client = await dialer.connect({ host: HOST, port });
      const server = await until(() => accepted[0]);
      const got = counted(server);
      const payload = keystream(2 << 20, 5);
      client.write(payload);
      const pings = await Promise.all(Array.from({ length: 20 }, () => other.ping({ host: HOST, port })));
      expect(pings.every((id) => toHex(id) === toHex(node.nodeId))).toBe(true);
      await until(() => got.length() === payload.length, 30_000);
      expect(got.bytes().equals(payload)).toBe(true);
      expect(node.stats().malformed).toBe(0);
      expect(utp.stats.malformed).toEqual({ short: 0, version: 0, type: 0, extension: 0, oversize: 0 });
      client.close();
    } finally {
      dialer.close();
      utp.close();
      await shared.utp.close();
      await node.destroy(); // closes the DHT's side: the socket goes with the second
      await other.destroy();
      await ta.close();
    }
  });
});
