/**
 * `seed --publish-key` with no bootstrap list: the seed joins the DHT by itself (here through
 * a LAN peer found by local discovery and its PORT message, the public routers being
 * unreachable) and must publish the BEP 46 item only once it is in, or the put reaches nobody.
 * Two hosts in network namespaces the test creates, no route anywhere else; another node then
 * reads the item back with `get`.
 */
import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMagnet } from '../../lib/magnet/magnet.js';
import { MAIN } from '../support/cli-process.js';
import { netnsLanSuite } from '../support/netns-lan-suite.js';

const suite = netnsLanSuite(2, 'publish-join');

describe('seed --publish-key without --bootstrap', () => {
  it('publishes once the DHT is joined, so a node stores the item and another reads it', async () => {
    const { lan, dir, procs } = suite;
    const [hostA, hostB] = lan.hosts;
    await suite.expectNoRoute(1);
    const file = join(dir, 'published.bin');
    await writeFile(file, randomBytes(100_000));

    const { node, hostPort: bootstrap } = await suite.startDhtNode(0);
    // No bootstrap list, no state: the seed joins the DHT only when a LAN peer's PORT message
    // gives it a node — after it printed its magnet link, when the publish used to run.
    const seeder = procs.start(
      MAIN,
      ['seed', file, '--host', hostB!.ip, '--no-state', '--publish-key', join(dir, 'key.pem'), '--verbose'],
      150_000,
      lan.prefix(1)
    );
    const [, magnet] = await seeder.waitFor(/^(magnet:\?xt\S+)$/m, 30_000, 'the magnet link');
    await new Promise((resolve) => setTimeout(resolve, 2000)); // the publish, had it not waited, is done now
    // A downloader on the other host (in the DHT through the node) announces itself on the LAN;
    // the seeder hears it, dials it, and joins the DHT through its PORT message.
    const downloader = procs.start(
      MAIN,
      [
        'download',
        magnet!,
        '--host',
        hostA!.ip,
        '--bootstrap',
        bootstrap,
        '--out',
        join(dir, 'out'),
        '--seed'
      ],
      150_000,
      lan.prefix(0)
    );
    const [, stored] = await seeder.waitFor(
      /published as version \d+ of [0-9a-f]{64}: stored on (\d+) of/,
      60_000,
      'the publish'
    );
    expect(seeder.stderr).toMatch(/joined the DHT via (lsd|peers)/);
    expect(Number(stored)).toBeGreaterThan(0);
    const [, link] = await seeder.waitFor(/^(magnet:\?xs=urn:btpk:\S+)$/m, 10_000, 'the follow link');
    const publicKey = /urn:btpk:([0-9a-f]{64})/.exec(link!)![1]!;

    const got = await procs.start(
      MAIN,
      ['get', publicKey, '--host', hostA!.ip, '--bootstrap', bootstrap, '--json', '--timeout', '20'],
      40_000,
      lan.prefix(0)
    ).exited;
    expect({ code: got.code, stderr: got.stderr.slice(-1000) }).toMatchObject({ code: 0 });
    expect(got.stdout).toContain(parseMagnet(magnet!).infoHashHex);
    for (const p of [seeder, downloader, node]) p.child.kill('SIGTERM');
    await Promise.all([seeder.exited, downloader.exited, node.exited]);
  }, 200_000);
});
