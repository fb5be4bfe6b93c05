/**
 * Drives test/interop/lt_swarm.py: a libtorrent peer (seeding a .torrent, or downloading a
 * magnet link) in a child process, DHT-only discovery on loopback, reporting JSON lines on
 * stdout. Closing its stdin makes it exit; `close()` SIGKILLs it if it does not.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PYTHON, type LtEvent } from './lt-node.js';

export const LT_SWARM_SCRIPT = fileURLToPath(new URL('../interop/lt_swarm.py', import.meta.url));

export type LtSwarmOptions = { bootstrap: string[]; savePath: string; maxSeconds?: number } & (
  | { mode: 'seed'; torrentFile: string }
  | { mode: 'download'; magnet: string }
);

export class LtSwarm {
  readonly events: LtEvent[] = [];
  readonly stderr: string[] = [];
  /** libtorrent's TCP listen port (announced on the DHT). */
  port = 0;
  private readonly waiters = new Set<() => void>();
  private readonly exited: Promise<void>;
  private hasExited = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let ev: LtEvent;
      try {
        ev = JSON.parse(line) as LtEvent;
      } catch {
        ev = { event: 'garbage', line };
      }
      this.events.push(ev);
      for (const w of [...this.waiters]) w();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
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

  /** Start the helper; resolves once libtorrent listens and has added the torrent. */
  static async start(o: LtSwarmOptions): Promise<LtSwarm> {
    const args = [LT_SWARM_SCRIPT, o.mode, '--save-path', o.savePath, '--max-seconds', String(o.maxSeconds ?? 150)];
    if (o.mode === 'seed') args.push('--torrent', o.torrentFile);
    else args.push('--magnet', o.magnet);
    for (const b of o.bootstrap) args.push('--bootstrap', b);
    const lt = new LtSwarm(spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    try {
      const first = await lt.next((e) => e.event === 'ready' || e.event === 'fatal', 15_000, 'libtorrent to listen');
      if (first.event === 'fatal') throw new Error(String(first.message));
      lt.port = Number(first.port);
      await lt.next((e) => e.event === 'added' || e.event === 'exit', 10_000, 'libtorrent to add the torrent');
      if (lt.hasExited || !lt.events.some((e) => e.event === 'added')) throw new Error(`libtorrent could not add the torrent: ${lt.describe()}`);
    } catch (err) {
      await lt.close();
      throw err;
    }
    return lt;
  }

  /** The latest status event. */
  get status(): LtEvent | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i]!.event === 'status') return this.events[i];
    return undefined;
  }

  /** The first event matching `pred` (from index `from` on), waiting up to `timeoutMs`. */
  next(pred: (e: LtEvent) => boolean, timeoutMs: number, what: string, from = 0): Promise<LtEvent> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (): void => {
        const hit = this.events.slice(from).find(pred);
        if (!hit && !this.hasExited) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        if (hit) resolve(hit);
        else reject(new Error(`libtorrent helper exited while waiting for ${what}: ${this.describe()}`));
      };
      timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no ${what} from libtorrent within ${timeoutMs} ms; ${this.describe()}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Recent events and stderr, for failure messages. */
  describe(): string {
    const notable = this.events.filter((e) => e.event !== 'status').slice(-8);
    return `events: ${JSON.stringify(notable)}; last status: ${JSON.stringify(this.status)}; stderr: ${this.stderr.join('').slice(-1500)}`;
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
}
