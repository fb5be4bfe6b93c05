/** BEP 55 ut_holepunch: codec (both libtorrent's short form and BEP 55's), plugin over piped wires. */
import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { pipePair } from '../../lib/wire/memory-stream.js';
import { PeerWire } from '../../lib/wire/peer-wire.js';
import {
  decodeHolepunch,
  encodeHolepunch,
  HolepunchError,
  HolepunchType,
  UtHolepunch
} from '../../lib/wire/ut-holepunch.js';
import type { Address } from '../../lib/net/address.js';
import { FakeClock } from '../support/fake-clock.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const infoHash = new Uint8Array(createHash('sha1').update('holepunch').digest());

async function flush(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

describe('ut_holepunch codec', () => {
  it('writes BEP 55 messages byte for byte', () => {
    expect(
      hex(
        encodeHolepunch({
          type: HolepunchType.Rendezvous,
          address: { host: '1.2.3.4', port: 6881 },
          error: 0
        })
      )
    ).toBe('00' + '00' + '01020304' + '1ae1' + '00000000');
    expect(
      hex(encodeHolepunch({ type: HolepunchType.Error, address: { host: '::1', port: 80 }, error: 3 }))
    ).toBe('02' + '01' + '00000000000000000000000000000001' + '0050' + '00000003');
  });

  it('round-trips, and reads libtorrent messages that leave err_code out', () => {
    for (const address of [
      { host: '10.0.0.7', port: 1 },
      { host: '2001:db8::5', port: 65535 }
    ]) {
      for (const type of [HolepunchType.Rendezvous, HolepunchType.Connect]) {
        const full = encodeHolepunch({ type, address, error: 0 });
        expect(decodeHolepunch(full)).toEqual({ type, address, error: 0 });
        expect(decodeHolepunch(full.subarray(0, full.length - 4))).toEqual({ type, address, error: 0 });
      }
      const err = encodeHolepunch({ type: HolepunchType.Error, address, error: HolepunchError.NoSelf });
      expect(decodeHolepunch(err)).toEqual({ type: HolepunchType.Error, address, error: 4 });
    }
  });

  it('refuses malformed messages', () => {
    const ok = encodeHolepunch({
      type: HolepunchType.Connect,
      address: { host: '1.2.3.4', port: 9 },
      error: 0
    });
    const bad = [
      ok.subarray(0, 1),
      Uint8Array.from([3, ...ok.subarray(1)]), // unknown type
      Uint8Array.from([1, 2, ...ok.subarray(2)]), // unknown address type
      ok.subarray(0, 9), // truncated
      Uint8Array.from([...ok, 0]), // trailing byte
      encodeHolepunch({ type: HolepunchType.Connect, address: { host: '1.2.3.4', port: 1 }, error: 0 }).map(
        (b, i) => (i === 6 || i === 7 ? 0 : b)
      ), // port 0
      encodeHolepunch({ type: HolepunchType.Error, address: { host: '1.2.3.4', port: 9 }, error: 9 }), // code
      encodeHolepunch({
        type: HolepunchType.Error,
        address: { host: '1.2.3.4', port: 9 },
        error: 2
      }).subarray(0, 8) // no code
    ];
    for (const b of bad) expect(decodeHolepunch(b)).toBeUndefined();
  });
});

function wires(clock: FakeClock): { a: UtHolepunch; b: UtHolepunch; wa: PeerWire; wb: PeerWire } {
  const [sa, sb] = pipePair();
  const wa = new PeerWire(sa, { role: 'initiator', peerId: new Uint8Array(20).fill(1), infoHash, clock });
  const wb = new PeerWire(sb, { role: 'responder', peerId: new Uint8Array(20).fill(2), infoHash, clock });
  const a = new UtHolepunch({ maxPerMinute: 3 });
  const b = new UtHolepunch({ maxPerMinute: 3 });
  wa.use(a);
  wb.use(b);
  return { a, b, wa, wb };
}

describe('UtHolepunch plugin', () => {
  it('carries rendezvous, connect and error between two wires', async () => {
    const { a, b, wa } = wires(new FakeClock());
    await flush();
    expect(a.supported && b.supported).toBe(true);
    const got: string[] = [];
    const fmt = (x: Address): string => `${x.host}:${x.port}`;
    b.on('rendezvous', (t) => got.push(`rendezvous ${fmt(t)}`));
    a.on('connect', (p) => got.push(`connect ${fmt(p)}`));
    a.on('error', (t, code) => got.push(`error ${fmt(t)} ${code}`));
    expect(a.rendezvous({ host: '203.0.113.9', port: 51413 })).toBe(true);
    b.connect({ host: '198.51.100.2', port: 6881 });
    b.error({ host: '203.0.113.9', port: 51413 }, HolepunchError.NotConnected);
    await flush();
    expect(got).toEqual([
      'rendezvous 203.0.113.9:51413',
      'connect 198.51.100.2:6881',
      'error 203.0.113.9:51413 2'
    ]);
    wa.close();
  });

  it('acts on at most maxPerMinute messages from one peer', async () => {
    const clock = new FakeClock();
    const { a, b, wa } = wires(clock);
    await flush();
    let n = 0;
    b.on('rendezvous', () => n++);
    for (let i = 0; i < 10; i++) a.rendezvous({ host: '10.1.1.1', port: 1000 + i });
    await flush();
    expect(n).toBe(3);
    expect(b.ignoredMessages).toBe(7);
    clock.advance(60_000);
    a.rendezvous({ host: '10.1.1.1', port: 2000 });
    await flush();
    expect(n).toBe(4);
    wa.close();
  });
});
