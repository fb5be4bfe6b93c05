/**
 * The default state file of `download` and `seed`: a first run given a bootstrap node saves its
 * routing table in the user's state directory (here HOME is a temporary directory and
 * XDG_STATE_HOME is unset, so ~/.local/state/trackerless/dht.json); a second run given no
 * bootstrap list, no x.pe hint and no local discovery joins the DHT from that saved table,
 * finds the seeder through the DHT and completes. Two hosts in network namespaces the test
 * creates, with no route anywhere else: the public routers are unreachable, so nothing but
 * the saved table could have let the second run in.
 */
import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAIN } from '../support/cli-process.js';
import { netnsLanSuite } from '../support/netns-lan-suite.js';

const suite = netnsLanSuite(2, 'default-state');

describe('the default state file of the swarm commands', () => {
  it('a second download joins the DHT from the table the first one saved, with no bootstrap list', async () => {
    const { lan, dir, procs } = suite;
    const [hostA, hostB] = lan.hosts;
    await suite.expectNoRoute(1);
    const data = randomBytes(300_000);
    const file = join(dir, 'state.bin');
    await writeFile(file, data);

    const { node, hostPort: bootstrap } = await suite.startDhtNode(0);
    const seeder = procs.start(
      MAIN,
      ['seed', file, '--host', hostA!.ip, '--no-lsd', '--bootstrap', bootstrap!],
      150_000,
      lan.prefix(0)
    );
    const [, magnet] = await seeder.waitFor(/^(magnet:\?\S+)$/m, 30_000, 'the magnet link');
    await seeder.waitFor(/announced on the DHT: stored on [1-9]/, 30_000, 'the seeder announce');
    expect(magnet).not.toMatch(/x\.pe=/);

    // The user's home: a temporary directory; XDG_STATE_HOME unset (empty) so HOME decides.
    const home = join(dir, 'home');
    const env = { HOME: home, XDG_STATE_HOME: '' };
    const statePath = join(home, '.local', 'state', 'trackerless', 'dht.json');
    const download = (out: string, extra: string[]) =>
      procs.start(
        MAIN,
        [
          'download',
          magnet!,
          '--host',
          hostB!.ip,
          '--no-lsd',
          '--out',
          join(dir, out),
          '--timeout',
          '60',
          '--verbose',
          ...extra
        ],
        120_000,
        lan.prefix(1),
        env
      ).exited;

    const first = await download('first', ['--bootstrap', bootstrap!]);
    expect({ code: first.code, stderr: first.stderr.slice(-2000) }).toMatchObject({ code: 0 });
    const saved = JSON.parse(await readFile(statePath, 'utf8')) as {
      nodes: { host: string; port: number }[];
    };
    expect(saved.nodes.map((n) => `${n.host}:${n.port}`)).toContain(bootstrap);
    expect(existsSync(`${statePath}.lock`)).toBe(false);

    const second = await download('second', []);
    expect({ code: second.code, stderr: second.stderr.slice(-2000) }).toMatchObject({ code: 0 });
    expect(second.stderr).toMatch(/joined the DHT via state \(10\.77\.0\.1:\d+\)/);
    expect((await readFile(join(dir, 'second', 'state.bin'))).equals(data)).toBe(true);

    // --no-state: the same download from nothing it knows has no way in.
    const none = await download('none', ['--no-state', '--timeout', '8']);
    expect(none.code).toBe(1);
    expect(none.stderr).not.toMatch(/joined the DHT/);

    seeder.child.kill('SIGTERM');
    node.child.kill('SIGTERM');
    await Promise.all([seeder.exited, node.exited]);
  }, 200_000);
});
