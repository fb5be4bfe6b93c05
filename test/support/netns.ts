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
import { describe } from '@jest/globals';
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

/**
 * `describe` where namespaces can be created; elsewhere `describe.skip`, with `what` and the
 * reason printed. CI runs as root with the tools installed by .ci/run: a problem there is a
 * failure, not a skip.
 */
export function describeWithNetns(what: string): typeof describe | typeof describe.skip {
  const problem = netnsProblem();
  if (problem && process.env.CI) throw new Error(`network namespaces unavailable in CI: ${problem}`);
  if (problem) console.warn(`${what} skipped: ${problem}`);
  return problem ? describe.skip : describe;
}

export interface StartOptions {
  /**
   * Scheduling niceness of the child (negative: ahead of the machine's other work; needs root,
   * which namespaces need anyway): for a measurement of a protocol on a shaped link that the
   * CPU scheduler must not skew.
   */
  nice?: number;
}

/** Namespaces a test made, the child processes it runs in them, and their removal. */
abstract class NamespaceSet {
  private readonly children: JsonLineChild[] = [];
  private readonly made: string[] = [];
  private closed = false;

  /** Start `node script args` inside namespace `ns`, speaking JSON lines. */
  start(ns: string, script: string, args: string[], opts: StartOptions = {}): Promise<JsonLineChild> {
    return this.startProgram(ns, process.execPath, [script, ...args], `${ns} ${args[0] ?? ''}`, opts);
  }

  /** Start any program speaking JSON lines inside `ns`; resolves once it said `ready`. */
  async startProgram(
    ns: string,
    command: string,
    args: string[],
    label: string,
    opts: StartOptions = {}
  ): Promise<JsonLineChild> {
    const nice = opts.nice !== undefined ? ['nice', '-n', String(opts.nice)] : [];
    const child = new JsonLineChild(
      spawn('ip', ['netns', 'exec', ns, ...nice, command, ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, NODE_OPTIONS: '' }
      }),
      label
    );
    this.children.push(child);
    const ready = await child.next((e) => e.event === 'ready' || e.event === 'fatal', 20_000, 'ready');
    if (ready.event === 'fatal')
      throw Object.assign(new Error(`${child.label}: ${String(ready.message)}`), { event: ready });
    return child;
  }

  /** Stop the children and delete the namespaces (the veths go with them). */
  async closeAll(): Promise<void> {
    await Promise.all(this.children.map((c) => c.close()));
    this.close();
  }

  /** Build with `setUp`, deleting whatever was made if it fails. */
  protected build(setUp: () => void): void {
    try {
      setUp();
    } catch (err) {
      this.close();
      throw err;
    }
  }

  protected addNamespace(ns: string): void {
    run('ip', ['netns', 'add', ns]);
    this.made.push(ns);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  /** A veth pair between two namespaces, each end addressed and up. */
  protected veth(ns1: string, dev1: string, cidr1: string, ns2: string, dev2: string, cidr2: string): void {
    run('ip', ['-n', ns1, 'link', 'add', dev1, 'type', 'veth', 'peer', 'name', dev2, 'netns', ns2]);
    for (const [ns, dev, cidr] of [
      [ns1, dev1, cidr1],
      [ns2, dev2, cidr2]
    ] as const) {
      run('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', dev]);
      run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
  }

  protected inNs(ns: string, cmd: string, args: string[]): string {
    return run('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ns of this.made) {
      try {
        run('ip', ['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
  }
}

let made = 0;

/**
 * A tag no other path of this process or of a concurrent one has (the pid and a count, kept
 * apart by letters: the old pid-then-random digits could read the same for two processes), a
 * random part against a namespace left behind by a killed run whose pid came round again, and
 * a /16 (10.N.0.0).
 */
function fresh(): { tag: string; subnet: number } {
  made += 1;
  return {
    tag: `${process.pid}n${made}r${Math.floor(Math.random() * 10000)}`,
    subnet: 100 + Math.floor(Math.random() * 100)
  };
}

export class NetnsPath extends NamespaceSet {
  readonly a: string;
  readonly r: string;
  readonly b: string;
  readonly ipA: string;
  readonly ipB: string;
  private readonly subnet: number;

  private constructor(tag: string, subnet: number) {
    super();
    this.a = `tl${tag}a`;
    this.r = `tl${tag}r`;
    this.b = `tl${tag}b`;
    this.subnet = subnet;
    this.ipA = `10.${subnet}.1.2`;
    this.ipB = `10.${subnet}.2.2`;
  }

  /** Build the path, the R -> B link shaped as `shape` says. */
  static create(shape: LinkShape): NetnsPath {
    const { tag, subnet } = fresh();
    const path = new NetnsPath(tag, subnet);
    path.build(() => path.setUp(shape));
    return path;
  }

  /** Bytes queued at the bottleneck right now (tc's backlog). */
  backlogBytes(): number {
    const out = run('tc', ['-n', this.r, '-s', 'qdisc', 'show', 'dev', 'rb']);
    const m = /backlog (\d+)b/.exec(out);
    return m ? Number(m[1]) : 0;
  }

  private setUp(shape: LinkShape): void {
    const n = this.subnet;
    for (const ns of [this.a, this.r, this.b]) this.addNamespace(ns);
    this.veth(this.a, 'eth0', `${this.ipA}/24`, this.r, 'ra', `10.${n}.1.1/24`);
    this.veth(this.b, 'eth0', `${this.ipB}/24`, this.r, 'rb', `10.${n}.2.1/24`);
    run('ip', ['-n', this.a, 'route', 'add', 'default', 'via', `10.${n}.1.1`]);
    run('ip', ['-n', this.b, 'route', 'add', 'default', 'via', `10.${n}.2.1`]);
    this.inNs(this.r, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
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
        this.inNs(ns, 'sysctl', ['-qw', setting]);
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
      this.inNs(this.r, 'iptables', [
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
}

/**
 * Two hosts, each behind its own NAT, and a public network between the NATs:
 *
 *   hostA - natA =(public: pub)= natB - hostB
 *
 * Each NAT masquerades its LAN (Linux keeps the source port when it is free, so a UDP socket
 * keeps one public port for every destination: an endpoint-independent mapping) and forwards
 * inbound packets only for flows its host started (conntrack ESTABLISHED): unsolicited packets
 * are dropped, forwarded or addressed to the NAT itself, as a home router does. `pub` routes between the NATs' public addresses and is
 * where a relay runs, at `relayIp`. Hosts have no route to each other's LAN.
 */
export class NatPair extends NamespaceSet {
  readonly pub: string;
  readonly hostA: string;
  readonly hostB: string;
  /** The relay's address in `pub`, reachable from both hosts. */
  readonly relayIp: string;
  /** The NATs' public addresses. */
  readonly natIpA: string;
  readonly natIpB: string;
  readonly hostIpA: string;
  readonly hostIpB: string;
  private readonly natA: string;
  private readonly natB: string;

  private constructor(tag: string, n: number) {
    super();
    this.pub = `tl${tag}p`;
    this.natA = `tl${tag}na`;
    this.natB = `tl${tag}nb`;
    this.hostA = `tl${tag}ha`;
    this.hostB = `tl${tag}hb`;
    this.relayIp = `10.${n}.10.1`;
    this.natIpA = `10.${n}.10.2`;
    this.natIpB = `10.${n}.20.2`;
    this.hostIpA = `10.${n}.1.2`;
    this.hostIpB = `10.${n}.2.2`;
  }

  static create(): NatPair {
    const { tag, subnet } = fresh();
    const pair = new NatPair(tag, subnet);
    pair.build(() => pair.setUp(subnet));
    return pair;
  }

  private setUp(n: number): void {
    for (const ns of [this.pub, this.natA, this.natB, this.hostA, this.hostB]) this.addNamespace(ns);
    this.veth(this.natA, 'wan', `${this.natIpA}/24`, this.pub, 'pa', `${this.relayIp}/24`);
    this.veth(this.natB, 'wan', `${this.natIpB}/24`, this.pub, 'pb', `10.${n}.20.1/24`);
    this.veth(this.hostA, 'eth0', `${this.hostIpA}/24`, this.natA, 'lan', `10.${n}.1.1/24`);
    this.veth(this.hostB, 'eth0', `${this.hostIpB}/24`, this.natB, 'lan', `10.${n}.2.1/24`);
    this.inNs(this.pub, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    for (const [nat, host, gateway, lanGateway] of [
      [this.natA, this.hostA, this.relayIp, `10.${n}.1.1`],
      [this.natB, this.hostB, `10.${n}.20.1`, `10.${n}.2.1`]
    ] as const) {
      this.inNs(nat, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      run('ip', ['-n', nat, 'route', 'add', 'default', 'via', gateway]);
      run('ip', ['-n', host, 'route', 'add', 'default', 'via', lanGateway]);
      this.inNs(nat, 'iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE']);
      // From the public side only flows the host started pass, forwarded or to the NAT itself.
      // Were unsolicited packets to the NAT accepted, a peer's early SYN would reach the NAT's
      // own stack, and the conntrack entry it leaves (30 s) would clash with the host's own
      // outgoing flow to that peer, which would then get another public port and miss the hole
      // the peer opened.
      for (const chain of ['FORWARD', 'INPUT']) {
        const established = ['-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'];
        this.inNs(nat, 'iptables', ['-A', chain, '-i', 'wan', ...established]);
        this.inNs(nat, 'iptables', ['-A', chain, '-i', 'wan', '-j', 'DROP']);
      }
    }
  }
}
