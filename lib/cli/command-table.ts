/**
 * Every command of the `trackerless` program, in help order, each as a loader of its module
 * (lib/cli/commands/<name>.ts): importing this table loads none of them (command-loader.ts).
 * To add a command: write its module exporting a CliCommand (see program.ts), add one line here.
 */
import type { CommandTable } from './command-loader.js';

export const COMMANDS: CommandTable = {
  node: async () => (await import('./commands/node.js')).nodeCommand,
  lookup: async () => (await import('./commands/lookup.js')).lookupCommand,
  announce: async () => (await import('./commands/announce.js')).announceCommand,
  crawl: async () => (await import('./commands/crawl.js')).crawlCommand,
  index: async () => (await import('./commands/index-command.js')).indexCommand,
  download: async () => (await import('./commands/download.js')).downloadCommand,
  seed: async () => (await import('./commands/seed.js')).seedCommand,
  info: async () => (await import('./commands/info.js')).infoCommand,
  create: async () => (await import('./commands/create.js')).createCommand,
  put: async () => (await import('./commands/put.js')).putCommand,
  get: async () => (await import('./commands/get.js')).getCommand,
  stream: async () => (await import('./commands/stream.js')).streamCommand
};
