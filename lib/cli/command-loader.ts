/**
 * Commands loaded on use. Each command's module pulls in its part of the library (the crawler
 * and SQLite for `crawl`, the HTTP server for `stream`, the swarm engine for `download`), and
 * loading the whole graph is most of the CLI's start-up cost. So the program loads only the
 * command named first on the command line; the full list is loaded only when it is needed: for
 * help (`--help`, `help`, no command) and for commander's "unknown command" suggestions.
 */
import type { CliCommand } from './program.js';

/** Command name -> loader of its module's CliCommand. */
export type CommandTable = Readonly<Record<string, () => Promise<CliCommand>>>;

/** The commands `argv` (without node and script path) needs, loaded. */
export async function loadCommands(argv: readonly string[], table: CommandTable): Promise<CliCommand[]> {
  const first = argv[0];
  const names = first !== undefined && Object.hasOwn(table, first) ? [first] : Object.keys(table);
  const commands: CliCommand[] = [];
  // One at a time: only help loads more than one, and a module graph loads no faster in parallel.
  for (const name of names) {
    const command = await table[name]!();
    if (command.name !== name) throw new Error(`command table: '${name}' loads '${command.name}'`);
    commands.push(command);
  }
  return commands;
}
