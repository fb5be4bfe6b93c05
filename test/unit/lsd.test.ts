/**
 * BEP 14 local service discovery: the announce codec, the send schedule (rates of the BEP),
 * interface choice, and LocalDiscovery on an in-memory LAN in virtual time.
 */
import { describe, expect, it } from '@jest/globals';
import { AnnounceSchedule } from '../../lib/lsd/announce-schedule.js';
import {
  acceptsSource,
  addressScope,
  chooseInterfaces,
  type InterfaceAddress,
  type LsdInterface
} from '../../lib/lsd/interfaces.js';
import {
  announceLength,
  decodeAnnounce,
  encodeAnnounce,
  maxInfoHashesPerAnnounce
} from '../../lib/lsd/message.js';
import { LocalDiscovery } from '../../lib/lsd/local-discovery.js';
import { LSD_MAX_PACKET_BYTES } from '../../lib/lsd/constants.js';
import type { Address } from '../../lib/net/address.js';
import type { DatagramHandler, Transport } from '../../lib/net/transport.js';
import { fromHex, toHex } from '../../lib/util/bytes.js';
import { seededRandom } from '../../lib/util/random.js';
import { FakeClock } from '../support/fake-clock.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const ih = (n: number): Uint8Array => {
  const b = new Uint8Array(20);
  b[0] = n >> 8;
  b[1] = n & 0xff;
  b[19] = 1;
  return b;
};
const IH1 = fromHex('0123456789abcdef0123456789abcdef01234567');

describe('LSD announce codec', () => {
  it('writes the BEP 14 format byte for byte', () => {
    const packet = encodeAnnounce({ port: 6881, infoHashes: [IH1], cookie: 'c0ffee' }, 4);
    expect(dec(packet)).toBe(
      'BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\n' +
        'Infohash: 0123456789abcdef0123456789abcdef01234567\r\ncookie: c0ffee\r\n\r\n\r\n'
    );
    expect(dec(encodeAnnounce({ port: 1, infoHashes: [IH1] }, 6))).toContain(
      'Host: [ff15::efc0:988f]:6771\r\n'
    );
    expect(announceLength(4, 6881, 1, 'c0ffee')).toBe(packet.length);
  });

  it("reads libtorrent's announce (case of headers, hex case, trailing lines)", () => {
    const lt =
      'BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 51413\r\n' +
      'Infohash: 0123456789ABCDEF0123456789ABCDEF01234567\r\ncookie: 1a2b3c\r\n\r\n\r\n';
    expect(decodeAnnounce(enc(lt))).toEqual({ port: 51413, infoHashes: [IH1], cookie: '1a2b3c' });
    const other = 'bt-search * HTTP/1.0\r\nPORT: 7\r\nX-Future: yes\r\nINFOHASH: ' + toHex(IH1) + '\r\n\r\n';
    expect(decodeAnnounce(enc(other))).toEqual({ port: 7, infoHashes: [IH1] });
  });

  it('round-trips several infohashes and keeps packets within 1400 bytes', () => {
    const max = maxInfoHashesPerAnnounce(6, 65535, 'ffffffff');
    expect(max).toBeGreaterThanOrEqual(20);
    const many = Array.from({ length: max }, (_, i) => ih(i + 1));
    const packet = encodeAnnounce({ port: 65535, infoHashes: many, cookie: 'ffffffff' }, 6);
    expect(packet.length).toBeLessThanOrEqual(LSD_MAX_PACKET_BYTES);
    expect(announceLength(6, 65535, max + 1, 'ffffffff')).toBeGreaterThan(LSD_MAX_PACKET_BYTES);
    expect(decodeAnnounce(packet)!.infoHashes.map(toHex)).toEqual(many.map(toHex));
  });

  it.each([
    ['wrong method', 'M-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ' + toHex(IH1) + '\r\n\r\n'],
    ['no port', 'BT-SEARCH * HTTP/1.1\r\nInfohash: ' + toHex(IH1) + '\r\n\r\n'],
    ['port 0', 'BT-SEARCH * HTTP/1.1\r\nPort: 0\r\nInfohash: ' + toHex(IH1) + '\r\n\r\n'],
    ['port 65536', 'BT-SEARCH * HTTP/1.1\r\nPort: 65536\r\nInfohash: ' + toHex(IH1) + '\r\n\r\n'],
    ['port not decimal', 'BT-SEARCH * HTTP/1.1\r\nPort: 0x50\r\nInfohash: ' + toHex(IH1) + '\r\n\r\n'],
    ['two ports', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nPort: 2\r\nInfohash: ' + toHex(IH1) + '\r\n\r\n'],
    ['no infohash', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n\r\n'],
    ['short infohash', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: abcd\r\n\r\n'],
    ['zero infohash', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ' + '0'.repeat(40) + '\r\n\r\n'],
    ['no end of header', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ' + toHex(IH1) + '\r\n'],
    ['line without colon', 'BT-SEARCH * HTTP/1.1\r\nPort 1\r\nInfohash: ' + toHex(IH1) + '\r\n\r\n'],
    ['empty', ''],
    ['binary', '\u0000\u00ff\u0001']
  ])('drops an announce with %s', (_why, text) => {
    expect(decodeAnnounce(enc(text))).toBeNull();
  });

  it('skips bad and repeated infohash lines, caps their number, ignores overlong cookies', () => {
    const lines = ['BT-SEARCH * HTTP/1.1', 'Port: 9', 'Infohash: nothex', `Infohash: ${toHex(IH1)}`];
    lines.push(`Infohash: ${toHex(IH1)}`);
    for (let i = 1; i <= 40; i++) lines.push(`Infohash: ${toHex(ih(i))}`);
    lines.push(`cookie: ${'x'.repeat(65)}`, '', '');
    const a = decodeAnnounce(enc(lines.join('\r\n')))!;
    expect(a.infoHashes.length).toBe(32);
    expect(toHex(a.infoHashes[0]!)).toBe(toHex(IH1));
    expect(a.cookie).toBeUndefined();
  });

  it('never throws on random bytes', () => {
    const random = seededRandom(14);
    for (let i = 0; i < 500; i++) {
      const bytes = random.bytes(random.int(300));
      expect(() => decodeAnnounce(bytes)).not.toThrow();
    }
  });
});

describe('LSD announce schedule', () => {
  const minute = 60_000;
  const make = (maxPerPacket = 25) =>
    new AnnounceSchedule({ intervalMs: 5 * minute, minGapMs: minute, maxPerPacket });

  it('announces a new torrent at once, then every 5 minutes', () => {
    const s = make();
    s.add(ih(1), 6881, 1000);
    let p = s.next()!;
    expect(p.at).toBe(1000);
    s.sent(p, 1000);
    p = s.next()!;
    expect(p.at).toBe(1000 + 5 * minute);
  });

  it('never plans two packets less than a minute apart', () => {
    const s = make();
    s.add(ih(1), 6881, 0);
    s.sent(s.next()!, 0);
    s.add(ih(2), 6881, 10_000);
    const p = s.next()!;
    expect(p.at).toBe(minute);
    expect(p.infoHashes.map(toHex)).toEqual([toHex(ih(2))]);
  });

  it('over a long run: every torrent every <= 5 min while they fit, <= 1 packet/min, round robin beyond', () => {
    for (const torrents of [3, 30, 200]) {
      const s = make(25);
      for (let i = 0; i < torrents; i++) s.add(ih(i), 6881, 0);
      const lastSent = new Map<string, number>();
      let worstGap = 0;
      let packets = 0;
      let prev = -Infinity;
      for (let n = 0; n < 200; n++) {
        const p = s.next()!;
        expect(p.at - prev).toBeGreaterThanOrEqual(minute);
        expect(p.infoHashes.length).toBeLessThanOrEqual(25);
        prev = p.at;
        for (const h of p.infoHashes) {
          const k = toHex(h);
          if (lastSent.has(k)) worstGap = Math.max(worstGap, p.at - lastSent.get(k)!);
          lastSent.set(k, p.at);
        }
        s.sent(p, p.at);
        packets++;
      }
      expect(lastSent.size).toBe(torrents);
      if (torrents <= 5 * 25) expect(worstGap).toBeLessThanOrEqual(5 * minute);
      else expect(worstGap).toBeLessThanOrEqual(Math.ceil(torrents / 25) * minute);
      // Few torrents share packets: no more than one packet per interval for 3 torrents.
      if (torrents === 3) expect(packets * 5 * minute).toBeGreaterThanOrEqual(prev);
    }
  });

  it('keeps ports apart and forgets removed torrents', () => {
    const s = make();
    s.add(ih(1), 1000, 0);
    s.add(ih(2), 2000, 0);
    const p = s.next()!;
    expect(p.port).toBe(1000);
    expect(p.infoHashes.length).toBe(1);
    s.sent(p, 0);
    s.remove(ih(2));
    expect(s.next()!.infoHashes.map(toHex)).toEqual([toHex(ih(1))]);
    s.remove(ih(1));
    expect(s.next()).toBeNull();
  });
});

describe('LSD interfaces', () => {
  const machine: InterfaceAddress[] = [
    { name: 'lo', address: '127.0.0.1', family: 4, prefixLength: 8, internal: true },
    { name: 'lo', address: '::1', family: 6, prefixLength: 128, internal: true },
    { name: 'eth0', address: '192.168.1.20', family: 4, prefixLength: 24, internal: false },
    { name: 'eth0', address: 'fe80::1', family: 6, prefixLength: 64, internal: false },
    { name: 'wan0', address: '203.0.113.5', family: 4, prefixLength: 24, internal: false },
    { name: 'wan0', address: 'fe80::2', family: 6, prefixLength: 64, internal: false },
    { name: 'adhoc', address: '169.254.3.4', family: 4, prefixLength: 16, internal: false },
    { name: 'ula', address: 'fd00:1::5', family: 6, prefixLength: 64, internal: false }
  ];

  it('by default runs on private and link-local interfaces, never loopback or a public one', () => {
    const chosen = chooseInterfaces(machine, 'local');
    expect(chosen.map((i) => `${i.family}/${i.name}`).sort()).toEqual([
      '4/adhoc',
      '4/eth0',
      '6/eth0',
      '6/ula'
    ]);
    expect(chosen.find((i) => i.name === 'eth0' && i.family === 6)!.multicastInterface).toBe('::%eth0');
  });

  it('runs exactly where the user says (names or addresses), and refuses unknown ones', () => {
    expect(chooseInterfaces(machine, ['wan0']).map((i) => i.family)).toEqual([4, 6]);
    expect(chooseInterfaces(machine, ['127.0.0.1']).map((i) => i.multicastInterface)).toEqual(['127.0.0.1']);
    expect(() => chooseInterfaces(machine, ['eth9'])).toThrow(/eth9/);
  });

  it('accepts announces only from inside the interface subnet', () => {
    const eth0: LsdInterface = chooseInterfaces(machine, ['192.168.1.20'])[0]!;
    expect(acceptsSource(eth0, '192.168.1.77')).toBe(true);
    expect(acceptsSource(eth0, '192.168.2.77')).toBe(false);
    expect(acceptsSource(eth0, '10.0.0.1')).toBe(false);
    expect(acceptsSource(eth0, 'fe80::9')).toBe(false);
    const ula = chooseInterfaces(machine, ['ula'])[0]!;
    expect(acceptsSource(ula, 'fd00:1::9')).toBe(true);
    expect(acceptsSource(ula, 'fe80::9%ula')).toBe(true);
    expect(acceptsSource(ula, 'fd00:2::9')).toBe(false);
    expect(addressScope('100.64.0.1')).toBe('public');
    expect(addressScope('172.31.255.1')).toBe('local');
    expect(addressScope('172.32.0.1')).toBe('public');
  });
});

/** An in-memory multicast LAN: what one socket sends to the group reaches every socket on it. */
class FakeLan {
  readonly sockets: { host: string; handler: DatagramHandler | null; closed: boolean }[] = [];
  readonly sent: { from: string; data: Uint8Array; to: Address; at: number }[] = [];

  constructor(private readonly clock: FakeClock) {}

  open(host: string): Transport {
    const entry = { host, handler: null as DatagramHandler | null, closed: false };
    this.sockets.push(entry);
    const transport: Transport = {
      send: (data, to) => {
        this.sent.push({ from: host, data, to, at: this.clock.now() });
        for (const s of this.sockets) if (!s.closed) s.handler?.(data, { host, port: 6771 });
      },
      sendv: (parts, to) => transport.send(Buffer.concat(parts), to),
      onMessage: (h) => (entry.handler = h),
      onError: () => {},
      address: () => ({ host: '0.0.0.0', port: 6771 }),
      close: async () => {
        entry.closed = true;
      }
    };
    return transport;
  }

  inject(data: Uint8Array, from: string): void {
    for (const s of this.sockets) if (!s.closed) s.handler?.(data, { host: from, port: 6771 });
  }
}

describe('LocalDiscovery on an in-memory LAN (virtual time)', () => {
  const ifaceOf = (address: string): InterfaceAddress[] => [
    { name: 'eth0', address, family: 4, prefixLength: 24, internal: false }
  ];
  const open = (lan: FakeLan, clock: FakeClock, address: string, seed: number) =>
    LocalDiscovery.open({
      clock,
      random: seededRandom(seed),
      families: [4],
      systemInterfaces: () => ifaceOf(address),
      openSocket: async (iface) => lan.open(iface.multicastInterface)
    });

  it('two clients find each other for a shared torrent, in both directions, and ignore their own', async () => {
    const clock = new FakeClock();
    const lan = new FakeLan(clock);
    const a = await open(lan, clock, '10.0.0.2', 1);
    const b = await open(lan, clock, '10.0.0.3', 2);
    const heard: string[] = [];
    a.on('peer', (p, h) => heard.push(`a<-${p.host}:${p.port} ${toHex(h)}`));
    b.on('peer', (p, h) => heard.push(`b<-${p.host}:${p.port} ${toHex(h)}`));
    a.announce(IH1, 6881);
    b.announce(IH1, 7000);
    b.announce(ih(9), 7000); // only b is in this one: a hears nothing for it
    clock.advance(0);
    expect(heard.sort()).toEqual([`a<-10.0.0.3:7000 ${toHex(IH1)}`, `b<-10.0.0.2:6881 ${toHex(IH1)}`]);
    expect(a.stats.own).toBe(1);
    expect(b.stats.own).toBe(1);
    await a.close();
    await b.close();
  });

  it('sends at most one packet a minute and re-announces every torrent every 5 minutes', async () => {
    const clock = new FakeClock();
    const lan = new FakeLan(clock);
    const a = await open(lan, clock, '10.0.0.2', 1);
    a.announce(ih(1), 6881);
    clock.advance(1000);
    a.announce(ih(2), 6881);
    clock.advance(60 * 60_000);
    const times = lan.sent.map((s) => s.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(60_000);
    for (const torrent of [ih(1), ih(2)]) {
      const at = lan.sent.filter((s) =>
        decodeAnnounce(s.data)!.infoHashes.some((h) => toHex(h) === toHex(torrent))
      );
      expect(at.length).toBeGreaterThanOrEqual(12);
      for (let i = 1; i < at.length; i++) expect(at[i]!.at - at[i - 1]!.at).toBeLessThanOrEqual(5 * 60_000);
    }
    // The second torrent waited for the minute, then both shared packets.
    expect(times[1]).toBe(60_000);
    expect(lan.sent.length).toBeLessThanOrEqual(14);
    await a.close();
  });

  it('drops announces from outside the subnet, malformed ones, and a flooding source', async () => {
    const clock = new FakeClock();
    const lan = new FakeLan(clock);
    const a = await open(lan, clock, '10.0.0.2', 1);
    const heard: string[] = [];
    a.on('peer', (p) => heard.push(p.host));
    a.announce(IH1, 6881);
    const packet = encodeAnnounce({ port: 5000, infoHashes: [IH1] }, 4);
    lan.inject(packet, '172.16.0.9');
    expect(a.stats.foreign).toBe(1);
    lan.inject(enc('garbage'), '10.0.0.9');
    expect(a.stats.malformed).toBe(1);
    for (let i = 0; i < 100; i++) lan.inject(packet, '10.0.0.8');
    expect(heard.filter((h) => h === '10.0.0.8').length).toBeLessThanOrEqual(4);
    expect(a.stats.rateLimited).toBeGreaterThanOrEqual(96);
    // The source's budget refills slowly (one per 15 s).
    clock.advance(15_000);
    lan.inject(packet, '10.0.0.8');
    expect(heard.filter((h) => h === '10.0.0.8').length).toBeLessThanOrEqual(5);
    await a.close();
  });
});
