/**
 * The real process behind CliIO: stdout/stderr, SIGINT/SIGTERM, a closed stdout pipe, and
 * the final exit. The only CLI file that touches `process`.
 */
import { EXIT_INTERRUPTED, type CliIO } from './program.js';
import { systemClock } from '../util/clock.js';
import { defaultStateDir } from '../util/state-dir.js';

/** How long after the command finished we wait for handles to close before forcing exit, ms. */
const EXIT_GRACE_MS = 2_000;

/**
 * How long the first SIGINT/SIGTERM gives a command to stop cleanly (flush pieces, save the
 * resume file and the node state) before the process exits anyway, ms. Service managers send
 * SIGKILL after 90 s (systemd's default); a user should not wait even that long.
 */
export const STOP_DEADLINE_MS = 10_000;

export interface ProcessIO extends CliIO {
  /** Set the exit code and let the process end once its handles are closed. */
  exit(code: number): void;
}

/**
 * The first SIGINT/SIGTERM aborts `interrupt` so the command can stop cleanly (a node saves
 * its state); a second one exits at once. If stdout's reader goes away (`| head -1`), output
 * stops silently and `interrupt` aborts with reason 'EPIPE'.
 */
export function processIO(): ProcessIO {
  const controller = new AbortController();
  let stdoutOpen = true;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!controller.signal.aborted) {
      controller.abort(signal);
      systemClock.setTimeout(() => {
        process.stderr.write(
          `trackerless: still stopping ${STOP_DEADLINE_MS / 1000} s after ${signal}: exiting now\n`
        );
        process.exit(EXIT_INTERRUPTED);
      }, STOP_DEADLINE_MS);
      return;
    }
    process.stderr.write(`trackerless: ${signal} again: exiting now\n`);
    process.exit(EXIT_INTERRUPTED);
  };
  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    if (err.code !== 'EPIPE') throw err;
    stdoutOpen = false;
    if (!controller.signal.aborted) controller.abort('EPIPE');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', onStdoutError);
  return {
    stdout: (text) => {
      if (stdoutOpen) process.stdout.write(text);
    },
    stderr: (text) => {
      process.stderr.write(text);
    },
    interrupt: controller.signal,
    stderrIsTTY: process.stderr.isTTY === true,
    stderrColumns: () => (process.stderr.isTTY ? process.stderr.columns : undefined),
    stateDir: defaultStateDir(),
    exit(code) {
      process.exitCode = code;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // Everything should be closed by now; if a handle still holds the loop, do not hang, and
      // say what held it (a leak to fix: the tests look for this line).
      systemClock.setTimeout(() => {
        const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap');
        process.stderr.write(
          `trackerless: still running ${EXIT_GRACE_MS / 1000} s after the end (open: ${open.join(', ')}): exiting now\n`
        );
        process.exit(code);
      }, EXIT_GRACE_MS);
    }
  };
}
