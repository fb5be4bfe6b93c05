/**
 * A LAN of network namespaces the test creates: N hosts, each in its own namespace with one
 * interface `eth0` (10.77.0.<i+1>/24) plugged into a bridge that lives in one more namespace
 * (the switch). There is no route anywhere else: no default route, no uplink, nothing shared
 * with the test's own namespace, so the public routers are unreachable by construction.
 *
 * The namespaces are held by `unshare --net sleep` processes and entered with `nsenter`, not
 * named with `ip netns add`: nothing is written to /run/netns, names cannot collide with a
 * concurrent test, and it works inside `unshare --net` (as CI runs the suite) as well as
 * outside. Needs root (CAP_NET_ADMIN) and iproute2; `create` throws a clear error otherwise.
 * `close()` kills the holders, which destroys the namespaces and everything in them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Longest a namespace holder lives: the LAN is gone even if the test process dies. */
const HOLDER_SECONDS = 900;

export interface LanHost {
  /** PID of the process holding the namespace (nsenter -t). */
  pid: number;
  /** The host's IPv4 address on the LAN. */
  ip: string;
}

export class NetnsLan {
  private constructor(
    readonly hosts: LanHost[],
    private readonly holders: ChildProcess[]
  ) {}

  /** Build a LAN of `count` hosts. */
  static async create(count: number): Promise<NetnsLan> {
    const holders: ChildProcess[] = [];
    try {
      const sw = await holdNamespace(holders);
      const hosts: LanHost[] = [];
      await inNs(sw, 'ip', 'link', 'set', 'lo', 'up');
      await inNs(sw, 'ip', 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
      await inNs(sw, 'ip', 'link', 'set', 'br0', 'up');
      for (let i = 0; i < count; i++) {
        const pid = await holdNamespace(holders);
        const ip = `10.77.0.${i + 1}`;
        await inNs(
          sw,
          'ip',
          'link',
          'add',
          `port${i}`,
          'type',
          'veth',
          'peer',
          'name',
          'eth0',
          'netns',
          String(pid)
        );
        await inNs(sw, 'ip', 'link', 'set', `port${i}`, 'master', 'br0', 'up');
        await inNs(pid, 'ip', 'link', 'set', 'lo', 'up');
        await inNs(pid, 'ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
        await inNs(pid, 'ip', 'link', 'set', 'eth0', 'multicast', 'on', 'up');
        hosts.push({ pid, ip });
      }
      return new NetnsLan(hosts, holders);
    } catch (err) {
      for (const h of holders) h.kill('SIGKILL');
      throw new Error(
        `cannot build the test LAN of network namespaces (needs root and iproute2: unshare, nsenter, ip): ${(err as Error).message}`,
        { cause: err }
      );
    }
  }

  /** The argv prefix that runs a command on host `i`. */
  prefix(i: number): string[] {
    return ['nsenter', '-t', String(this.hosts[i]!.pid), '-n', '--'];
  }

  /** Run a command on host `i` to completion; its stdout. */
  async exec(i: number, cmd: string, ...args: string[]): Promise<string> {
    return inNs(this.hosts[i]!.pid, cmd, ...args);
  }

  /** Start a command on host `i` (the caller owns the child). */
  spawn(i: number, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const [nsenter, ...rest] = this.prefix(i);
    return spawn(nsenter!, [...rest, cmd, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /** Destroy the LAN (its namespaces, the bridge, every interface). */
  close(): void {
    for (const h of this.holders) h.kill('SIGKILL');
  }
}

/** Start a process in a new network namespace; resolves with its PID once it is in there. */
async function holdNamespace(holders: ChildProcess[]): Promise<number> {
  const child = spawn('unshare', ['--net', '--', 'sleep', String(HOLDER_SECONDS)], { stdio: 'ignore' });
  holders.push(child);
  const failed = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`unshare --net exited with ${code}`)));
  });
  const own = await readlink('/proc/self/ns/net');
  const entered = (async () => {
    // unshare(2) runs before exec: the namespace link changes once the child is in it.
    for (let i = 0; i < 200; i++) {
      const ns = await readlink(`/proc/${child.pid}/ns/net`).catch(() => own);
      if (ns !== own) return child.pid!;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('unshare --net did not enter a new namespace within 2 s');
  })();
  return Promise.race([entered, failed]);
}

async function inNs(pid: number, cmd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('nsenter', ['-t', String(pid), '-n', '--', cmd, ...args], { timeout: 10_000 });
  return stdout;
}
