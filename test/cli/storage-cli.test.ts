/**
 * `trackerless put` / `get` (BEP 44) as spawned processes against a spawned `trackerless node`
 * on 127.0.0.1: the node stores and serves items like any DHT node.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN, Spawner, ensureBuilt, freeUdpPort, type Running } from '../support/cli-process.js';

const procs = new Spawner();
let node: Running;
let dir: string;
let client: string[];

beforeAll(async () => {
  ensureBuilt([MAIN]);
  dir = await mkdtemp(join(tmpdir(), 'trackerless-items-'));
  node = procs.start(
    MAIN,
    ['node', '--host', '127.0.0.1', '--port', '0', '--no-bootstrap', '--stats-interval', '1'],
    120_000
  );
  const [, address] = await node.waitFor(/^listening (127\.0\.0\.1:\d+) /m, 10_000);
  // Every client uses the same UDP port: a finished client's address is then its own, never a
  // dead node a later lookup would wait for.
  client = [
    '--host',
    '127.0.0.1',
    '--dht-port',
    String(await freeUdpPort()),
    '--bootstrap',
    address!,
    '--timeout',
    '20'
  ];
}, 200_000);

afterAll(async () => {
  await procs.killAll();
  await rm(dir, { recursive: true, force: true });
});

const cli = (args: string[]) => procs.run(MAIN, [...args, ...client], 30_000);

describe('trackerless put / get (spawned, against a spawned node)', () => {
  it('immutable: put prints the SHA-1 of the bencoded value, get prints the value', async () => {
    const put = await cli(['put', 'Hello World!']);
    expect(put.stderr).toMatch(/stored on 1 of 1 nodes/);
    expect(put.code).toBe(0);
    expect(put.stdout).toBe('e5f96f6f38320f0f33959cb4d3d656452117aadb\n'); // BEP 44 test 3
    const get = await cli(['get', 'e5f96f6f38320f0f33959cb4d3d656452117aadb']);
    expect(get.code).toBe(0);
    expect(get.stdout).toBe('Hello World!\n');
    await node.waitFor(/^stats .* items=1 /m, 5_000, 'the node to report its stored item');
  });

  it('mutable: a key file is created, seq counts up, get returns the newest; --json has the metadata', async () => {
    const key = join(dir, 'feed.pem');
    const v1 = await cli(['put', 'version 1', '--key', key, '--salt', 'feed']);
    expect(v1.code).toBe(0);
    const [publicKey, seq1] = v1.stdout.trim().split(' ');
    expect(publicKey).toMatch(/^[0-9a-f]{64}$/);
    expect(seq1).toBe('1');
    expect(await readFile(key, 'utf8')).toMatch(/BEGIN PRIVATE KEY/);
    const v2 = await cli(['put', 'version 2', '--key', key, '--salt', 'feed']);
    expect(v2.stdout).toBe(`${publicKey} 2\n`);

    const got = await cli(['get', publicKey!, '--salt', 'feed']);
    expect(got.code).toBe(0);
    expect(got.stdout).toBe('version 2\n');
    const json = JSON.parse((await cli(['get', publicKey!, '--salt', 'feed', '--json'])).stdout) as Record<
      string,
      unknown
    >;
    expect(json).toMatchObject({ publicKey, salt: 'feed', seq: 2, text: 'version 2' });
    expect(Buffer.from(json.value as string, 'base64').toString()).toBe('9:version 2');

    // An explicit older seq is refused by the node (302): exit 1, nothing changes.
    const old = await cli(['put', 'version 0', '--key', key, '--salt', 'feed', '--seq', '1']);
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/refused by 1 \(302\)/);
    expect((await cli(['get', publicKey!, '--salt', 'feed'])).stdout).toBe('version 2\n');
    // Another salt is another item: none.
    const none = await cli(['get', publicKey!, '--salt', 'other']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/not found/);
  });

  it('bad arguments exit 2', async () => {
    expect((await cli(['get', 'xyz'])).code).toBe(2);
    expect((await cli(['put', 'x', '--salt', 's'])).stderr).toMatch(/add --key FILE/);
    expect((await cli(['put', 'x', '--key', join(dir, 'k.pem'), '--salt', 's'.repeat(65)])).code).toBe(2);
  });
});
