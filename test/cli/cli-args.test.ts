/**
 * The CLI in-process, through runCli with a fake CliIO: argument errors and exit codes, and
 * the commands against a live DHT on 127.0.0.1. Always passes loopback bootstrap nodes (or
 * --no-bootstrap): an absent --bootstrap would mean the public routers.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliIO } from '../../lib/cli/program.js';
import { nodeCommand } from '../../lib/cli/commands/node.js';
import { lookupCommand } from '../../lib/cli/commands/lookup.js';
import { announceCommand } from '../../lib/cli/commands/announce.js';
import { dhtOptionsFrom } from '../../lib/cli/session.js';
import { DHT, formatAddress } from '../../lib/index.js';
import { Command } from 'commander';

const COMMANDS = [nodeCommand, lookupCommand, announceCommand];
const IH = '0123456789abcdef0123456789abcdef01234567';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function fakeIO(): { io: CliIO; out: string[]; err: string[]; interrupt: AbortController } {
  const out: string[] = [];
  const err: string[] = [];
  const interrupt = new AbortController();
  return {
    io: { stdout: (s) => out.push(s), stderr: (s) => err.push(s), interrupt: interrupt.signal },
    out,
    err,
    interrupt
  };
}

async function cli(...argv: string[]): Promise<Run> {
  const { io, out, err } = fakeIO();
  const code = await runCli(argv, { commands: COMMANDS, io });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('CLI arguments (in-process)', () => {
  it('shows help: exit 0 with --help, exit 2 with no command', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: trackerless/);
    for (const name of ['node', 'lookup', 'announce']) expect(help.stdout).toContain(name);
    const none = await cli();
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/Usage: trackerless/);
    expect((await cli('lookup', '--help')).stdout).toMatch(/--bootstrap/);
  });

  it.each([
    [['lookup', 'nothex'], /trackerless: error: .*infohash must be 40 hex/],
    [['lookup', 'a'.repeat(41)], /infohash must be 40 hex/],
    [['lookup', 'magnet:?xt=urn:btih:zz'], /invalid magnet link/],
    [['lookup', 'magnet:?dn=nohash'], /missing xt=urn:btih/],
    [['lookup'], /missing required argument/],
    [['lookup', IH, 'extra'], /too many arguments/],
    [['lookup', IH, '--timeout', '0'], /--timeout .* is invalid/],
    [['lookup', IH, '--timeout', 'soon'], /--timeout .* is invalid/],
    [['lookup', IH, '--bootstrap', 'nohost'], /--bootstrap .* is invalid. expected "host:port"/],
    [['lookup', IH, '--bootstrap', '127.0.0.1:0'], /--bootstrap .* is invalid/],
    [['lookup', IH, '--bootstrap', '127.0.0.1:99999'], /--bootstrap .* is invalid/],
    [['lookup', IH, '--host', 'localhost'], /--host .* is invalid. expected an IP address/],
    [['node', '--port', '70000'], /--port .* argument '70000' is invalid/],
    [['node', '--port', 'abc'], /--port .* argument 'abc' is invalid/],
    [['node', '--port', '-1'], /--port/],
    [['node', '--stats-interval', '-5'], /--stats-interval/],
    [['node', '--frobnicate'], /unknown option '--frobnicate'/],
    [['announce', IH], /announce needs --port/],
    [['announce', IH, '--port', '0'], /--port .* argument '0' is invalid/],
    [['announce', IH, '--port', '65536'], /--port .* is invalid/],
    [['bogus'], /unknown command 'bogus'/]
  ])('%j -> exit 2 with a clear message', async (argv, message) => {
    const run = await cli(...argv);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^trackerless: error: /);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });

  it('--bootstrap: absent = library default (public routers), --no-bootstrap = none, repeatable', () => {
    const parse = (...argv: string[]) => {
      const program = new Command('t').exitOverride();
      const sub = program.command('node');
      nodeCommand.configure(sub);
      sub.action(() => {});
      program.parse(['node', ...argv], { from: 'user' });
      return dhtOptionsFrom(sub.opts(), 0);
    };
    expect(parse()).not.toHaveProperty('bootstrap'); // DHT then uses DEFAULT_BOOTSTRAP
    expect(parse('--no-bootstrap').bootstrap).toEqual([]);
    expect(parse('-b', '127.0.0.1:1', '--no-bootstrap').bootstrap).toEqual([]); // last one wins
    expect(
      parse('--no-bootstrap', '-b', '127.0.0.1:1,127.0.0.1:2', '--bootstrap', '[::1]:3').bootstrap
    ).toEqual(['127.0.0.1:1', '127.0.0.1:2', '[::1]:3']);
    expect(parse('--host', '127.0.0.1', '--state', 's.json')).toEqual({
      host: '127.0.0.1',
      port: 0,
      statePath: 's.json'
    });
  });

  it('reports a run-time failure with exit 1 (port already in use)', async () => {
    const taken = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [] });
    try {
      const run = await cli(
        'node',
        '--host',
        '127.0.0.1',
        '--port',
        String(taken.address().port),
        '--no-bootstrap'
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/trackerless: error: cannot bind UDP .*EADDRINUSE/);
    } finally {
      await taken.destroy();
    }
  });
});

describe('CLI commands against a loopback DHT (in-process)', () => {
  let entry: DHT;
  let seeder: DHT;
  let bootstrap: string;
  /**
   * Every CLI run below binds this same UDP port. A finished run leaves its node in the
   * others' routing tables; the next run sees that address as its own and skips it, instead
   * of waiting for a dead node's query timeouts (2 x 2 s per lookup).
   */
  let dhtPort: string;
  const local = (): string[] => ['--host', '127.0.0.1', '--dht-port', dhtPort, '--bootstrap', bootstrap];

  beforeAll(async () => {
    dhtPort = String(await freeUdpPort());
    entry = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [] });
    bootstrap = formatAddress(entry.address());
    seeder = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [bootstrap] });
    const result = await seeder.announce(IH, 4567);
    expect(result.storedOn).toBe(1);
  });

  afterAll(async () => {
    await Promise.all([seeder?.destroy(), entry?.destroy()]);
  });

  it('lookup prints the announced peer, then a summary on stderr', async () => {
    const run = await cli('lookup', IH, ...local(), '--timeout', '20');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('127.0.0.1:4567\n');
    expect(run.stderr).toMatch(new RegExp(`lookup ${IH}: 1 peer in .* \\(done, \\d+ queries`));
  });

  it('lookup --json accepts a magnet link and prints JSON lines', async () => {
    const run = await cli('lookup', `magnet:?xt=urn:btih:${IH.toUpperCase()}&dn=x`, '--json', ...local());
    expect(run.code).toBe(0);
    expect(
      run.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
    ).toEqual([{ host: '127.0.0.1', port: 4567 }]);
  });

  it('lookup of an unknown infohash finds nothing and still exits 0', async () => {
    const run = await cli('lookup', 'f'.repeat(40), ...local());
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/: 0 peers in/);
  });

  it('lookup exits 1 when no node answers', async () => {
    // A loopback port nobody listens on (the entry node's port + 0 after it is closed would race).
    const silent = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [], readOnly: true });
    try {
      const run = await cli(
        'lookup',
        IH,
        '--host',
        '127.0.0.1',
        '-b',
        formatAddress(silent.address()),
        '--timeout',
        '10'
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/no DHT node answered/);
    } finally {
      await silent.destroy();
    }
  });

  it('announce --json reports where the announce was stored', async () => {
    const ih2 = '1'.repeat(40);
    const run = await cli('announce', ih2, '--port', '5678', '--json', ...local());
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ infoHash: ih2, port: 5678, impliedPort: false, targets: 2 });
    expect(result.storedOn).toBe(2); // the entry node and the seeder
    const found = await cli('lookup', ih2, ...local());
    expect(found.stdout).toBe('127.0.0.1:5678\n');
  });

  it('node says whom it joins through, runs until interrupted, then saves its state and exits 130', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trackerless-cli-'));
    const { io, out, err, interrupt } = fakeIO();
    try {
      const state = join(dir, 'state.json');
      const running = runCli(
        [
          'node',
          '--host',
          '127.0.0.1',
          '--port',
          dhtPort,
          '-b',
          bootstrap,
          '--state',
          state,
          '--stats-interval',
          '0.05'
        ],
        {
          commands: COMMANDS,
          io
        }
      );
      await until(() => out.join('').includes('stats '), 10_000);
      const listening = /^listening 127\.0\.0\.1:(\d+) id ([0-9a-f]{40})$/m.exec(out.join(''));
      expect(listening).not.toBeNull();
      interrupt.abort('SIGTERM');
      expect(await running).toBe(130); // stopped by a signal: 130 for every command
      expect(err.join('')).toMatch(/stopping \(SIGTERM\)[\s\S]*state saved to[\s\S]*stopped/);
      expect(err.join('')).toMatch(/^joining the DHT through 127\.0\.0\.1:\d+ \.\.\.$/m);
      const saved = JSON.parse(await readFile(state, 'utf8')) as { id: string; nodes: unknown[] };
      expect(saved.id).toBe(listening![2]);
      expect(saved.nodes.length).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** A UDP port that was free a moment ago. */
async function freeUdpPort(): Promise<number> {
  const probe = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [] });
  const { port } = probe.address();
  await probe.destroy();
  return port;
}

async function until(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
