#!/usr/bin/env node
/**
 * Entry point of the `trackerless` command (package.json `bin`).
 *
 * To add a command: write lib/cli/commands/<name>.ts exporting a CliCommand (see
 * program.ts), then import it here and add it to COMMANDS — one import, one line.
 */
import { runCli, type CliCommand } from './program.js';
import { processIO } from './io.js';
import { nodeCommand } from './commands/node.js';
import { lookupCommand } from './commands/lookup.js';
import { announceCommand } from './commands/announce.js';
import { crawlCommand } from './commands/crawl.js';
import { indexCommand } from './commands/index-command.js';
import { downloadCommand } from './commands/download.js';
import { seedCommand } from './commands/seed.js';
import { putCommand } from './commands/put.js';
import { getCommand } from './commands/get.js';
import { infoCommand } from './commands/info.js';
import { createCommand } from './commands/create.js';
import { streamCommand } from './commands/stream.js';

const COMMANDS: readonly CliCommand[] = [
  nodeCommand,
  lookupCommand,
  announceCommand,
  crawlCommand,
  indexCommand,
  downloadCommand,
  seedCommand,
  infoCommand,
  createCommand,
  putCommand,
  getCommand,
  streamCommand
];

const io = processIO();
io.exit(await runCli(process.argv.slice(2), { commands: COMMANDS, io }));
