/**
 * Drives test/interop/lt_node.py: a libtorrent DHT node in a child process that reads
 * commands on stdin and writes JSON lines on stdout. Closing stdin makes it exit.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Address } from '../../lib/index.js';

export const PYTHON = '/usr/bin/python3';
export const LT_SCRIPT = fileURLToPath(new URL('../interop/lt_node.py', import.meta.url));

export interface LtEvent {
  event: string;
  [key: string]: unknown;
}

/** Null when `import libtorrent` works with /usr/bin/python3, else why not. */
export function libtorrentProblem(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import libtorrent; print(libtorrent.__version__)'], { encoding: 'utf8', timeout: 15_000 });
  if (r.error) return `cannot run ${PYTHON}: ${r.error.message}`;
  if (r.status !== 0) return `${PYTHON} cannot import libtorrent (${r.stderr.trim().split('\n').pop() ?? ''})`;
  return null;
}

export class LtNode {
  readonly events: LtEvent[] = [];
  readonly stderr: string[] = [];
  port = 0;
  private readonly waiters = new Set<() => void>();
  private exited: Promise<void>;
  private hasExited = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      let ev: LtEvent;
      try {
        ev = JSON.parse(line) as LtEvent;
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

  /** Spawn a libtorrent node bootstrapping from `bootstrap` only; resolves once it listens. */
  static async start(bootstrap: Address[], opts: { maxSeconds?: number; logDht?: boolean } = {}): Promise<LtNode> {
    const args = [LT_SCRIPT, '--max-seconds', String(opts.maxSeconds ?? 240)];
    for (const b of bootstrap) args.push('--bootstrap', `${b.host}:${b.port}`);
    if (opts.logDht) args.push('--log-dht');
    const node = new LtNode(spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    let ready: LtEvent;
    try {
      ready = await node.next((e) => e.event === 'ready' || e.event === 'fatal', 15_000, 'libtorrent ready');
    } catch (err) {
      await node.close(); // never leave a child behind
      throw err;
    }
    if (ready.event === 'fatal') {
      await node.close();
      throw new Error(String(ready.message));
    }
    node.port = Number(ready.port);
    return node;
  }

  get address(): Address {
    return { host: '127.0.0.1', port: this.port };
  }

  send(command: string): void {
    if (!this.hasExited) this.child.stdin.write(`${command}\n`);
  }

  /**
   * The first event (from index `from` on) matching `pred`, waiting up to `timeoutMs`.
   * Pass `from: node.events.length` before sending a command to see only what follows it.
   */
  next(pred: (e: LtEvent) => boolean, timeoutMs: number, what: string, from = 0): Promise<LtEvent> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (): void => {
        const hit = this.events.slice(from).find(pred);
        if (hit || this.hasExited) {
          this.waiters.delete(check);
          clearTimeout(timer);
          if (hit) resolve(hit);
          else reject(new Error(`libtorrent helper exited while waiting for ${what}: ${this.stderr.join('').slice(-2000)}`));
        }
      };
      timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no ${what} from libtorrent within ${timeoutMs} ms; last events: ${JSON.stringify(this.events.slice(-5))}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Ask for DHT stats; the number of nodes in libtorrent's routing table. */
  async dhtNodes(timeoutMs = 5_000): Promise<number> {
    const from = this.events.length;
    this.send('stats');
    const ev = await this.next((e) => e.event === 'stats', timeoutMs, 'dht stats', from);
    return Number(ev.nodes);
  }

  /** One dht_get_peers lookup; the peers in its reply alert. */
  async getPeers(infoHash: string, timeoutMs = 15_000): Promise<Address[]> {
    const from = this.events.length;
    this.send(`get_peers ${infoHash}`);
    const ev = await this.next((e) => e.event === 'peers' && e.info_hash === infoHash, timeoutMs, `get_peers reply for ${infoHash}`, from);
    return (ev.peers as Array<[string, number]>).map(([host, port]) => ({ host, port }));
  }

  /**
   * Announce `infoHash` to the DHT; resolves with the TCP port libtorrent announces: `port`
   * via session.dht_announce, or its listen port where the 2.0.8 bindings force the
   * torrent fallback (see lt_node.py).
   */
  async announce(infoHash: string, port: number): Promise<{ port: number; via: string }> {
    const from = this.events.length;
    this.send(`announce ${infoHash} ${port}`);
    const ev = await this.next(
      (e) => (e.event === 'announcing' && e.info_hash === infoHash) || (e.event === 'error' && String(e.message).includes(infoHash)),
      5_000,
      `announce of ${infoHash}`,
      from
    );
    if (ev.event === 'error') throw new Error(`libtorrent helper: ${String(ev.message)}`);
    return { port: Number(ev.port), via: String(ev.via) };
  }

  /** BEP 51 sample_infohashes to `node`; what libtorrent parsed from its reply. */
  async sample(node: Address, timeoutMs = 10_000): Promise<{ num: number; interval: number; samples: string[]; nodes: Array<{ id: string; host: string; port: number }> }> {
    const from = this.events.length;
    const endpoint = `${node.host}:${node.port}`;
    this.send(`sample ${endpoint}`);
    const ev = await this.next((e) => e.event === 'samples' && e.endpoint === endpoint, timeoutMs, `sample_infohashes reply from ${endpoint}`, from);
    return {
      num: Number(ev.num),
      interval: Number(ev.interval),
      samples: ev.samples as string[],
      nodes: ev.nodes as Array<{ id: string; host: string; port: number }>
    };
  }

  /** Close stdin (the helper exits on EOF); SIGKILL this child if it has not exited in 5 s. */
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
