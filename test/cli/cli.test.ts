/**
 * The built `trackerless` binary (dist/cli/main.js, the bundle package.json's `bin` names) and the demo programs (`npm run demo`:
 * dist/examples/demo.js, the swarm demo; `npm run demo:dht`: dist/examples/dht-demo.js) as
 * real processes, on 127.0.0.1 only.
 *
 * dist/ is rebuilt first when it is missing or older than the sources, so this file also
 * works alone (`npx jest test/cli`). Every spawned process has a deadline and is killed in
 * afterAll if still alive.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MAIN,
  ROOT,
  Spawner,
  ensureBuilt as build,
  freeUdpPort,
  type Result
} from '../support/cli-process.js';

const DEMO = join(ROOT, 'dist/examples/demo.js');
const DHT_DEMO = join(ROOT, 'dist/examples/dht-demo.js');
const IH = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a';

const procs = new Spawner();

/** Run a script to completion (killed after `timeoutMs`). */
const run = (script: string, args: string[], timeoutMs = 30_000): Promise<Result> =>
  procs.run(script, args, timeoutMs);
const cli = (args: string[], timeoutMs?: number): Promise<Result> => run(MAIN, args, timeoutMs);
const ensureBuilt = (): void => build([MAIN, DEMO, DHT_DEMO]);

beforeAll(() => ensureBuilt(), 200_000);

afterAll(() => procs.killAll());

describe('trackerless CLI (spawned)', () => {
  it('rejects a bad infohash with exit 2 and a clear message', async () => {
    const r = await cli(['lookup', 'not-an-infohash', '--bootstrap', '127.0.0.1:1']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^trackerless: error: .*infohash must be 40 hex characters/);
  });

  it('rejects a bad port with exit 2 and a clear message', async () => {
    const node = await cli(['node', '--port', '70000', '--no-bootstrap']);
    expect(node.code).toBe(2);
    expect(node.stderr).toMatch(
      /^trackerless: error: option '-p, --port <port>' argument '70000' is invalid/
    );
    const announce = await cli(['announce', IH, '--port', 'http', '--bootstrap', '127.0.0.1:1']);
    expect(announce.code).toBe(2);
    expect(announce.stderr).toMatch(/argument 'http' is invalid. expected a port number/);
  });

  it('--version and --help exit 0', async () => {
    expect((await cli(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+/);
    const help = await cli(['announce', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--implied-port/);
  });

  it('node + announce + lookup through it on loopback; SIGTERM saves the state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trackerless-cli-'));
    const state = join(dir, 'node.json');
    // announce and lookup share one UDP port, so the lookup skips the finished announcer's
    // address (its own) instead of waiting for that dead node's query timeouts.
    const clientPort = String(await freeUdpPort());
    const node = procs.start(MAIN, [
      'node',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--no-bootstrap',
      '--state',
      state,
      '--stats-interval',
      '1',
      '--verbose'
    ]);
    try {
      const [, address, id] = await node.waitFor(
        /^listening (127\.0\.0\.1:\d+) id ([0-9a-f]{40})$/m,
        10_000,
        'the node to listen'
      );
      const client = ['--host', '127.0.0.1', '--dht-port', clientPort, '--bootstrap', address!];

      const announced = await cli(['announce', IH, '--port', '4567', ...client]);
      expect(announced.stderr).not.toMatch(/error/);
      expect(announced.code).toBe(0);
      expect(announced.stdout).toBe('stored on 1 of 1 nodes\n');
      await node.waitFor(new RegExp(`announce ${IH} 127\\.0\\.0\\.1:4567`), 5_000);

      const found = await cli(['lookup', IH, ...client, '--timeout', '20']);
      expect(found.code).toBe(0);
      expect(found.stdout).toBe('127.0.0.1:4567\n');
      expect(found.stderr).toMatch(new RegExp(`^lookup ${IH}: 1 peer in`, 'm'));

      const magnet = await cli([
        'lookup',
        `magnet:?xt=urn:btih:${IH}&dn=demo`,
        '--json',
        ...client,
        '--timeout',
        '20'
      ]);
      expect(magnet.code).toBe(0);
      expect(JSON.parse(magnet.stdout)).toEqual({ host: '127.0.0.1', port: 4567 });

      await node.waitFor(/^stats nodes=\d+ .*peers=1 /m, 5_000);
      node.child.kill('SIGTERM');
      expect((await node.exited).code).toBe(130); // stopped by a signal, state saved
      expect(node.stderr).toMatch(/stopping \(SIGTERM\)\nstate saved to .*\nstopped\n/);
      const saved = JSON.parse(await readFile(state, 'utf8')) as { id: string };
      expect(saved.id).toBe(id);
    } finally {
      node.child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('npm run demo:dht: the DHT demo finds the announced peer and exits 0', async () => {
    const r = await run(DHT_DEMO, [], 30_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^joined 50 nodes/m);
    expect(r.stdout).toMatch(/^announce from 127\.0\.0\.1:\d+: stored on [1-8] of \d+ closest nodes/m);
    expect(r.stdout).toMatch(/^lookup +from 127\.0\.0\.1:\d+: found 127\.0\.0\.1:6881/m);
    // Quick: bounded in CPU (about a second here), which a loaded machine does not stretch as
    // it does the time; the time is bounded by the demo's own 30 s watchdog and the run's.
    const [, cpuMs] =
      /^ok: the announced peer was found, \d+ ms in all \((\d+) ms of CPU\)$/m.exec(r.stdout) ?? [];
    expect(Number(cpuMs)).toBeLessThan(10_000);
  });

  it('npm run demo: 6 leechers get the file from a magnet link through the DHT; distribution time vs the bounds', async () => {
    // No wall-clock budget beyond a hard cap: the demo ends itself with exit 1 when nothing has
    // moved for 30 s, and its time otherwise follows the CPU the machine spares it (the seven
    // swarms share one process; over uTP it needs ~1.7x the CPU of TCP: at load 15-17 it took
    // 53-65 s against 27-34 s forced to TCP, docs/benchmarks.md). What does not drift with load
    // is asserted instead: the CPU it used.
    const r = await run(DEMO, [], 150_000);
    // stderr is not a terminal here: the live view is plain lines on stdout.
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^DHT: 20 nodes joined/m);
    expect(r.stdout).toMatch(/^magnet: magnet:\?xt=urn:btih:[0-9a-f]{40}&dn=demo\.bin$/m);
    expect(r.stdout).toMatch(/^t= *\d+\.\d s  seed up .* L6 +\d+%/m);
    expect(r.stdout).toMatch(/client-server  D_cs  >= max\(N·F\/u_s, F\/d_min\) = 36\.0 s/);
    expect(r.stdout).toMatch(/peer-to-peer   D_p2p >= .* = 9\.0 s/);
    const ratio = /measured \/ D_p2p = (\d+\.\d+)/.exec(r.stdout);
    expect(ratio).not.toBeNull();
    // At least the bound (it is a lower bound: the caps hold).
    expect(Number(ratio![1])).toBeGreaterThanOrEqual(1);
    // The peers traded: the leechers sent at least a quarter of all pieces (1.5 copies of the
    // file), where a seed-only distribution gives 0 %. Not "most of them": when the caps bind the
    // leechers send ~72 %, but the seven swarms share one process, and when it is starved of CPU
    // the caps no longer decide the split. The demo's peers speak uTP (the default), whose
    // per-byte CPU is several times TCP's; at load 11-15 the leechers sent 41-73 % (median 51 %,
    // 7 runs) over uTP and 72-73 % (3 runs) with the demo forced to TCP. How close to D_p2p
    // the time gets is not asserted either, for the same reason (1.5 to 6 x seen at load 11-17);
    // docs/benchmarks.md has it measured, with the load.
    const shares = /leechers [\d.]+ MiB \((\d+)% of all pieces sent\)/.exec(r.stdout);
    expect(shares).not.toBeNull();
    expect(Number(shares![1])).toBeGreaterThanOrEqual(25);
    expect(r.stdout).toMatch(/^ok: 6 leechers have the file, every piece verified/m);
    // 6.4-9.3 s at load 14-17 (docs/benchmarks.md): 30 s is a regression, whatever the load.
    const cpu = /^CPU of this process .*: (\d+\.\d) s \(user/m.exec(r.stdout);
    expect(cpu).not.toBeNull();
    expect(Number(cpu![1])).toBeLessThan(30);
  }, 170_000);
});
