/**
 * BEP 33 against libtorrent 2.0 (python3-libtorrent) on loopback: our nodes announce with and
 * without the seed flag, each from its own 127.0.0.x address, to three libtorrent nodes; then
 * - each libtorrent node's BFsd/BFpe (asked with scrape=1) equals, byte for byte, the filter
 *   we build for the same IPs (both follow the BEP's pseudocode, or scrapes could not mix);
 * - dht.scrape() estimates the numbers of seeders and leechers from libtorrent's filters.
 * Announcers and scraper are read-only (BEP 43), so no one but libtorrent stores anything.
 * A missing python3-libtorrent is a failure, not a skip: CI installs it (.ci/run).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DHT, ScrapeBloomFilter, toHex } from '../../lib/index.js';
import { rawQuery } from '../support/raw-krpc.js';
import { parseIp } from '../../lib/net/ip.js';
import { LtNode, libtorrentProblem } from '../support/lt-node.js';
import { randomInfoHashHex, waitFor } from '../support/wait.js';

const SEEDS = 6;
const LEECHERS = 10;
/** Announcer i binds 127.0.0.(20 + i): libtorrent stores peers by IP. */
const announcerHost = (i: number): string => `127.0.0.${20 + i}`;

describe('BEP 33 scrape with libtorrent 2.0 on loopback', () => {
  const lts: LtNode[] = [];
  const ours: DHT[] = [];
  const infoHash = Buffer.from(randomInfoHashHex(), 'hex');

  beforeAll(async () => {
    const problem = libtorrentProblem();
    if (problem) {
      throw new Error(
        `python3-libtorrent is required for the interop tests: ${problem}. Install it: apt-get install -y python3-libtorrent (.ci/run does).`
      );
    }
    // Three independent libtorrent nodes; their bootstrap address is a dead loopback port.
    for (let i = 0; i < 3; i++) lts.push(await LtNode.start([{ host: '127.0.0.1', port: 9 }]));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(ours.map((d) => d.destroy()));
    await Promise.all(lts.map((l) => l.close()));
  });

  it('libtorrent stores the seed flags and its filters are ours, bit for bit', async () => {
    const bootstrap = lts.map((l) => `127.0.0.1:${l.port}`);
    ours.push(
      ...(await Promise.all(
        Array.from({ length: SEEDS + LEECHERS }, (_, i) =>
          DHT.create({ host: announcerHost(i), port: 0, bootstrap, readOnly: true })
        )
      ))
    );
    const results = await Promise.all(
      ours.map((dht, i) => dht.announce(infoHash, 7000 + i, { seed: i < SEEDS }))
    );
    for (const r of results) expect(r.storedOn).toBe(3);

    const expectedSeeds = new ScrapeBloomFilter();
    const expectedPeers = new ScrapeBloomFilter();
    for (let i = 0; i < SEEDS + LEECHERS; i++)
      (i < SEEDS ? expectedSeeds : expectedPeers).insertIp(parseIp(announcerHost(i))!);

    for (const lt of lts) {
      const reply = await rawQuery(lt.address, {
        method: 'get_peers',
        id: new Uint8Array(20).fill(0x42),
        infoHash,
        scrape: true
      });
      if (reply.type !== 'response') throw new Error(`libtorrent answered ${JSON.stringify(reply)}`);
      const body = reply.body;
      expect(toHex(body.BFsd!)).toBe(toHex(expectedSeeds.bytes));
      expect(toHex(body.BFpe!)).toBe(toHex(expectedPeers.bytes));
    }

    const scraper = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap, readOnly: true });
    ours.push(scraper);
    const scrape = await waitFor('a scrape that reaches the three libtorrent nodes', async () => {
      const s = await scraper.scrape(infoHash);
      return s.nodes === 3 ? s : undefined;
    });
    expect(Math.round(scrape.seeders)).toBe(SEEDS);
    expect(Math.round(scrape.leechers)).toBe(LEECHERS);
  }, 90_000);
});
