/**
 * The built `trackerless` binary and example programs as real child processes, for the
 * spawned-CLI tests: rebuild dist/ when stale, run to completion with a deadline, or start a
 * long-running process and watch its output. Every child is tracked so `killAll()` (in
 * afterAll) leaves nothing behind.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The `trackerless` program as installed (package.json `bin`): the bundled CLI. */
export const MAIN = join(ROOT, 'dist/cli/main.js');
/**
 * Jest's NODE_OPTIONS (--experimental-vm-modules) is not for the programs under test, nor the
 * user's state directory: the swarm commands save their DHT table in $XDG_STATE_HOME, so a
 * child gets a temporary one (each Spawner child its own, see `Spawner.start`), never the
 * real home's.
 */
export const CHILD_ENV: Record<string, string | undefined> = {
  ...process.env,
  NODE_OPTIONS: '',
  XDG_STATE_HOME: temporaryStateHome()
};

/** A fresh state directory for children, removed when this process exits. */
export function temporaryStateHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trackerless-state-home-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Rebuild dist/ if a source file is newer than any of `outputs` (or one is missing): tsc, then
 * the CLI bundle (dist/cli, scripts/bundle-cli.ts), as `npm run build` does.
 */
export function ensureBuilt(outputs: string[]): void {
  const newestSource = Math.max(
    ...['lib', 'examples', 'bench', 'scripts'].flatMap((dir) =>
      tsFiles(join(ROOT, dir)).map((f) => statSync(f).mtimeMs)
    )
  );
  if (outputs.every((file) => existsSync(file) && statSync(file).mtimeMs >= newestSource)) return;
  const run = (args: string[]): void => {
    execFileSync(process.execPath, args, { cwd: ROOT, stdio: 'pipe', timeout: 180_000 });
  };
  let tscError: unknown;
  try {
    run([join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
  } catch (err) {
    // tsc emits even with type errors elsewhere; only fail if our entry points are missing.
    tscError = err;
  }
  run([join(ROOT, 'dist/scripts/bundle-cli.js')]);
  if (!outputs.every((file) => existsSync(file)))
    throw tscError ?? new Error(`not built: ${outputs.join(', ')}`);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** A UDP port that was free a moment ago. */
export function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  return new Promise((resolve) =>
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    })
  );
}

/** Poll `predicate` every 25 ms until true; throws with `describe()` after `timeoutMs`. */
export async function until(
  predicate: () => boolean,
  timeoutMs: number,
  describe: () => string
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting; ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A running child: its output so far, and its end. */
export class Running {
  stdout = '';
  stderr = '';
  readonly exited: Promise<Result>;

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (this.stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
    this.exited = new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) =>
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr })
      );
    });
  }

  /** Wait until `re` matches stdout+stderr (or the process exits: then fail with its output). */
  async waitFor(re: RegExp, timeoutMs: number, what = String(re)): Promise<RegExpExecArray> {
    let exited = false;
    void this.exited.then(() => (exited = true));
    let m: RegExpExecArray | null = null;
    await until(
      () => (m = re.exec(this.stdout) ?? re.exec(this.stderr)) !== null || exited,
      timeoutMs,
      () => `${what}; stdout: ${this.stdout}\nstderr: ${this.stderr}`
    );
    if (!m) throw new Error(`process exited before ${what}; stdout: ${this.stdout}\nstderr: ${this.stderr}`);
    return m;
  }
}

/**
 * Spawns node scripts, each with a deadline; `killAll()` SIGKILLs whatever is still alive and
 * waits for it to close.
 */
export class Spawner {
  private readonly children = new Set<ChildProcess>();

  /**
   * Start `node script ...args` (through `prefix`, e.g. nsenter, if given); killed after
   * `timeoutMs`. Each child gets a state directory of its own unless `env` names one.
   */
  start(
    script: string,
    args: string[],
    timeoutMs = 60_000,
    prefix: string[] = [],
    env: Record<string, string> = {}
  ): Running {
    const [cmd, ...argv] = [...prefix, process.execPath, script, ...args];
    return this.spawnTracked(cmd!, argv, timeoutMs, env);
  }

  /** Run any executable to completion (killed after `timeoutMs`), e.g. a wrapper around node. */
  exec(file: string, args: string[], timeoutMs = 30_000): Promise<Result> {
    return this.spawnTracked(file, args, timeoutMs).exited;
  }

  private spawnTracked(
    cmd: string,
    argv: string[],
    timeoutMs: number,
    env: Record<string, string> = {}
  ): Running {
    const ownState = env['XDG_STATE_HOME'] === undefined && env['HOME'] === undefined;
    const stateHome = ownState ? mkdtempSync(join(tmpdir(), 'trackerless-state-home-')) : undefined;
    const child = spawn(cmd, argv, {
      cwd: ROOT,
      env: { ...CHILD_ENV, ...(stateHome ? { XDG_STATE_HOME: stateHome } : {}), ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    });
    this.children.add(child);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', () => {
      clearTimeout(timer);
      this.children.delete(child);
      if (stateHome) rmSync(stateHome, { recursive: true, force: true });
    });
    return new Running(child);
  }

  /** Run to completion (killed after `timeoutMs`). */
  run(script: string, args: string[], timeoutMs = 30_000): Promise<Result> {
    return this.start(script, args, timeoutMs).exited;
  }

  /**
   * SIGKILL every child still running and wait until each has closed (its pipes too), bounded:
   * a killed child left closing keeps the test worker alive after its last file.
   */
  async killAll(timeoutMs = 10_000): Promise<void> {
    const closing = [...this.children].map(
      (child) => new Promise<void>((resolve) => child.once('close', () => resolve()))
    );
    for (const child of this.children) child.kill('SIGKILL');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closing),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))
    ]);
    clearTimeout(timer);
  }
}

/**
 * `trackerless node` on 127.0.0.1 joined by no one: the bootstrap node of a test, killed after
 * `lifetimeMs` at the latest. Resolves with the process (the caller stops it, or the spawner's
 * killAll) and its host:port once it listens.
 */
export async function startBootstrapNode(
  spawner: Spawner,
  lifetimeMs = 120_000
): Promise<{ node: Running; address: string }> {
  const node = spawner.start(
    MAIN,
    ['node', '--host', '127.0.0.1', '--port', '0', '--no-bootstrap', '--stats-interval', '0'],
    lifetimeMs
  );
  const m = await node.waitFor(/^listening (127\.0\.0\.1:\d+) /m, 10_000, 'the DHT node to listen');
  return { node, address: m[1]! };
}
