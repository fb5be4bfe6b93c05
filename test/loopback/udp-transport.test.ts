import { describe, expect, it } from '@jest/globals';
import { SendError } from '../../lib/errors.js';
import type { Address } from '../../lib/net/address.js';
import { createUdpTransport } from '../../lib/net/udp-transport.js';
import type { Transport } from '../../lib/net/transport.js';

function nextMessage(t: Transport): Promise<{ data: Uint8Array; from: Address }> {
  return new Promise((resolve) => t.onMessage((data, from) => resolve({ data, from })));
}

function nextError(t: Transport): Promise<Error> {
  return new Promise((resolve) => t.onError(resolve));
}

describe('UDP transport (loopback)', () => {
  it('exchanges datagrams between two transports on port 0', async () => {
    const a = await createUdpTransport({ host: '127.0.0.1', port: 0 });
    const b = await createUdpTransport({ host: '127.0.0.1' });
    try {
      expect(a.address().host).toBe('127.0.0.1');
      expect(a.address().port).toBeGreaterThan(0);
      const atB = nextMessage(b);
      a.send(new Uint8Array([1, 2, 3]), b.address());
      const got = await atB;
      expect(Array.from(got.data)).toEqual([1, 2, 3]);
      expect(got.from).toEqual(a.address());
      const atA = nextMessage(a);
      b.send(new Uint8Array([4]), got.from);
      expect(Array.from((await atA).data)).toEqual([4]);
      // A gathered datagram arrives as one, its parts in order.
      const gathered = nextMessage(b);
      a.sendv([new Uint8Array([5, 6]), new Uint8Array(0), new Uint8Array([7])], b.address());
      expect(Array.from((await gathered).data)).toEqual([5, 6, 7]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('gives the datagrams of one sender one frozen address, and another sender its own', async () => {
    const a = await createUdpTransport({ host: '127.0.0.1' });
    const b = await createUdpTransport({ host: '127.0.0.1' });
    const c = await createUdpTransport({ host: '127.0.0.1' });
    try {
      const froms: Address[] = [];
      let reached: { n: number; resolve: () => void } | null = null;
      const count = (n: number): Promise<void> =>
        new Promise((resolve) => (froms.length >= n ? resolve() : (reached = { n, resolve })));
      c.onMessage((_data, from) => {
        froms.push(from);
        if (reached !== null && froms.length >= reached.n) reached.resolve();
      });
      a.send(new Uint8Array([1]), c.address());
      a.send(new Uint8Array([2]), c.address());
      await count(2); // a's two arrive before b's
      b.send(new Uint8Array([3]), c.address());
      await count(3);
      expect(froms.map((f) => ({ ...f }))).toEqual([a.address(), a.address(), b.address()]);
      expect(froms[1]).toBe(froms[0]);
      expect(Object.isFrozen(froms[0])).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('drops datagrams above the receive cap', async () => {
    const a = await createUdpTransport({ host: '127.0.0.1' });
    const b = await createUdpTransport({ host: '127.0.0.1' });
    try {
      const sizes: number[] = [];
      const done = new Promise<void>((resolve) =>
        b.onMessage((data) => {
          sizes.push(data.length);
          if (data.length === 10) resolve();
        })
      );
      a.send(new Uint8Array(4000), b.address());
      a.send(new Uint8Array(10), b.address()); // loopback keeps order: arrives after the big one
      await done;
      expect(sizes).toEqual([10]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('rejects a bind conflict with a typed error', async () => {
    const a = await createUdpTransport({ host: '127.0.0.1' });
    try {
      await expect(createUdpTransport({ host: '127.0.0.1', port: a.address().port })).rejects.toMatchObject({
        code: 'ERR_INVALID_ADDRESS',
        cause: expect.objectContaining({ code: 'EADDRINUSE' })
      });
      await expect(createUdpTransport({ host: 'localhost' })).rejects.toMatchObject({
        code: 'ERR_INVALID_ADDRESS'
      });
      await expect(createUdpTransport({ host: '127.0.0.1', port: 65536 })).rejects.toMatchObject({
        code: 'ERR_INVALID_PORT'
      });
    } finally {
      await a.close();
    }
  });

  it('an IPv4 and an IPv6 node can share a port number (the IPv6 socket is IPv6-only)', async () => {
    const v4 = await createUdpTransport({ host: '0.0.0.0', port: 0 });
    try {
      const v6 = await createUdpTransport({ host: '::', port: v4.address().port });
      expect(v6.address().port).toBe(v4.address().port);
      await v6.close();
    } finally {
      await v4.close();
    }
  });

  it('never throws from send; errors go to onError', async () => {
    const a = await createUdpTransport({ host: '127.0.0.1' });
    try {
      // Each is a SendError naming the destination, the system's or Node's code beside it.
      let err = nextError(a);
      expect(() => a.send(new Uint8Array(1), { host: '127.0.0.1', port: 70000 })).not.toThrow();
      expect(await err).toMatchObject({
        code: 'ERR_SEND_FAILED',
        systemCode: 'ERR_SOCKET_BAD_PORT',
        to: { host: '127.0.0.1', port: 70000 }
      });
      err = nextError(a);
      a.send(new Uint8Array(1), { host: 'example.invalid', port: 1 }); // never resolved via DNS
      expect(await err).toMatchObject({ code: 'ERR_SEND_FAILED', systemCode: 'ERR_INVALID_ADDRESS' });
      expect(((await err) as SendError).to.host).toBe('example.invalid');
      err = nextError(a);
      a.send(new Uint8Array(1), { host: '::1', port: 1 }); // IPv6 on an IPv4 socket
      expect(await err).toMatchObject({ code: 'ERR_SEND_FAILED', systemCode: 'ERR_INVALID_ADDRESS' });
      expect(await err).toBeInstanceOf(SendError);
      err = nextError(a);
      expect(() => a.sendv([new Uint8Array(1)], { host: '127.0.0.1', port: 70000 })).not.toThrow();
      expect(await err).toMatchObject({ code: 'ERR_SEND_FAILED', to: { host: '127.0.0.1', port: 70000 } });
    } finally {
      await a.close();
    }
    expect(() => a.send(new Uint8Array(1), { host: '127.0.0.1', port: 1 })).not.toThrow();
    expect(() => a.sendv([new Uint8Array(1)], { host: '127.0.0.1', port: 1 })).not.toThrow();
  });

  it('close is idempotent and leaves no handles', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
    const a = await createUdpTransport({ host: '127.0.0.1' });
    expect(process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length).toBe(before + 1);
    const first = a.close();
    const second = a.close();
    await Promise.all([first, second]);
    await a.close();
    expect(process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length).toBe(before);
  });
});
