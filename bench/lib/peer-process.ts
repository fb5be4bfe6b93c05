/**
 * One benchmark peer process: our engine (dist/bench/engine-peer.js, Node) or libtorrent
 * (bench/lib/lt-bench.py, /usr/bin/python3), both speaking the same protocol: arguments pick a
 * role, commands are lines on stdin, events are JSON lines on stdout (`ready` first). Closing
 * stdin ends the process; `close()` SIGKILLs it if it has not exited 5 s later, so no child
 * outlives the benchmark.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export type Impl = 'ours' | 'lt';
export const IMPL_NAMES: Record<Impl, string> = { ours: 'trackerless', lt: 'libtorrent' };

export const PYTHON = '/usr/bin/python3';
/** dist/bench/engine-peer.js next to the compiled benchmark. */
export const OURS_SCRIPT = fileURLToPath(new URL('../engine-peer.js', import.meta.url));
/** The python helper stays in the source tree (tsc does not copy it): bench/lib/lt-bench.py. */
export const LT_SCRIPT = ((): string => {
  const candidates = [new URL('./lt-bench.py', import.meta.url), new URL('../../../bench/lib/lt-bench.py', import.meta.url)];
  for (const c of candidates) {
    const p = fileURLToPath(c);
    if (existsSync(p)) return p;
  }
  return fileURLToPath(candidates[1]!);
})();

export interface PeerEvent {
  event: string;
  [key: string]: unknown;
}

/** Null when libtorrent's python bindings import, else why not. */
export function libtorrentProblem(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import libtorrent; print(libtorrent.__version__)'], { encoding: 'utf8', timeout: 15_000 });
  if (r.error) return `cannot run ${PYTHON}: ${r.error.message}`;
  if (r.status !== 0) return `${PYTHON} cannot import libtorrent (${r.stderr.trim().split('\n').pop() ?? ''})`;
  return null;
}

export interface StartOptions {
  /** Extra node flags for our child (e.g. --cpu-prof). */
  nodeFlags?: string[];
  readyTimeoutMs?: number;
  env?: Record<string, string>;
}

export class PeerProcess {
  readonly events: PeerEvent[] = [];
  readonly stderr: string[] = [];
  readonly label: string;
  private readonly waiters = new Set<() => void>();
  private readonly exited: Promise<void>;
  private hasExited = false;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    label: string
  ) {
    this.label = label;
    createInterface({ input: child.stdout }).on('line', (line) => {
      let ev: PeerEvent;
      try {
        ev = JSON.parse(line) as PeerEvent;
      } catch {
        ev = { event: 'garbage', line };
      }
      this.events.push(ev);
      for (const w of [...this.waiters]) w();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (this.stderr.length < 200) this.stderr.push(d);
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        this.hasExited = true;
        for (const w of [...this.waiters]) w();
        resolve();
      })
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Spawn `impl` in `role`; resolves with the process once it reported `ready`. */
  static async start(impl: Impl, role: string, args: string[], opts: StartOptions = {}): Promise<{ proc: PeerProcess; ready: PeerEvent }> {
    const env = { ...process.env, ...opts.env };
    const child =
      impl === 'ours'
        ? spawn(process.execPath, [...(opts.nodeFlags ?? []), OURS_SCRIPT, role, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env })
        : spawn(PYTHON, [LT_SCRIPT, role, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const proc = new PeerProcess(child, `${impl} ${role}`);
    try {
      const ready = await proc.next((e) => e.event === 'ready' || e.event === 'fatal', opts.readyTimeoutMs ?? 120_000, 'ready');
      if (ready.event === 'fatal') throw new Error(`${proc.label}: ${String(ready.message)}`);
      return { proc, ready };
    } catch (err) {
      await proc.close();
      throw err;
    }
  }

  send(command: string): void {
    if (!this.hasExited) this.child.stdin.write(`${command}\n`);
  }

  /** The first event from index `from` on that matches; a `fatal` event or exit rejects. */
  next(pred: (e: PeerEvent) => boolean, timeoutMs: number, what: string, from = 0): Promise<PeerEvent> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (err: Error | null, ev?: PeerEvent): void => {
        this.waiters.delete(check);
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(ev!);
      };
      const check = (): void => {
        const tail = this.events.slice(from);
        const hit = tail.find(pred);
        if (hit) return finish(null, hit);
        const fatal = tail.find((e) => e.event === 'fatal');
        if (fatal) return finish(new Error(`${this.label}: ${String(fatal.message)}`));
        if (this.hasExited) return finish(new Error(`${this.label} exited while waiting for ${what}: ${this.stderr.join('').slice(-2000)}`));
      };
      timer = setTimeout(
        () => finish(new Error(`${this.label}: no ${what} within ${timeoutMs} ms; last events ${JSON.stringify(this.events.slice(-4))}; stderr ${this.stderr.join('').slice(-1000)}`)),
        timeoutMs
      );
      this.waiters.add(check);
      check();
    });
  }

  /** Send a command and wait for the event it produces. */
  async request(command: string, event: string, timeoutMs: number): Promise<PeerEvent> {
    const from = this.events.length;
    this.send(command);
    return this.next((e) => e.event === event, timeoutMs, event, from);
  }

  warnings(): string[] {
    return this.events.filter((e) => e.event === 'warning' || e.event === 'error').map((e) => String(e.message));
  }

  /** Close stdin (the child exits on EOF), SIGKILL after 5 s. Idempotent. */
  async close(): Promise<void> {
    if (!this.hasExited) this.child.stdin.end();
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (!this.hasExited) this.child.kill('SIGKILL');
        resolve();
      }, 5_000);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    await this.exited;
  }
}
