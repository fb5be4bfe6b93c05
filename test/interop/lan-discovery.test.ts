/**
 * A swarm with no central point at all: three hosts in network namespaces joined by a bridge
 * in a fourth, all built by this test, with no route anywhere else. Our `trackerless seed`, a libtorrent downloader
 * (enable_lsd, its DHT off) and our `trackerless download` get no bootstrap list (so the
 * public routers, unreachable here) and no x.pe hints: they find each other by BEP 14 local
 * service discovery alone, and both downloaders complete.
 *
 * Both directions of discovery with libtorrent are checked: our seeder hears libtorrent's
 * announce and dials it ("found by lsd" in the seeder's log), and libtorrent hears our
 * downloader's announce (its lsd_peer alert names our downloader's host; its DHT and PEX are
 * off, so it had no other way to learn that address). With no bootstrap list
 * and the routers unreachable, our two DHT nodes get in through each other's PORT messages
 * ("joined the DHT via ...").
 */
import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAIN, until } from '../support/cli-process.js';
import { netnsLanSuite } from '../support/netns-lan-suite.js';

const SIZE = 3 * 1024 * 1024 + 12_345;

const escape = (ip: string): string => ip.replace(/\./g, '\\.');

const suite = netnsLanSuite(3, 'lan');

describe('swarm on a LAN with no routers (BEP 14)', () => {
  it('our seeder, a libtorrent downloader and our downloader find each other by local discovery and complete', async () => {
    const { lan, dir, procs } = suite;
    const [, ourHost, ltHost] = lan.hosts;
    const data = randomBytes(SIZE);
    const file = join(dir, 'lan.bin');
    await writeFile(file, data);

    // Routers unreachable: prove the namespace really has no way out.
    await suite.expectNoRoute(0);

    const seeder = procs.start(MAIN, ['seed', file, '--verbose'], 150_000, lan.prefix(0));
    const [, magnet] = await seeder.waitFor(/^(magnet:\?\S+)$/m, 30_000, 'the magnet link');
    expect(magnet).not.toMatch(/x\.pe=/);

    // libtorrent starts second: its announce on adding the torrent reaches our seeder.
    const ltOut = join(dir, 'lt');
    const lt = await suite.startLsdLibtorrent(2, magnet!, ltHost!.ip);
    await seeder.waitFor(
      new RegExp(`peer ${escape(ltHost!.ip)}:${lt.port} found by lsd`),
      30_000,
      'our seeder to hear libtorrent'
    );

    // Our downloader starts last: libtorrent hears its announce and dials it. It keeps seeding
    // after the download (--seed): its DHT join through a peer's PORT message runs beside the
    // download, and a 3 MiB download can finish (and a plain download exit) before it.
    const out = join(dir, 'ours');
    const downloader = procs.start(
      MAIN,
      ['download', magnet!, '--out', out, '--verbose', '--seed'],
      150_000,
      lan.prefix(1)
    );
    await downloader.waitFor(/^done: /m, 120_000, 'our downloader to finish');
    // The seeder heard our downloader too (the downloader announced after everyone else).
    expect(seeder.stderr).toMatch(new RegExp(`peer ${escape(ourHost!.ip)}:\\d+ found by lsd`));
    expect((await readFile(join(out, 'lan.bin'))).equals(data)).toBe(true);
    // No bootstrap list, routers unreachable: both our DHT nodes got in through the LAN peers'
    // PORT messages (the seeder heard the downloader by LSD; the downloader was dialled by it).
    await downloader.waitFor(
      new RegExp(`joined the DHT via (lsd|peers) \\(${escape(lan.hosts[0]!.ip)}:\\d+\\)`),
      30_000,
      'our downloader to join the DHT through the seeder'
    );
    downloader.child.kill('SIGTERM');
    expect((await downloader.exited).code).toBe(130);
    await seeder.waitFor(
      new RegExp(`joined the DHT via lsd \\(${escape(ourHost!.ip)}:\\d+\\)`),
      10_000,
      'the seeder to join the DHT through our downloader'
    );

    await until(
      () => lt.events.some((e) => e.event === 'finished'),
      60_000,
      () => `libtorrent to finish: ${lt.describe()}`
    );
    expect((await readFile(join(ltOut, 'lan.bin'))).equals(data)).toBe(true);
    // libtorrent heard our downloader's announce: its lsd_peer alert names our downloader's host
    // (its DHT and PEX are off, so nothing else could tell it that address). Whether it then dials
    // is a race it need not win: our downloader may reach libtorrent first (its seeder's PEX names
    // libtorrent) and finish before libtorrent's dial, so a dial is logged but not required.
    await until(
      () => lt.events.some((e) => e.event === 'lsd_peer' && e.ip === ourHost!.ip),
      10_000,
      () => `libtorrent to report our downloader's LSD announce: ${lt.describe()}`
    );
    const dialled = lt.events.some(
      (e) =>
        e.event === 'status' &&
        (e.connections as { ip: string; outgoing: boolean }[]).some((c) => c.ip === ourHost!.ip && c.outgoing)
    );
    console.log(
      `[lan lsd] ${seeder.stderr
        .split('\n')
        .filter((l) => l.includes('found by'))
        .join('; ')}; libtorrent dialled our downloader: ${dialled}; ` +
        `libtorrent connections: ${JSON.stringify(lt.status?.connections ?? [])}`
    );
    seeder.child.kill('SIGTERM');
    await seeder.exited;
  }, 200_000);
});
