/** The download/seed commands' value parsers and formatting (pure functions), and argument errors. */
import { describe, expect, it } from '@jest/globals';
import { InvalidArgumentError } from 'commander';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { metadataCachePath, downloadCommand, parseSelection } from '../../lib/cli/commands/download.js';
import { runCli } from '../../lib/cli/program.js';
import { FakeClock } from '../support/fake-clock.js';
import { createTorrentFromBuffer, toHex, toTorrentFile, type EngineProgress } from '../../lib/index.js';
import {
  formatBytes,
  formatDuration,
  parseRate,
  progressLine,
  seedingLine,
  StatusLine,
  swarmOptionsFrom
} from '../../lib/cli/transfer.js';

const progress = (p: Partial<EngineProgress>): EngineProgress => ({
  downloaded: 0,
  uploaded: 0,
  verifiedPieces: 0,
  totalPieces: 0,
  verifiedBytes: 0,
  totalBytes: 0,
  downRate: 0,
  upRate: 0,
  peers: 0,
  ...p
});

describe('cli transfer helpers', () => {
  it('parses byte rates with binary suffixes', () => {
    expect(parseRate('0')).toBe(0);
    expect(parseRate('500000')).toBe(500_000);
    expect(parseRate('512k')).toBe(512 * 1024);
    expect(parseRate('4M')).toBe(4 * 1024 * 1024);
    expect(parseRate('1.5MiB/s')).toBe(1.5 * 1024 * 1024);
    expect(parseRate('2g')).toBe(2 * 1024 ** 3);
    for (const bad of ['', '-1', 'fast', '4X', '1e6', '4 M M'])
      expect(() => parseRate(bad)).toThrow(InvalidArgumentError);
  });

  it('formats bytes and durations', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(3 * 1024 * 1024 + 12_345)).toBe('3.01 MiB');
    expect(formatBytes(200 * 1024 ** 3)).toBe('200.0 GiB');
    expect(formatDuration(7)).toBe('0:07');
    expect(formatDuration(754)).toBe('12:34');
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatDuration(Infinity)).toBe('--:--');
  });

  it('renders the progress line: metadata phase, then bar, percent, rates, peers, ETA', () => {
    expect(progressLine(progress({ peers: 2 }), 5_000)).toBe('fetching metadata from 2 peers, 0:05');
    // While no peer is known the DHT join is what moves: its table size is shown.
    expect(progressLine(progress({}), 2_000, { dhtNodes: 14 })).toBe('looking for peers, DHT 14 nodes, 0:02');
    const line = progressLine(
      progress({
        totalPieces: 4,
        totalBytes: 4 * 1024 * 1024,
        verifiedBytes: 1024 * 1024,
        downRate: 512 * 1024,
        peers: 1
      }),
      0
    );
    expect(line).toMatch(/^\[#####\.{15}\]  25\.0%  down 512\.0 KiB\/s  up       0 B\/s  1 peer  ETA 0:06$/);
    const done = progressLine(progress({ totalPieces: 1, totalBytes: 10, verifiedBytes: 10 }), 0);
    expect(done).toMatch(/100\.0% .* ETA done$/);
  });

  it('fits the progress line in the terminal width, dropping the least useful parts first', () => {
    const p = progress({
      totalPieces: 400,
      totalBytes: 400 * 1024 * 1024,
      verifiedBytes: 100 * 1024 * 1024,
      downRate: 3.5 * 1024 * 1024,
      upRate: 700 * 1024,
      peers: 12
    });
    const full = progressLine(p, 0);
    expect(full.length).toBeGreaterThan(80);
    for (const width of [200, 100, 80, 60, 40, 30, 20, 10, 2]) {
      const line = progressLine(p, 0, { width });
      // The last column stays free: some terminals wrap when it is written.
      expect(line.length).toBeLessThanOrEqual(width - 1);
      expect(line.length).toBeGreaterThan(0);
    }
    expect(progressLine(p, 0, { width: 200 })).toBe(full);
    expect(progressLine(p, 0, { width: 60 })).toMatch(
      /^ 25\.0% down 3\.50 MiB\/s up 700\.0 KiB\/s 12 peers ETA 1:26$/
    );
    expect(progressLine(p, 0, { width: 30 })).toBe(' 25.0% 3.50 MiB/s ETA 1:26');
    const metadata = progressLine(progress({ peers: 3 }), 65_000, { width: 30, dhtNodes: 120 });
    expect(metadata.length).toBeLessThanOrEqual(29);
    expect(metadata).toMatch(/3 peers 1:05/);
  });

  it('a status line on a 60-column terminal: every redraw fits in 59 columns; on a pipe, a plain line every few seconds (virtual time)', () => {
    const clock = new FakeClock();
    const writes: string[] = [];
    const ctx = {
      print: () => {},
      log: (line: string) => writes.push(`${line}\n`),
      warn: () => {},
      interrupt: new AbortController().signal,
      stderrRaw: (text: string) => writes.push(text),
      stderrIsTTY: true,
      stderrColumns: () => 60,
      clock
    };
    const long = 'x'.repeat(200);
    const status = new StatusLine(ctx, (width) => (width === 60 ? long : 'no width given'));
    status.start();
    clock.advance(1_000); // four redraws at 250 ms
    status.log('a line above it');
    status.stop();
    clock.advance(1_000); // stopped: no more
    const redraws = writes.filter((w) => w.startsWith('\r\x1b[2K') && w.length > 5);
    expect(redraws.length).toBe(1 + 4 + 1 + 1); // start, ticks, after the log line, the final one
    for (const w of redraws) expect(w.replace('\r\x1b[2K', '').replace('\n', '').length).toBe(59);
    expect(writes).toContain('a line above it\n');
    expect(clock.pendingTimers()).toBe(0);

    const plain: string[] = [];
    let n = 0;
    const pipe = new StatusLine(
      {
        ...ctx,
        stderrIsTTY: false,
        log: (line: string) => plain.push(line),
        stderrRaw: (t: string) => plain.push(t)
      },
      (width) => `line ${++n} for ${String(width)}`,
      { plainIntervalMs: 2_000 }
    );
    pipe.start();
    clock.advance(6_100);
    pipe.stop();
    expect(plain).toEqual(['line 1 for undefined', 'line 2 for undefined', 'line 3 for undefined']);
  });

  it('never shows a rate above the cap the user set', () => {
    const p = progress({
      totalPieces: 4,
      totalBytes: 4 * 1024 * 1024,
      verifiedBytes: 1024 * 1024,
      downRate: 1.3 * 1024 * 1024, // a young 5 s window after a token-bucket burst
      upRate: 300 * 1024,
      peers: 1
    });
    const capped = progressLine(p, 0, { downloadLimit: 1024 * 1024, uploadLimit: 256 * 1024 });
    expect(capped).toMatch(/down\s+1\.00 MiB\/s\s+up\s+256\.0 KiB\/s/);
    expect(capped).toMatch(/ETA 0:03$/); // from the capped rate
    expect(progressLine(p, 0, {})).toMatch(/down\s+1\.30 MiB\/s/);
    expect(seedingLine(p, { uploadLimit: 256 * 1024 })).toBe('seeding: up 256.0 KiB/s, 1 peer, uploaded 0 B');
  });
});

describe('download --select (BEP 53)', () => {
  async function download(...argv: string[]): Promise<{ code: number; stderr: string }> {
    const err: string[] = [];
    const io = {
      stdout: () => {},
      stderr: (t: string) => err.push(t),
      interrupt: new AbortController().signal
    };
    const code = await runCli(['download', ...argv], { commands: [downloadCommand], io });
    return { code, stderr: err.join('') };
  }

  it('parses the so= syntax, or all', () => {
    expect(parseSelection('0,2,4-6')).toEqual([0, 2, 4, 5, 6]);
    expect(parseSelection(' 3 ')).toEqual([3]);
    expect(parseSelection('ALL')).toBe('all');
    for (const bad of ['', 'x', '1-0', '-1', '0,,1', '2000000'])
      expect(() => parseSelection(bad)).toThrow(InvalidArgumentError);
  });

  it('--encryption takes a policy (usage error otherwise); --encryption and --ipv6 reach the swarm options', async () => {
    const run = await download(
      '0123456789abcdef0123456789abcdef01234567',
      '--encryption',
      'sometimes',
      '--bootstrap',
      '127.0.0.1:1'
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /--encryption <policy>' argument 'sometimes' is invalid\. Allowed choices are disabled, enabled, preferred, required/
    );
    expect(swarmOptionsFrom({ port: 0, encryption: 'required' }).encryption).toBe('required');
    expect(swarmOptionsFrom({ port: 0 })).not.toHaveProperty('encryption');
    // --ipv6: a second DHT node on :: (same port number) and a dual-stack listener.
    const v6 = swarmOptionsFrom({ port: 6881, ipv6: true, bootstrap: ['127.0.0.1:1'] });
    expect(v6.listen).toEqual({ host: '::', port: 6881 });
    expect(v6.ipv6).toEqual({ dhtOptions: { host: '::', port: 6881 }, bootstrap: ['127.0.0.1:1'] });
    expect(swarmOptionsFrom({ port: 0, ipv6: true, host: '127.0.0.1' }).listen).toEqual({
      host: '127.0.0.1',
      port: 0
    });
    expect(swarmOptionsFrom({ port: 0 })).not.toHaveProperty('ipv6');
  });

  it('the DHT state file: the state directory by default, --state FILE, or none with --no-state', () => {
    const dir = '/home/u/.local/state/trackerless';
    const byDefault = swarmOptionsFrom({ port: 0, ipv6: true }, dir);
    expect(byDefault.dhtOptions?.statePath).toBe(`${dir}/dht.json`);
    expect(byDefault.ipv6?.dhtOptions?.statePath).toBe(`${dir}/dht6.json`);
    const given = swarmOptionsFrom({ port: 0, ipv6: true, state: 'node.json' }, dir);
    expect(given.dhtOptions?.statePath).toBe('node.json');
    expect(given.ipv6?.dhtOptions).not.toHaveProperty('statePath');
    const none = swarmOptionsFrom({ port: 0, ipv6: true, state: false }, dir);
    expect(none.dhtOptions).not.toHaveProperty('statePath');
    expect(none.ipv6?.dhtOptions).not.toHaveProperty('statePath');
    // No state directory (an embedding without one): nothing unless asked.
    expect(swarmOptionsFrom({ port: 0 }).dhtOptions).not.toHaveProperty('statePath');
  });

  it('local discovery (BEP 14) follows where we listen: the LAN interfaces, the bound LAN address, never loopback', () => {
    expect(swarmOptionsFrom({ port: 0 }).lsd).toEqual({ families: [4] });
    expect(swarmOptionsFrom({ port: 0, ipv6: true }).lsd).toEqual({});
    expect(swarmOptionsFrom({ port: 0, host: '::' }).lsd).toEqual({});
    expect(swarmOptionsFrom({ port: 0, host: '192.168.1.7' }).lsd).toEqual({ interfaces: ['192.168.1.7'] });
    expect(swarmOptionsFrom({ port: 0, host: '127.0.0.1' }).lsd).toBe(false);
    expect(swarmOptionsFrom({ port: 0, host: '8.8.4.4' }).lsd).toBe(false);
    expect(swarmOptionsFrom({ port: 0, lsd: false }).lsd).toBe(false);
    expect(swarmOptionsFrom({ port: 0, host: '127.0.0.1', lsdInterfaces: ['eth1'] }).lsd).toEqual({
      interfaces: ['eth1']
    });
  });

  it('a malformed --select is a usage error (exit 2) before anything starts', async () => {
    const run = await download(
      '0123456789abcdef0123456789abcdef01234567',
      '--select',
      '3-1',
      '--bootstrap',
      '127.0.0.1:1'
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /option '--select <files>' argument '3-1' is invalid\. range 3-1 is reversed; expected zero-based file indices/
    );
  });

  it('an index the torrent lacks is a usage error (exit 2); with the metadata cached, before joining the DHT', async () => {
    const out = await mkdtemp(join(tmpdir(), 'trackerless-select-cli-'));
    try {
      const info = createTorrentFromBuffer('one.bin', new Uint8Array(40 * 1024), 16 * 1024);
      const path = metadataCachePath(out, info.infoHash);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, toTorrentFile(info));
      const magnet = `magnet:?xt=urn:btih:${toHex(info.infoHash)}&so=0,3`;
      const run = await download(magnet, '--out', out, '--bootstrap', '127.0.0.1:1');
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/file index 3 is out of range: the torrent has 1 file/);
      const overridden = await download(magnet, '--out', out, '--bootstrap', '127.0.0.1:1', '--select', '2');
      expect(overridden.stderr).toMatch(/file index 2 is out of range/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
