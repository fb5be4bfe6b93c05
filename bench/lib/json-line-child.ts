/**
 * A helper child process that takes line commands on stdin and reports one JSON object per
 * line on stdout: the benchmark's peer processes (bench/lib/peer-process.ts) and the
 * libtorrent helpers of the interop tests (test/support/lt-*.ts). A `fatal` event (e.g.
 * "python3-libtorrent is not installed") fails every wait. Closing stdin makes the child
 * exit; `close()` SIGKILLs it if it has not exited 5 s later, so nothing outlives its user.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildEvent {
  event: string;
  [key: string]: unknown;
}

export class JsonLineChild {
  readonly events: ChildEvent[] = [];
  readonly stderr: string[] = [];
  protected hasExited = false;
  /** How the child ended ("code 1", "signal SIGSEGV"): a crash prints nothing on its stderr. */
  private exitStatus = '';
  private readonly waiters = new Set<() => void>();
  private readonly exited: Promise<void>;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    /** Who this is, for error messages ("libtorrent helper"). */
    readonly label: string
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let ev: ChildEvent;
      try {
        ev = JSON.parse(line) as ChildEvent;
      } catch {
        ev = { event: 'garbage', line };
      }
      this.events.push(ev);
      this.wake();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (this.stderr.length < 200) this.stderr.push(d);
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.hasExited = true;
        this.exitStatus = signal ? `signal ${signal}` : `code ${code}`;
        this.wake();
        resolve();
      })
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(command: string): void {
    if (!this.hasExited) this.child.stdin.write(`${command}\n`);
  }

  /**
   * The first event (from index `from` on) matching `pred`, waiting up to `timeoutMs`.
   * Pass `from: child.events.length` before sending a command to see only what follows it.
   */
  next(pred: (e: ChildEvent) => boolean, timeoutMs: number, what: string, from = 0): Promise<ChildEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const tail = this.events.slice(from);
        const hit = tail.find(pred);
        const fatal = hit ? undefined : tail.find((e) => e.event === 'fatal');
        if (!hit && !fatal && !this.hasExited) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        if (hit) resolve(hit);
        else if (fatal) reject(new Error(`${this.label}: ${String(fatal.message)}`));
        else reject(new Error(`${this.label} exited while waiting for ${what}: ${this.describe()}`));
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no ${what} from ${this.label} within ${timeoutMs} ms; ${this.describe()}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Recent events and stderr, for failure messages. */
  describe(): string {
    const status = this.hasExited ? `exited with ${this.exitStatus}; ` : '';
    return `${status}last events: ${JSON.stringify(this.events.slice(-5))}; stderr: ${this.stderr.join('').slice(-2000)}`;
  }

  /** Close stdin (the helper exits on EOF); SIGKILL it if it has not exited in 5 s. */
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

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
