/**
 * One benchmark peer process: our engine (dist/bench/engine-peer.js, Node) or libtorrent
 * (bench/lib/lt-bench.py, /usr/bin/python3), both speaking the same protocol: arguments pick a
 * role, commands are lines on stdin, events are JSON lines on stdout (`ready` first). Closing
 * stdin ends the process; `close()` SIGKILLs it if it has not exited 5 s later, so no child
 * outlives the benchmark.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JsonLineChild, type ChildEvent } from './json-line-child.js';
import { PYTHON } from './libtorrent-python.js';

export { libtorrentProblem, PYTHON } from './libtorrent-python.js';

export type Impl = 'ours' | 'lt';
export const IMPL_NAMES: Record<Impl, string> = { ours: 'trackerless', lt: 'libtorrent' };

/** dist/bench/engine-peer.js next to the compiled benchmark. */
export const OURS_SCRIPT = fileURLToPath(new URL('../engine-peer.js', import.meta.url));
/**
 * Preloaded into our seed and download peers, as the CLI's transfer commands do (transfer-heap.ts),
 * and into a swarm process, which hosts N + 1 such clients.
 */
const TRANSFER_HEAP = new URL('./transfer-heap.js', import.meta.url).href;
const TRANSFER_ROLES: readonly string[] = ['seed', 'download', 'swarm'];
/** The python helper stays in the source tree (tsc does not copy it): bench/lib/lt-bench.py. */
export const LT_SCRIPT = ((): string => {
  const candidates = [
    new URL('./lt-bench.py', import.meta.url),
    new URL('../../../bench/lib/lt-bench.py', import.meta.url)
  ];
  for (const c of candidates) {
    const p = fileURLToPath(c);
    if (existsSync(p)) return p;
  }
  return fileURLToPath(candidates[1]!);
})();

export type PeerEvent = ChildEvent;

/** What a transfer role (`seed`, `download`) is given; both implementations take the same flags. */
export interface TransferPeerArgs {
  torrentPath: string;
  /** The seed's copy of the data, or the directory a download writes to. */
  savePath: string;
  /** The address to bind. */
  host: string;
  /** A download: the seed to dial, host:port. */
  peer?: string;
  /** Default TCP. */
  transport?: 'tcp' | 'utp';
}

/** The command line of a seed or download peer (extra role flags go after it). */
export function transferPeerArgs(a: TransferPeerArgs): string[] {
  return [
    '--torrent',
    a.torrentPath,
    '--save-path',
    a.savePath,
    '--host',
    a.host,
    ...(a.peer !== undefined ? ['--peer', a.peer] : []),
    ...(a.transport !== undefined ? ['--transport', a.transport] : [])
  ];
}

export interface StartOptions {
  /** Extra node flags for our child (e.g. --cpu-prof). */
  nodeFlags?: string[];
  readyTimeoutMs?: number;
  env?: Record<string, string>;
}

export class PeerProcess extends JsonLineChild {
  private constructor(child: ChildProcessWithoutNullStreams, label: string) {
    super(child, label);
  }

  /** Spawn `impl` in `role`; resolves with the process once it reported `ready`. */
  static async start(
    impl: Impl,
    role: string,
    args: string[],
    opts: StartOptions = {}
  ): Promise<{ proc: PeerProcess; ready: PeerEvent }> {
    const env = { ...process.env, ...opts.env };
    const child =
      impl === 'ours'
        ? spawn(
            process.execPath,
            [
              ...(TRANSFER_ROLES.includes(role) ? ['--import', TRANSFER_HEAP] : []),
              ...(opts.nodeFlags ?? []),
              OURS_SCRIPT,
              role,
              ...args
            ],
            {
              stdio: ['pipe', 'pipe', 'pipe'],
              env
            }
          )
        : spawn(PYTHON, [LT_SCRIPT, role, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const proc = new PeerProcess(child, `${impl} ${role}`);
    try {
      const ready = await proc.next(
        (e) => e.event === 'ready' || e.event === 'fatal',
        opts.readyTimeoutMs ?? 120_000,
        'ready'
      );
      if (ready.event === 'fatal') throw new Error(`${proc.label}: ${String(ready.message)}`);
      return { proc, ready };
    } catch (err) {
      await proc.close();
      throw err;
    }
  }

  /** Send a command and wait for the event it produces. */
  async request(command: string, event: string, timeoutMs: number): Promise<PeerEvent> {
    const from = this.events.length;
    this.send(command);
    return this.next((e) => e.event === event, timeoutMs, event, from);
  }

  warnings(): string[] {
    return this.events
      .filter((e) => e.event === 'warning' || e.event === 'error')
      .map((e) => String(e.message));
  }
}
