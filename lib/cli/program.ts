/**
 * The command-line program: commander setup, error reporting and exit codes. Commands live in
 * ./commands/, one file each, and are listed in command-table.ts. Nothing here touches `process`
 * directly (see io.ts), so the whole CLI runs in-process in tests with a fake CliIO.
 *
 * Exit codes, the same for every command (README "Exit codes" lists them):
 *   0   done: the command finished its work (a download verified, a lookup answered, a
 *       crawl reached --duration), or its reader closed stdout (`| head -1`);
 *   1   failure at run time: nothing found in --timeout, a directory we cannot write, a
 *       network or storage error;
 *   2   usage error: bad arguments, a bad magnet link or .torrent file;
 *   130 stopped by SIGINT/SIGTERM (Ctrl-C), whatever the command was doing: a download cut
 *       short, a seed or node stopped. runCli enforces this one (see finish()).
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/** Where a command writes, and how it learns that it should stop. */
export interface CliIO {
  /** Write raw text to standard output (results: one item per line). */
  stdout(text: string): void;
  /** Write raw text to standard error (progress, summaries, warnings, errors). */
  stderr(text: string): void;
  /**
   * Aborted on the first SIGINT/SIGTERM (reason: the signal name) or when standard output
   * is closed by its reader (reason: 'EPIPE'). Commands stop their work cleanly on it.
   */
  interrupt: AbortSignal;
  /** Standard error is a terminal (progress bars redraw one line); default false. */
  stderrIsTTY?: boolean;
  /** Width of that terminal in columns, when known (a redrawn line must fit in it). */
  stderrColumns?: () => number | undefined;
  /** Time for progress lines, intervals and durations; default the system clock. */
  clock?: Clock;
  /**
   * The user's state directory (`defaultStateDir()`): the swarm commands keep the DHT routing
   * table there unless told otherwise. Unset: they keep none unless given --state.
   */
  stateDir?: string;
}

/** What a command's `run` gets: line-oriented output helpers over CliIO. */
export interface CliContext {
  /** One result line on stdout. */
  print(line: string): void;
  /** One diagnostic line on stderr. */
  log(line: string): void;
  /** `trackerless: warning: <message>` on stderr. */
  warn(message: string): void;
  interrupt: AbortSignal;
  /** Raw text on stderr, no newline added (a progress line redrawn with `\r`). */
  stderrRaw(text: string): void;
  /** Standard error is a terminal. */
  stderrIsTTY: boolean;
  /** Columns of the terminal on stderr now (it can be resized); 80 when unknown. */
  stderrColumns(): number;
  /** The one time source of the commands (tests pass a fake one through CliIO). */
  clock: Clock;
  /** CliIO.stateDir. */
  stateDir?: string | undefined;
}

/**
 * A subcommand. `configure` declares arguments and options on the commander Command created
 * for it (so it inherits the program's output and exit settings); `run` does the work and
 * returns the exit code. Throw UsageError for argument combinations commander cannot check.
 */
export interface CliCommand {
  name: string;
  configure(command: Command): void;
  /** `args`: the parsed positional arguments in order; `options`: commander's opts(). */
  run(ctx: CliContext, args: unknown[], options: Record<string, unknown>): Promise<number>;
}

/** Bad arguments that passed commander's own checks: reported with exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface RunCliOptions {
  commands: readonly CliCommand[];
  io: CliIO;
}

/** Parse `argv` (without node and script path), run the chosen command, return the exit code. */
export async function runCli(argv: readonly string[], opts: RunCliOptions): Promise<number> {
  const { io } = opts;
  const ctx = contextFor(io);
  let exitCode = EXIT_OK;
  const program = new Command('trackerless')
    .description(
      'Trackerless BitTorrent: download and seed from magnet links through the DHT, and DHT tools.'
    )
    .version(packageVersion(), '-V, --version')
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      outputError: (s, write) => write(`trackerless: ${s}`)
    })
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .allowExcessArguments(false);
  // Commands are created with program.command() so they inherit the settings above.
  for (const command of opts.commands) {
    const sub = program.command(command.name);
    command.configure(sub);
    sub.action(async (...actionArgs: unknown[]) => {
      // commander passes: ...positional arguments, options object, the Command itself.
      const positional = actionArgs.slice(0, -2);
      const options = actionArgs[actionArgs.length - 2] as Record<string, unknown>;
      exitCode = finish(await command.run(ctx, positional, options), io.interrupt);
    });
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    return exitCodeFor(err, ctx, io);
  }
}

/** Signals that mean "stop now" from the user or the service manager. */
const STOP_SIGNALS: readonly unknown[] = ['SIGINT', 'SIGTERM'];

/**
 * A command stopped by a signal exits 130 even when it ends cleanly (state saved, seeding
 * stopped as asked): one rule for all commands, so scripts and service managers can tell
 * "finished" from "stopped". A failure code (1, 2) is kept.
 */
function finish(code: number, interrupt: AbortSignal): number {
  if (code === EXIT_OK && interrupt.aborted && STOP_SIGNALS.includes(interrupt.reason))
    return EXIT_INTERRUPTED;
  return code;
}

function exitCodeFor(err: unknown, ctx: CliContext, io: CliIO): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (or the help / version text).
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT_OK;
    return EXIT_USAGE; // includes 'commander.help': no command given, help shown on stderr
  }
  if (err instanceof UsageError) {
    io.stderr(`trackerless: error: ${err.message}\n(add --help for usage)\n`);
    return EXIT_USAGE;
  }
  // An operation aborted by the user's signal is a stop, not a failure.
  if ((err as { code?: unknown })?.code === 'ERR_ABORTED' && io.interrupt.aborted)
    return finish(EXIT_OK, io.interrupt);
  const message = err instanceof Error ? err.message : String(err);
  const code =
    typeof (err as { code?: unknown })?.code === 'string' ? ` [${(err as { code: string }).code}]` : '';
  ctx.log(`trackerless: error: ${message}${code}`);
  return EXIT_FAILURE;
}

/** Run `fn` every `ms` on `clock` until the handle is cancelled (progress and stats lines). */
export function every(clock: Clock, ms: number, fn: () => void): TimerHandle {
  let current: TimerHandle;
  const tick = (): void => {
    current = clock.setTimeout(tick, ms);
    fn();
  };
  current = clock.setTimeout(tick, ms);
  return { cancel: () => current.cancel() };
}

/** Width assumed when the terminal does not say. */
const DEFAULT_COLUMNS = 80;

function contextFor(io: CliIO): CliContext {
  return {
    print: (line) => io.stdout(`${line}\n`),
    log: (line) => io.stderr(`${line}\n`),
    warn: (message) => io.stderr(`trackerless: warning: ${message}\n`),
    interrupt: io.interrupt,
    stderrRaw: (text) => io.stderr(text),
    stderrIsTTY: io.stderrIsTTY ?? false,
    stderrColumns: () => io.stderrColumns?.() ?? DEFAULT_COLUMNS,
    clock: io.clock ?? systemClock,
    stateDir: io.stateDir
  };
}

/** Our package.json version, found by walking up from this file (lib/cli, dist/lib/cli, or the bundle in dist/cli). */
function packageVersion(): string {
  let url = new URL('.', import.meta.url);
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'trackerless' && pkg.version) return pkg.version;
    } catch {
      // not here: keep walking up
    }
    url = new URL('..', url);
  }
  return 'unknown';
}
