/**
 * Network namespaces a test creates and deletes: a path A - R - B of three namespaces joined by
 * veth pairs (no route anywhere else). R forwards between A and B like a home router, and its
 * link towards B is the bottleneck: a token bucket filter (rate, drop-tail buffer), optionally
 * with random UDP loss (iptables statistic match). The bottleneck sits on a router, not on the
 * sender's own interface, because Linux TCP throttles itself to a few packets in a local queue
 * (TCP small queues) and would not compete the way it does through a modem. Child processes run
 * inside A or B. Needs root, iproute2 and iptables (.ci/run installs them); `netnsProblem()`
 * says why namespaces cannot be made here.
 */
import { execFileSync, spawn } from 'node:child_process';
import { JsonLineChild } from '../../bench/lib/json-line-child.js';

export interface LinkShape {
  /** Bottleneck rate A -> B, bits per second. */
  rateBits: number;
  /** Bottleneck buffer, bytes (a drop-tail queue). */
  bufferBytes: number;
  /** Probability that R drops a forwarded UDP datagram, each direction. Default 0. */
  udpLoss?: number;
}

const run = (cmd: string, args: string[]): string =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).toString();

/** Why namespaces cannot be created here, or null when they can. */
export function netnsProblem(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of ['ip', 'tc', 'iptables']) {
    try {
      run('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed`;
    }
  }
  const probe = `tlprobe${process.pid}`;
  try {
    run('ip', ['netns', 'add', probe]);
    run('ip', ['netns', 'del', probe]);
  } catch (err) {
    return `ip netns add failed: ${(err as Error).message.split('\n')[0]}`;
  }
  return null;
}

export class NetnsPath {
  readonly a: string;
  readonly r: string;
  readonly b: string;
  readonly ipA: string;
  readonly ipB: string;
  private readonly subnet: number;
  private readonly children: JsonLineChild[] = [];
  private closed = false;

  private constructor(tag: string, subnet: number) {
    this.a = `tl${tag}a`;
    this.r = `tl${tag}r`;
    this.b = `tl${tag}b`;
    this.subnet = subnet;
    this.ipA = `10.${subnet}.1.2`;
    this.ipB = `10.${subnet}.2.2`;
  }

  /** Build the path, the R -> B link shaped as `shape` says. */
  static create(shape: LinkShape): NetnsPath {
    const tag = `${process.pid % 100000}${Math.floor(Math.random() * 1000)}`;
    const path = new NetnsPath(tag, 100 + Math.floor(Math.random() * 100));
    try {
      path.setUp(shape);
    } catch (err) {
      path.close();
      throw err;
    }
    return path;
  }

  /** Start `node script args` inside namespace `ns`, speaking JSON lines. */
  async start(ns: string, script: string, args: string[]): Promise<JsonLineChild> {
    const child = new JsonLineChild(
      spawn('ip', ['netns', 'exec', ns, process.execPath, script, ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, NODE_OPTIONS: '' }
      }),
      `${ns} ${args[0] ?? ''}`
    );
    this.children.push(child);
    const ready = await child.next((e) => e.event === 'ready' || e.event === 'fatal', 20_000, 'ready');
    if (ready.event === 'fatal') throw new Error(`${child.label}: ${String(ready.message)}`);
    return child;
  }

  /** Bytes queued at the bottleneck right now (tc's backlog). */
  backlogBytes(): number {
    const out = run('tc', ['-n', this.r, '-s', 'qdisc', 'show', 'dev', 'rb']);
    const m = /backlog (\d+)b/.exec(out);
    return m ? Number(m[1]) : 0;
  }

  /** Stop the children and delete the namespaces (the veths go with them). */
  async closeAll(): Promise<void> {
    await Promise.all(this.children.map((c) => c.close()));
    this.close();
  }

  private setUp(shape: LinkShape): void {
    const n = this.subnet;
    for (const ns of [this.a, this.r, this.b]) {
      run('ip', ['netns', 'add', ns]);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    run('ip', ['-n', this.a, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'ra', 'netns', this.r]);
    run('ip', ['-n', this.b, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'rb', 'netns', this.r]);
    for (const [ns, dev, cidr] of [
      [this.a, 'eth0', `${this.ipA}/24`],
      [this.r, 'ra', `10.${n}.1.1/24`],
      [this.r, 'rb', `10.${n}.2.1/24`],
      [this.b, 'eth0', `${this.ipB}/24`]
    ] as const) {
      run('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', dev]);
      run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
    run('ip', ['-n', this.a, 'route', 'add', 'default', 'via', `10.${n}.1.1`]);
    run('ip', ['-n', this.b, 'route', 'add', 'default', 'via', `10.${n}.2.1`]);
    run('ip', ['netns', 'exec', this.r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    // TCP in the end namespaces: Reno, with buffers that never limit it. Linux's default CUBIC
    // leaves slow start at the first RTT rise (HyStart) and on this path, which has no propagation
    // delay (no netem in this kernel), then grows by a few packets a second: ten seconds on it
    // holds ~100 ms of queue, uTP's own target, instead of the full buffer a loss-based TCP
    // builds behind a modem. Reno fills the buffer, as TCP does on real paths.
    for (const ns of [this.a, this.b]) {
      for (const setting of [
        'net.ipv4.tcp_congestion_control=reno',
        'net.ipv4.tcp_rmem=4096 2097152 16777216',
        'net.ipv4.tcp_wmem=4096 2097152 16777216'
      ]) {
        run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', setting]);
      }
    }
    // Token bucket: the rate, a burst of a few packets, a drop-tail buffer of bufferBytes.
    run('tc', [
      '-n',
      this.r,
      'qdisc',
      'add',
      'dev',
      'rb',
      'root',
      'tbf',
      'rate',
      `${shape.rateBits}bit`,
      'burst',
      '8kb',
      'limit',
      String(shape.bufferBytes)
    ]);
    if (shape.udpLoss) {
      run('ip', [
        'netns',
        'exec',
        this.r,
        'iptables',
        '-A',
        'FORWARD',
        '-p',
        'udp',
        '-m',
        'statistic',
        '--mode',
        'random',
        '--probability',
        String(shape.udpLoss),
        '-j',
        'DROP'
      ]);
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ns of [this.a, this.r, this.b]) {
      try {
        run('ip', ['netns', 'del', ns]);
      } catch {
        // not created
      }
    }
  }
}
