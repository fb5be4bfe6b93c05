#!/usr/bin/env node
/**
 * Entry point of the `trackerless` command (package.json `bin`). The commands are listed in
 * command-table.ts; only the one that runs is loaded (command-loader.ts).
 */
import { runCli } from './program.js';
import { processIO } from './io.js';
import { loadCommands } from './command-loader.js';
import { COMMANDS } from './command-table.js';

const argv = process.argv.slice(2);
const io = processIO();
io.exit(await runCli(argv, { commands: await loadCommands(argv, COMMANDS), io }));
