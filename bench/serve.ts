/**
 * Replies/s one node serves on one core. The server (ours or the anchor) runs alone in a child
 * process (serve-child.ts); this process is the load generator on the other core: raw UDP
 * sockets on 127.0.0.1 sending pre-encoded, valid find_node / get_peers queries (random
 * targets, unique 4-byte tids), closed loop with a bounded window, bounded in count and time.
 * Reported: replies received per wall second and per second of server CPU (user + sys, from
 * the child's process.cpuUsage(): less sensitive to the noisy shared cores), bytes per reply.
 */
import { fork, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import bencode from 'bencode';
import { seededRandom } from '../lib/util/random.js';
import { sleep, withTimeout } from './lib/stats.js';
import type { ImplName } from './lib/impls.js';

export interface ServeOptions {
  impl: ImplName;
  entries: number;
  seed: number;
  /** Measurement window, ms (after warm-up). */
  durationMs: number;
  warmupMs: number;
  /** Hard cap on queries sent in one run. */
  maxQueries: number;
  /** Generator sockets and outstanding queries per socket. */
  sockets: number;
  window: number;
  /** Extra node flags for the server child (e.g. --cpu-prof to profile the server). */
  childExecArgv?: string[];
}

export interface ServeResult {
  impl: ImplName;
  entries: number;
  tableSize: number;
  sent: number;
  replies: number;
  lost: number;
  measuredMs: number;
  repliesPerSec: number;
  serverCpuMs: number;
  repliesPerCpuSec: number;
  /** Server CPU use during the window, fraction of one core. */
  serverCpuShare: number;
  bytesPerReply: number;
  maxReplyBytes: number;
}

const POOL = 4096;
const TID_MARK = Buffer.from('1:t4:');
const LOSS_AFTER_MS = 1000;

export async function runServe(opts: ServeOptions): Promise<ServeResult> {
  const childPath = fileURLToPath(new URL('./serve-child.js', import.meta.url));
  const child = fork(
    childPath,
    ['--impl', opts.impl, '--entries', String(opts.entries), '--seed', String(opts.seed)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: opts.childExecArgv ?? []
    }
  );
  const sockets: dgram.Socket[] = [];
  try {
    const ready = await withTimeout(
      nextMessage<{ type: 'ready'; port: number; tableSize: number }>(child, 'ready'),
      30_000,
      'serve child start'
    );
    const pool = buildPool(opts.seed + 7, POOL);
    for (let s = 0; s < opts.sockets; s++) {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
      try {
        sock.setRecvBufferSize(4 * 1024 * 1024);
      } catch {
        /* capped by the OS */
      }
      sockets.push(sock);
    }
    const gen = new Generator(sockets, pool, ready.port, opts);
    gen.start();
    await sleep(opts.warmupMs);
    const cpu0 = await askCpu(child);
    const start = gen.mark();
    const t0 = performance.now();
    while (performance.now() - t0 < opts.durationMs && gen.sent < opts.maxQueries) await sleep(50);
    const end = gen.mark();
    const measuredMs = performance.now() - t0;
    const cpu1 = await askCpu(child);
    gen.stop();
    const replies = end.replies - start.replies;
    const bytes = end.bytes - start.bytes;
    const serverCpuMs = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1000;
    return {
      impl: opts.impl,
      entries: opts.entries,
      tableSize: ready.tableSize,
      sent: gen.sent,
      replies,
      lost: gen.lost,
      measuredMs,
      repliesPerSec: (replies / measuredMs) * 1000,
      serverCpuMs,
      repliesPerCpuSec: serverCpuMs > 0 ? (replies / serverCpuMs) * 1000 : NaN,
      serverCpuShare: serverCpuMs / measuredMs,
      bytesPerReply: replies > 0 ? bytes / replies : NaN,
      maxReplyBytes: gen.maxReplyBytes
    };
  } finally {
    for (const s of sockets) await new Promise<void>((resolve) => s.close(() => resolve()));
    await stopChild(child);
  }
}

/** Pre-encoded queries: alternating find_node / get_peers, random targets, tid at `tidAt`. */
function buildPool(seed: number, n: number): Array<{ buf: Buffer; tidAt: number }> {
  const rnd = seededRandom(seed);
  const id = Buffer.from(rnd.bytes(20));
  const out: Array<{ buf: Buffer; tidAt: number }> = [];
  for (let i = 0; i < n; i++) {
    const target = Buffer.from(rnd.bytes(20));
    const msg =
      i % 2 === 0
        ? { t: Buffer.from('TTTT'), y: 'q', q: 'find_node', a: { id, target } }
        : { t: Buffer.from('TTTT'), y: 'q', q: 'get_peers', a: { id, info_hash: target } };
    const buf = Buffer.from(bencode.encode(msg));
    const at = buf.indexOf(TID_MARK);
    if (at < 0) throw new Error('tid not found in encoded query');
    out.push({ buf, tidAt: at + TID_MARK.length });
  }
  return out;
}

class Generator {
  sent = 0;
  lost = 0;
  replies = 0;
  bytes = 0;
  maxReplyBytes = 0;
  private next = 0;
  private seq = 1;
  private readonly outstanding = new Map<number, number>();
  private readonly perSocket: number[];
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly sockets: dgram.Socket[],
    private readonly pool: Array<{ buf: Buffer; tidAt: number }>,
    private readonly port: number,
    private readonly opts: ServeOptions
  ) {
    this.perSocket = sockets.map(() => 0);
    sockets.forEach((s, i) => s.on('message', (msg) => this.onReply(i, msg)));
  }

  start(): void {
    this.running = true;
    this.sockets.forEach((_, i) => this.fill(i));
    this.timer = setInterval(() => this.expire(), 100);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
  }

  mark(): { replies: number; bytes: number } {
    return { replies: this.replies, bytes: this.bytes };
  }

  private fill(s: number): void {
    while (this.running && this.perSocket[s]! < this.opts.window && this.sent < this.opts.maxQueries)
      this.send(s);
  }

  private send(s: number): void {
    const q = this.pool[this.next++ % this.pool.length]!;
    const tid = this.seq++ >>> 0;
    q.buf.writeUInt32BE(tid, q.tidAt);
    // The pool is far larger than the window, so a buffer is never rewritten while its
    // previous send is still pending.
    this.outstanding.set(tid, performance.now());
    this.perSocket[s]!++;
    this.sent++;
    this.sockets[s]!.send(q.buf, this.port, '127.0.0.1');
  }

  private onReply(s: number, msg: Buffer): void {
    const at = msg.lastIndexOf(TID_MARK);
    if (at < 0 || at + TID_MARK.length + 4 > msg.length) return;
    const tid = msg.readUInt32BE(at + TID_MARK.length);
    if (!this.outstanding.delete(tid)) return; // late reply of a query already counted lost
    this.perSocket[s]!--;
    if (msg.length > 3 && msg[msg.length - 2] === 0x72) {
      this.replies++;
      this.bytes += msg.length;
      if (msg.length > this.maxReplyBytes) this.maxReplyBytes = msg.length;
    }
    this.fill(s);
  }

  /** Queries unanswered for LOSS_AFTER_MS are lost (e.g. receive buffer overflow): refill. */
  private expire(): void {
    const cutoff = performance.now() - LOSS_AFTER_MS;
    let expired = 0;
    for (const [tid, at] of this.outstanding) {
      if (at > cutoff) break; // insertion order = send order
      this.outstanding.delete(tid);
      expired++;
    }
    if (expired === 0) return;
    this.lost += expired;
    // Attribute the losses evenly; the window is per socket only to spread the load.
    let left = expired;
    for (let s = 0; left > 0; s = (s + 1) % this.perSocket.length) {
      if (this.perSocket[s]! > 0) {
        this.perSocket[s]!--;
        left--;
      } else if (this.perSocket.every((x) => x === 0)) break;
    }
    this.sockets.forEach((_, i) => this.fill(i));
  }
}

function nextMessage<T extends { type: string }>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: T): void => {
      if (msg.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(msg);
    };
    const onExit = (code: number | null): void =>
      reject(new Error(`serve child exited (${code}) before '${type}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function askCpu(child: ChildProcess): Promise<NodeJS.CpuUsage> {
  const reply = nextMessage<{ type: 'cpu'; cpu: NodeJS.CpuUsage }>(child, 'cpu');
  child.send({ type: 'cpu' });
  return (await withTimeout(reply, 10_000, 'serve child cpu report')).cpu;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    child.send({ type: 'stop' });
    await withTimeout(exited, 10_000, 'serve child stop');
  } catch {
    child.kill('SIGKILL'); // our own child, by handle
    await exited;
  }
}
