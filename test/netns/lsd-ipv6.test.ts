/**
 * BEP 14 local service discovery over IPv6 ([ff15::efc0:988f]:6771): three hosts in network
 * namespaces the test creates, joined by a bridge, with unique-local addresses (fd77::/64, and
 * the link-local ones the kernel gives) and no route anywhere else. Local discovery runs on the
 * IPv6 address only (`--lsd-interfaces fd77::N`), so nothing can be found over IPv4. Our seeder,
 * a libtorrent 2.0.8 downloader listening on its IPv6 address with enable_lsd (its DHT and PEX
 * off) and our downloader find each other by IPv6 announces alone and complete.
 */
import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAIN, until } from '../support/cli-process.js';
import { netnsLanSuite } from '../support/netns-lan-suite.js';

const SIZE = 2 * 1024 * 1024 + 777;
const ula = (i: number): string => `fd77::${i + 1}`;

const suite = netnsLanSuite(3, 'lsd6', async (lan) => {
  for (let i = 0; i < 3; i++)
    await lan.exec(i, 'ip', '-6', 'addr', 'add', `${ula(i)}/64`, 'dev', 'eth0', 'nodad');
});

describe('local service discovery over IPv6 (BEP 14)', () => {
  it('our seeder, a libtorrent downloader and our downloader find each other by IPv6 announces and complete', async () => {
    const { lan, dir, procs } = suite;
    await suite.expectNoRoute(0, '2001:db8::1');
    const data = randomBytes(SIZE);
    const file = join(dir, 'lsd6.bin');
    await writeFile(file, data);

    const seeder = procs.start(
      MAIN,
      ['seed', file, '--ipv6', '--lsd-interfaces', ula(0), '--verbose'],
      150_000,
      lan.prefix(0)
    );
    const [, magnet] = await seeder.waitFor(/^(magnet:\?\S+)$/m, 30_000, 'the magnet link');
    expect(magnet).not.toMatch(/x\.pe=/);

    const ltOut = join(dir, 'lt');
    const lt = await suite.startLsdLibtorrent(2, magnet!, ula(2));
    await seeder.waitFor(
      new RegExp(`peer \\[${ula(2)}\\]:${lt.port} found by lsd`),
      30_000,
      'our seeder to hear libtorrent over IPv6'
    );

    const out = join(dir, 'ours');
    const downloader = procs.start(
      MAIN,
      ['download', magnet!, '--out', out, '--ipv6', '--lsd-interfaces', ula(1), '--verbose'],
      150_000,
      lan.prefix(1)
    );
    const done = await downloader.exited;
    expect({ code: done.code, stderr: done.stderr.slice(-2000) }).toMatchObject({ code: 0 });
    // The seeder heard our downloader's IPv6 announce too (and dialled it).
    expect(seeder.stderr).toMatch(new RegExp(`peer \\[${ula(1)}\\]:\\d+ found by lsd`));
    expect((await readFile(join(out, 'lsd6.bin'))).equals(data)).toBe(true);
    await until(
      () => lt.events.some((e) => e.event === 'finished'),
      60_000,
      () => `libtorrent to finish: ${lt.describe()}`
    );
    expect((await readFile(join(ltOut, 'lsd6.bin'))).equals(data)).toBe(true);
    // libtorrent heard our downloader's IPv6 announce (its lsd_peer alert).
    expect(lt.events.some((e) => e.event === 'lsd_peer' && e.ip === ula(1))).toBe(true);
    console.log(
      `[lsd ipv6] ${seeder.stderr
        .split('\n')
        .filter((l) => l.includes('found by'))
        .join(
          '; '
        )}; libtorrent heard: ${JSON.stringify(lt.events.filter((e) => e.event === 'lsd_peer').map((e) => e.ip))}`
    );
    seeder.child.kill('SIGTERM');
    await seeder.exited;
  }, 200_000);
});
