/** BEP 33 bloom filter: the spec's test vector (bytes and size estimate) and the union rule. */
import { describe, expect, it } from '@jest/globals';
import { BLOOM_BYTES, ScrapeBloomFilter } from '../../lib/scrape/bloom-filter.js';
import { fromHex, toHex } from '../../lib/util/bytes.js';

const SPEC_VECTOR = `
 F6C3F5EA A07FFD91 BDE89F77 7F26FB2B FF37BDB8 FB2BBAA2 FD3DDDE7 BACFFF75 EE7CCBAE
 FE5EEDB1 FBFAFF67 F6ABFF5E 43DDBCA3 FD9B9FFD F4FFD3E9 DFF12D1B DF59DB53 DBE9FA5B
 7FF3B8FD FCDE1AFB 8BEDD7BE 2F3EE71E BBBFE93B CDEEFE14 8246C2BC 5DBFF7E7 EFDCF24F
 D8DC7ADF FD8FFFDF DDFFF7A4 BBEEDF5C B95CE81F C7FCFF1F F4FFFFDF E5F7FDCB B7FD79B3
 FA1FC77B FE07FFF9 05B7B7FF C7FEFEFF E0B8370B B0CD3F5B 7F2BD93F EB4386CF DD6F7FD5
 BFAF2E9E BFFFFEEC D67ADBF7 C67F17EF D5D75EBA 6FFEBA7F FF47A91E B1BFBB53 E8ABFB57
 62ABE8FF 237279BF EFBFEEF5 FFC5FEBF DFE5ADFF ADFEE1FB 737FFFFB FD9F6AEF FEEE76B6
 FD8F72EF`.replace(/\s+/g, '');

/** 192.0.2.0 - 192.0.2.255 and 2001:DB8:: - 2001:DB8::3E7, inclusive (1,256 addresses). */
function specAddresses(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i <= 255; i++) out.push(Uint8Array.of(192, 0, 2, i));
  for (let i = 0; i <= 0x3e7; i++) {
    const ip = new Uint8Array(16);
    ip.set([0x20, 0x01, 0x0d, 0xb8]);
    ip[14] = i >> 8;
    ip[15] = i & 0xff;
    out.push(ip);
  }
  return out;
}

describe('BEP 33 scrape bloom filter', () => {
  it('reproduces the spec test vector and its size estimate', () => {
    const filter = new ScrapeBloomFilter();
    const ips = specAddresses();
    expect(ips).toHaveLength(1256);
    for (const ip of ips) filter.insertIp(ip);
    expect(toHex(filter.bytes).toUpperCase()).toBe(SPEC_VECTOR);
    expect(filter.estimate()).toBeCloseTo(1224.9308, 3);
    for (const ip of ips) expect(filter.mayContainIp(ip)).toBe(true);
  });

  it('estimates 0 for an empty filter and the union of two halves equals the whole', () => {
    expect(new ScrapeBloomFilter().estimate()).toBe(0);
    const ips = specAddresses();
    const a = new ScrapeBloomFilter();
    const b = new ScrapeBloomFilter();
    ips.forEach((ip, i) => (i % 2 === 0 ? a : b).insertIp(ip));
    a.union(b);
    expect(toHex(a.bytes).toUpperCase()).toBe(SPEC_VECTOR);
  });

  it('is insensitive to duplicates (it counts distinct IPs)', () => {
    const f = new ScrapeBloomFilter();
    for (let i = 0; i < 10; i++) f.insertIp(Uint8Array.of(10, 0, 0, 1));
    expect(f.estimate()).toBeCloseTo(1, 0);
  });

  it('saturates but stays finite when every bit is set', () => {
    const full = new ScrapeBloomFilter(new Uint8Array(BLOOM_BYTES).fill(0xff));
    expect(Number.isFinite(full.estimate())).toBe(true);
    expect(full.estimate()).toBeGreaterThan(6000);
  });

  it('rejects anything but IP addresses and 256-byte filters', () => {
    const f = new ScrapeBloomFilter();
    expect(() => f.insertIp(new Uint8Array(6))).toThrow(RangeError);
    expect(() => new ScrapeBloomFilter(new Uint8Array(255))).toThrow(RangeError);
    expect(() => f.union(fromHex('00'))).toThrow(RangeError);
  });
});
