/** TcpPeerListener routing by infohash, SocketStream replay of the handshake, connectTcp failures. */
import { describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { TcpPeerListener } from '../../lib/engine/peers/tcp-peer-listener.js';
import { connectTcp } from '../../lib/net/tcp.js';
import type { Address } from '../../lib/net/address.js';
import { AbortError } from '../../lib/errors.js';
import { encodeHandshake, encodePieceHeader } from '../../lib/wire/messages.js';
import type { WireStream } from '../../lib/net/stream.js';

const hashA = new Uint8Array(20).fill(0xa);
const hashB = new Uint8Array(20).fill(0xb);
const peerId = new Uint8Array(20).fill(0x33);

function collect(stream: WireStream): { bytes: () => Buffer } {
  const chunks: Uint8Array[] = [];
  stream.onData((c) => chunks.push(c));
  return { bytes: () => Buffer.concat(chunks) };
}

function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

describe('TcpPeerListener', () => {
  it('routes each connection to the handler of its infohash and replays the handshake', async () => {
    const listener = await TcpPeerListener.listen({ host: '127.0.0.1', port: 0 });
    const got: { which: string; stream: WireStream; remote: Address }[] = [];
    const unregisterA = listener.register(hashA, (stream, remote) =>
      got.push({ which: 'A', stream, remote })
    );
    listener.register(hashB, (stream, remote) => got.push({ which: 'B', stream, remote }));
    expect(() => listener.register(hashA, () => {})).toThrow(/already registered/);
    try {
      const client = await connectTcp({ host: '127.0.0.1', port: listener.port });
      const hs = encodeHandshake({ infoHash: hashB, peerId });
      // Split the handshake across writes: the listener must wait for all 48 head bytes.
      client.write(hs.subarray(0, 10));
      await new Promise((r) => setTimeout(r, 20));
      client.write(hs.subarray(10));
      client.write(new Uint8Array([0, 0, 0, 1, 2])); // interested
      const routed = await waitUntil(() => got[0]);
      expect(routed.which).toBe('B');
      expect(routed.remote.host).toBe('127.0.0.1');
      const reader = collect(routed.stream);
      await waitUntil(() => reader.bytes().length >= 73 || undefined);
      expect(reader.bytes().equals(Buffer.concat([hs, Buffer.from([0, 0, 0, 1, 2])]))).toBe(true);

      // Writes flow back; close() ends both sides.
      const back = collect(client);
      routed.stream.write(new Uint8Array([9, 9, 9]));
      await waitUntil(() => back.bytes().length === 3 || undefined);
      const clientClosed = new Promise<void>((resolve) => client.onClose(resolve));
      routed.stream.close();
      await clientClosed;

      // After unregistering, that infohash is refused like any unknown one. Other first bytes
      // are taken for an MSE handshake: garbage is refused once past Ya + the 532-byte sync window.
      unregisterA();
      for (const payload of [
        encodeHandshake({ infoHash: hashA, peerId }),
        Buffer.from(`GET / HTTP/1.1\r\n${'x'.repeat(700)}\r\n\r\n`)
      ]) {
        const raw = net.connect(listener.port, '127.0.0.1');
        raw.on('error', () => {});
        raw.resume(); // read (the MSE responder answers with Yb) so that the FIN is seen
        raw.write(payload);
        await closed(raw);
      }
      expect(got).toHaveLength(1);
      expect(listener.stats.refused).toBe(2);
    } finally {
      await listener.close();
    }
  });

  it('connectTcp rejects for a closed port and on abort', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    await expect(connectTcp({ host: '127.0.0.1', port })).rejects.toThrow(/ECONNREFUSED/);
    const controller = new AbortController();
    controller.abort();
    await expect(
      connectTcp({ host: '127.0.0.1', port }, { signal: controller.signal })
    ).rejects.toBeInstanceOf(AbortError);
    await expect(connectTcp({ host: 'localhost', port })).rejects.toThrow(/IP literal/);
  });
});

describe('SocketStream writes', () => {
  it('sends gathered piece batches and small messages in order, with backpressure and drain', async () => {
    const listener = await TcpPeerListener.listen({ host: '127.0.0.1', port: 0 });
    const got: WireStream[] = [];
    listener.register(hashA, (stream) => got.push(stream));
    try {
      const client = await connectTcp({ host: '127.0.0.1', port: listener.port });
      const hs = encodeHandshake({ infoHash: hashA, peerId });
      client.write(hs);
      const server = await waitUntil(() => got[0]);
      const reader = collect(server);
      // A batch as PeerWire.pieces builds it, between small messages of the same tick.
      const block = (n: number): Uint8Array => new Uint8Array(16_384).fill(n);
      const expected: Uint8Array[] = [hs];
      const send = (parts: Uint8Array[], gathered: boolean): boolean => {
        expected.push(...parts);
        if (gathered) return client.writev!(parts);
        let ok = true;
        for (const p of parts) ok = client.write(p);
        return ok;
      };
      send([new Uint8Array([0, 0, 0, 1, 2])], false);
      expect(
        send(
          [encodePieceHeader(0, 0, 16_384), block(1), encodePieceHeader(0, 16_384, 16_384), block(2)],
          true
        )
      ).toBe(true);
      send([new Uint8Array([0, 0, 0, 5, 4, 0, 0, 0, 7])], false);
      send([new Uint8Array([0, 0, 0, 2, 20, 0]), new Uint8Array([1, 2])], true); // all small: joins the small buffer
      // Keep writing 1 MiB batches in one tick until the socket reports backpressure.
      let full = false;
      for (let i = 0; i < 8 && !full; i++)
        full = !send([encodePieceHeader(1, i, 1 << 20), new Uint8Array(1 << 20).fill(i)], true);
      expect(full).toBe(true);
      const drained = new Promise<void>((resolve) => client.onDrain(resolve));
      const total = expected.reduce((n, p) => n + p.length, 0);
      await waitUntil(() => (reader.bytes().length >= total ? true : undefined), 10_000);
      await drained;
      expect(reader.bytes().equals(Buffer.concat(expected))).toBe(true);
      client.close();
    } finally {
      await listener.close();
    }
  });
});

describe('SocketStream writev reports when its chunks are gone', () => {
  it('calls onWritten once per gathered write after its bytes left, and at once when closed', async () => {
    const server = net.createServer((s) => s.resume());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const client = await connectTcp({ host: '127.0.0.1', port });
      const reports: number[] = [];
      // 8 MiB in one tick: more than the socket takes at once, so most of it waits in Node.
      for (let i = 0; i < 8; i++)
        client.writev!([encodePieceHeader(1, i, 1 << 20), new Uint8Array(1 << 20).fill(i)], () =>
          reports.push(i)
        );
      expect(reports).toEqual([]); // nothing has left yet: still queued, corked
      await waitUntil(() => (reports.length === 8 ? true : undefined), 10_000);
      expect(reports).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      client.close();
      await new Promise<void>((resolve) => client.onClose(resolve));
      let late = false;
      expect(client.writev!([encodePieceHeader(1, 0, 2048), new Uint8Array(2048)], () => (late = true))).toBe(
        false
      );
      expect(late).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('SocketStream reading into the shared buffer (reuseReadBuffer)', () => {
  it('delivers every byte in order to two sockets at once, bytes that came before onData included', async () => {
    // Each connection gets 3 MiB of its own bytes (first byte: its number), sent at once, so the
    // first reads arrive before the client listens (copied, socket paused) and the rest later.
    const payload = (k: number): Buffer =>
      Buffer.from(Uint8Array.from({ length: 3 << 20 }, (_, i) => (i === 0 ? k : (i * 31 + k * 101) & 0xff)));
    let accepted = 0;
    const server = net.createServer((s) => s.end(payload(++accepted)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const clients = await Promise.all([
        connectTcp({ host: '127.0.0.1', port }, { reuseReadBuffer: true }),
        connectTcp({ host: '127.0.0.1', port }, { reuseReadBuffer: true })
      ]);
      await new Promise((r) => setTimeout(r, 100)); // the server's first bytes are here by now
      const received = clients.map((c) => {
        expect(c.chunksReused).toBe(true);
        const copies: Buffer[] = [];
        const buffers: ArrayBufferLike[] = [];
        c.onData((chunk) => {
          copies.push(Buffer.from(chunk)); // valid only during the callback: copy
          buffers.push(chunk.buffer);
        });
        return { copies, buffers, closed: new Promise<void>((resolve) => c.onClose(resolve)) };
      });
      await Promise.all(received.map((r) => r.closed));
      const got = received.map((r) => Buffer.concat(r.copies));
      expect(new Set(got.map((b) => b[0]))).toEqual(new Set([1, 2]));
      for (const b of got) expect(b.equals(payload(b[0]!))).toBe(true);
      // The first bytes came before onData: delivered from a copy. Later reads all land in one
      // buffer, the same for both sockets (no allocation per read).
      const [a, b] = received.map((r) => r.buffers);
      const shared = a![a!.length - 1]!;
      expect(b![b!.length - 1]).toBe(shared);
      expect(a![0]).not.toBe(shared);
      expect(b![0]).not.toBe(shared);
      for (const r of [a!, b!]) expect(r.filter((x) => x === shared).length).toBeGreaterThan(3);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

async function waitUntil<T>(check: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
