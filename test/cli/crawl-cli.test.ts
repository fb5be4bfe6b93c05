/**
 * `trackerless crawl` in-process (runCli with a fake CliIO) against two of our DHT nodes on
 * 127.0.0.1: progress and summary on stderr, --print lines on stdout, --resolve attempts (the
 * announced peers do not exist), rows in the database,
 * and a second run on the same database that finds nothing new and asks nobody early.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DHT, toHex } from '../../lib/index.js';
import { SqliteCrawlerStore } from '../../lib/crawler/index.js';
import { runCli, type CliIO } from '../../lib/cli/program.js';
import { crawlCommand } from '../../lib/cli/commands/crawl.js';

function fakeIO(): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (s) => out.push(s),
    stderr: (s) => err.push(s),
    interrupt: new AbortController().signal
  };
}

describe('trackerless crawl', () => {
  let a: DHT;
  let b: DHT;
  let dir: string;
  const announced: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trackerless-crawl-cli-'));
    a = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [] });
    b = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [a.address()] });
    for (let i = 1; i <= 3; i++) {
      const ih = toHex(new Uint8Array(20).fill(i * 17));
      await b.announce(ih, 7000 + i);
      announced.push(ih);
    }
  });

  afterAll(async () => {
    await b.destroy();
    await a.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('crawls into the database with progress, a summary and --print output; resumes', async () => {
    const db = join(dir, 'c.db');
    const args = [
      'crawl',
      '--db',
      db,
      '--duration',
      '3',
      '--host',
      '127.0.0.1',
      '--bootstrap',
      `127.0.0.1:${a.address().port}`,
      '--progress-interval',
      '1'
    ];
    const io = fakeIO();
    expect(await runCli([...args, '--print', '--resolve'], { commands: [crawlCommand], io })).toBe(0);
    const stderr = io.err.join('');
    expect(io.out.join('').trim().split('\n').sort()).toEqual([...announced].sort());
    expect(stderr).toMatch(
      /crawl \d+\.\d+ s: nodes visited \d+, samples [\d.]+\/s, new infohashes \d+ \(total \d+\), db [\d.]+ MiB/
    );
    expect(stderr).toContain('crawl finished after');
    expect(stderr).toMatch(/database\s+3 infohashes \(0 before this run\)/);
    // --resolve: the announced peers (ports 7001-7003) do not exist: nothing to fetch.
    expect(stderr).toMatch(/metadata\s+3 attempted: 0 resolved, 3 not found, 0 timed out/);

    const again = fakeIO();
    expect(await runCli(args, { commands: [crawlCommand], io: again })).toBe(0);
    const second = again.err.join('');
    expect(second).toContain('(3 infohashes already stored)');
    expect(second).toMatch(/queries sent\s+0 /); // both nodes were asked < 21600 s ago
    const store = SqliteCrawlerStore.open(db);
    expect((await store.summary()).torrents).toBe(3);
    await store.close();
  }, 30_000);

  it('rejects a bad --rate with a usage error', async () => {
    const io = fakeIO();
    expect(await runCli(['crawl', '--rate', '0'], { commands: [crawlCommand], io })).toBe(2);
    expect(io.err.join('')).toContain('--rate');
  });
});
