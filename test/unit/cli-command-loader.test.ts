/** Commands loaded on use: only the named command's module for a run, all of them for help. */
import { describe, expect, it } from '@jest/globals';
import type { Command } from 'commander';
import { loadCommands, type CommandTable } from '../../lib/cli/command-loader.js';
import { COMMANDS } from '../../lib/cli/command-table.js';
import { runCli, type CliCommand, type CliIO } from '../../lib/cli/program.js';

function table(names: string[], loaded: string[], rename: Record<string, string> = {}): CommandTable {
  return Object.fromEntries(
    names.map((name) => [
      name,
      async (): Promise<CliCommand> => {
        loaded.push(name);
        return {
          name: rename[name] ?? name,
          configure: (c: Command) => c.description(`the ${name} command`),
          run: async () => 0
        };
      }
    ])
  );
}

function fakeIO(): { io: CliIO; out: string[] } {
  const out: string[] = [];
  const io: CliIO = {
    stdout: (s) => out.push(s),
    stderr: (s) => out.push(s),
    interrupt: new AbortController().signal
  };
  return { io, out };
}

describe('loadCommands', () => {
  it('loads only the command named first, and runs it', async () => {
    const loaded: string[] = [];
    const commands = await loadCommands(
      ['download', 'x', '--out', 'd'],
      table(['seed', 'download', 'crawl'], loaded)
    );
    expect(loaded).toEqual(['download']);
    expect(commands.map((c) => c.name)).toEqual(['download']);
    const { io } = fakeIO();
    expect(await runCli(['download'], { commands, io })).toBe(0);
  });

  it('loads every command, in table order, for help, an option first, no command or an unknown one', async () => {
    for (const argv of [['--help'], ['help', 'seed'], [], ['bogus'], ['-V'], ['toString']]) {
      const loaded: string[] = [];
      const commands = await loadCommands(argv, table(['seed', 'download', 'crawl'], loaded));
      expect(loaded.sort()).toEqual(['crawl', 'download', 'seed']);
      expect(commands.map((c) => c.name)).toEqual(['seed', 'download', 'crawl']);
    }
    const { io, out } = fakeIO();
    const all = await loadCommands(['--help'], table(['seed', 'download'], []));
    expect(await runCli(['--help'], { commands: all, io })).toBe(0);
    expect(out.join('')).toMatch(/seed[\s\S]*the seed command[\s\S]*download[\s\S]*the download command/);
  });

  it('rejects a table entry whose module exports another command', async () => {
    await expect(loadCommands(['seed'], table(['seed'], [], { seed: 'sead' }))).rejects.toThrow(
      "command table: 'seed' loads 'sead'"
    );
  });

  it("the program's table: every entry loads the command of its name", async () => {
    const commands = await loadCommands([], COMMANDS);
    expect(commands.map((c) => c.name)).toEqual(Object.keys(COMMANDS));
  });
});
