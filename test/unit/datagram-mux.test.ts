/** One datagram socket for several protocols: routing by classifier, errors, close ownership. */
import { describe, expect, it } from '@jest/globals';
import { demuxTransport } from '../../lib/net/datagram-mux.js';
import type { Address } from '../../lib/net/address.js';
import type { DatagramHandler, Transport } from '../../lib/net/transport.js';
import { ST_SYN } from '../../lib/utp/constants.js';
import { encodeControl } from '../../lib/utp/packet.js';
import { shareUdpPort } from '../../lib/utp/shared-port.js';

class FakeTransport implements Transport {
  handler: DatagramHandler | null = null;
  errorHandler: ((err: Error) => void) | null = null;
  sent: [string, Address][] = [];
  closes = 0;
  send(data: Uint8Array, to: Address): void {
    this.sent.push([Buffer.from(data).toString(), to]);
  }
  sendv(parts: readonly Uint8Array[], to: Address): void {
    this.send(Buffer.concat(parts), to);
  }
  onMessage(h: DatagramHandler): void {
    this.handler = h;
  }
  onError(h: (err: Error) => void): void {
    this.errorHandler = h;
  }
  address(): Address {
    return { host: '127.0.0.1', port: 6881 };
  }
  close(): Promise<void> {
    this.closes++;
    return Promise.resolve();
  }
}

const from = { host: '10.0.0.9', port: 9 };

describe('demuxTransport', () => {
  it('routes by the classifier, sends through the shared socket, reports errors to every channel', () => {
    const base = new FakeTransport();
    const { a, b } = demuxTransport(base, ['a', 'b'] as const, (d) => (d[0] === 0x61 ? 'a' : 'b'));
    const got: string[] = [];
    a.onMessage((d) => got.push(`a:${Buffer.from(d).toString()}`));
    b.onMessage((d) => got.push(`b:${Buffer.from(d).toString()}`));
    base.handler!(Buffer.from('apple'), from);
    base.handler!(Buffer.from('banana'), from);
    expect(got).toEqual(['a:apple', 'b:banana']);
    a.send(Buffer.from('x'), from);
    b.send(Buffer.from('y'), from);
    a.sendv([Buffer.from('he'), Buffer.from('ad'), Buffer.from('er')], from);
    expect(base.sent.map(([d]) => d)).toEqual(['x', 'y', 'header']);
    expect(a.address()).toEqual(base.address());
    const errors: string[] = [];
    a.onError((e) => errors.push(`a:${e.message}`));
    b.onError((e) => errors.push(`b:${e.message}`));
    base.errorHandler!(new Error('EPERM'));
    expect(errors).toEqual(['a:EPERM', 'b:EPERM']);
  });

  it('closes the shared socket only with the last channel, and drops what a closed channel would get', async () => {
    const base = new FakeTransport();
    const { a, b } = demuxTransport(base, ['a', 'b'] as const, (d) => (d[0] === 0x61 ? 'a' : 'b'));
    let gotA = 0;
    a.onMessage(() => gotA++);
    await a.close();
    expect(base.closes).toBe(0);
    base.handler!(Buffer.from('after'), from);
    expect(gotA).toBe(0);
    a.send(Buffer.from('ignored'), from);
    a.sendv([Buffer.from('ignored')], from);
    expect(base.sent).toHaveLength(0);
    await b.close();
    await b.close();
    expect(base.closes).toBe(1);
  });
});

describe('shareUdpPort', () => {
  it('sends KRPC to the DHT side and uTP to the uTP side by the first byte', () => {
    const base = new FakeTransport();
    const { dht, utp } = shareUdpPort(base);
    const got: string[] = [];
    dht.onMessage(() => got.push('dht'));
    utp.onMessage(() => got.push('utp'));
    base.handler!(Buffer.from('d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q4:ping1:t2:aa1:y1:qe'), from);
    base.handler!(
      encodeControl({
        type: ST_SYN,
        connectionId: 1,
        timestampUs: 0,
        timestampDiffUs: 0,
        wndSize: 0,
        seqNr: 1,
        ackNr: 0
      }),
      from
    );
    base.handler!(Buffer.from('garbage that is neither'), from);
    expect(got).toEqual(['dht', 'utp', 'dht']);
  });
});
