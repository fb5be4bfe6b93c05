#!/usr/bin/env node
/**
 * Entry point of the `trackerless` command (package.json `bin`). The commands are listed in
 * command-table.ts; only the one that runs is loaded (command-loader.ts).
 */
import { runCli } from './program.js';
import { processIO } from './io.js';
import { loadCommands } from './command-loader.js';
import { COMMANDS } from './command-table.js';
import { keepYoungGenerationSmall } from '../util/young-generation.js';

/** Commands that move data: their process keeps V8's young generation small (util/young-generation.ts). */
const TRANSFER_COMMANDS: readonly string[] = ['download', 'seed', 'stream'];

const argv = process.argv.slice(2);
// Before the command's modules load: the young generation may grow while they do.
if (TRANSFER_COMMANDS.includes(argv[0] ?? '')) keepYoungGenerationSmall();
const io = processIO();
io.exit(await runCli(argv, { commands: await loadCommands(argv, COMMANDS), io }));
