/**
 * Drives test/interop/lt_swarm.py: a libtorrent peer (seeding a .torrent, or downloading a
 * magnet link) in a child process, DHT-only discovery on loopback, reporting JSON lines on
 * stdout. Closing its stdin makes it exit; `close()` SIGKILLs it if it does not.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PYTHON } from './lt-node.js';
import { JsonLineChild, type ChildEvent } from '../../bench/lib/json-line-child.js';

export const LT_SWARM_SCRIPT = fileURLToPath(new URL('../interop/lt_swarm.py', import.meta.url));

export type LtSwarmOptions = {
  /** DHT bootstrap nodes (none with `lsd`). */
  bootstrap: string[];
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Find peers by BEP 14 local discovery only (DHT off), announcing every `intervalSeconds`. */
  lsd?: { intervalSeconds: number };
  /** Without ut_pex: every peer libtorrent dials came from the discovery under test. */
  noPex?: boolean;
  /** Run the helper through this command prefix (e.g. nsenter into a network namespace). */
  prefix?: string[];
  savePath: string;
  maxSeconds?: number;
  /** 'forced-rc4': MSE both ways, RC4 only; plaintext peers are refused. Default: libtorrent's defaults. */
  encryption?: 'default' | 'forced-rc4';
} & ({ mode: 'seed'; torrentFile: string } | { mode: 'download'; magnet: string });

export class LtSwarm extends JsonLineChild {
  /** libtorrent's TCP listen port (announced on the DHT). */
  port = 0;

  private constructor(child: ChildProcessWithoutNullStreams) {
    super(child, 'libtorrent helper');
  }

  /** Start the helper; resolves once libtorrent listens and has added the torrent. */
  static async start(o: LtSwarmOptions): Promise<LtSwarm> {
    const args = [
      LT_SWARM_SCRIPT,
      o.mode,
      '--save-path',
      o.savePath,
      '--max-seconds',
      String(o.maxSeconds ?? 150)
    ];
    if (o.mode === 'seed') args.push('--torrent', o.torrentFile);
    else args.push('--magnet', o.magnet);
    for (const b of o.bootstrap) args.push('--bootstrap', b);
    if (o.encryption) args.push('--encryption', o.encryption);
    if (o.host) args.push('--host', o.host);
    if (o.noPex) args.push('--no-pex');
    if (o.lsd) args.push('--lsd', '--lsd-interval', String(o.lsd.intervalSeconds));
    const [cmd, ...argv] = [...(o.prefix ?? []), PYTHON, ...args];
    const lt = new LtSwarm(spawn(cmd!, argv, { stdio: ['pipe', 'pipe', 'pipe'] }));
    try {
      const first = await lt.next(
        (e) => e.event === 'ready' || e.event === 'fatal',
        15_000,
        'libtorrent to listen'
      );
      if (first.event === 'fatal') throw new Error(String(first.message));
      lt.port = Number(first.port);
      await lt.next(
        (e) => e.event === 'added' || e.event === 'exit',
        10_000,
        'libtorrent to add the torrent'
      );
      if (lt.hasExited || !lt.events.some((e) => e.event === 'added'))
        throw new Error(`libtorrent could not add the torrent: ${lt.describe()}`);
    } catch (err) {
      await lt.close();
      throw err;
    }
    return lt;
  }

  /** The latest status event. */
  get status(): ChildEvent | undefined {
    for (let i = this.events.length - 1; i >= 0; i--)
      if (this.events[i]!.event === 'status') return this.events[i];
    return undefined;
  }

  /** Recent events and stderr, for failure messages. */
  override describe(): string {
    const notable = this.events.filter((e) => e.event !== 'status').slice(-8);
    return `events: ${JSON.stringify(notable)}; last status: ${JSON.stringify(this.status)}; stderr: ${this.stderr.join('').slice(-1500)}`;
  }
}
