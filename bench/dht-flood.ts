/**
 * Flood benchmark (issue 8, scenario 3), on loopback only (run it in a private network
 * namespace: `unshare --net -- bash -c 'ip link set lo up; node dist/bench/dht-flood.js'`):
 *
 *   node dist/bench/dht-flood.js [--rate 100000] [--seconds 10] [--reps 2] [--modes off,on] [--pin]
 *
 * One victim node (a child process: ours, with a full routing table and stored peers) is
 * flooded by a second child sending ping / find_node / get_peers from one address
 * (127.0.0.66) at --rate for --seconds, while ten honest clients on 127.0.0.10-19 each ask it
 * something every 100 ms (10 queries/s each, an ordinary node's rate; each client on its own
 * 10 ms phase of the interval, as independent clients are) in this process. Modes:
 * `off` = no inbound limits, no outbound budget (the behaviour before issue 8); `on` = the
 * default protections with loopback not exempt. Reported per mode (medians over reps): the
 * honest queries answered and their latency before and during the flood, what the flooder
 * got back (replies/s, bytes/s, bytes per byte sent), the victim's CPU share and memory.
 * A mode may name a young-generation size for the victim's node process: `on@semi16` runs it
 * with `--min-semi-space-size=16 --max-semi-space-size=16` (MiB), to compare in one run.
 * `--pin`: the victim alone on CPU 0, the flooder and the honest clients on CPU 1 (taskset), so
 * that on a 2-core machine the three processes do not take turns on one core.
 * First it prints the worst-case bytes out per byte in of every datagram kind (amplification.ts).
 * Every loop is bounded in count and time; all sockets are closed.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { argvReader } from './lib/argv.js';
import { fmt, median, quantile, sleep, table, withTimeout } from './lib/stats.js';
import { measureAmplification } from './lib/amplification.js';
import { measureDropCost } from './lib/drop-cost.js';
import { HonestClients } from './lib/honest-clients.js';

const { value, num } = argvReader(process.argv.slice(2));
const rate = num('rate', 100_000);
const seconds = num('seconds', 10);
const reps = num('reps', 2);
const modes = (value('modes') ?? 'off,on').split(',');
const pin = process.argv.includes('--pin');
const BASELINE_MS = 3000;
const HONEST_CLIENTS = 10;
const HONEST_INTERVAL_MS = 100;
const LOST_AFTER_MS = 1000;

interface Run {
  mode: string;
  baselineAnswered: number;
  baselineP50: number;
  baselineP95: number;
  floodAnswered: number;
  floodP50: number;
  floodP95: number;
  flooderSentPerSec: number;
  flooderRepliesPerSec: number;
  reflectedBytesPerSec: number;
  bytesPerByteSent: number;
  victimCpuShare: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  dropped: number;
  /** Datagrams the kernel dropped because a receive buffer was full, during the flood. */
  kernelDrops: number;
  /** The victim's longest event-loop stall and its 99th percentile during the flood, ms. */
  stallMaxMs: number;
  stallP99Ms: number;
  /** The victim's CPU time per datagram it read during the flood, µs. */
  victimUsPerDatagram: number;
  /** The victim's young-generation collections during the flood: count, total and longest ms. */
  gcYoung: number;
  gcYoungMs: number;
  gcYoungMaxMs: number;
  /** Full (mark-compact) collections during the flood. */
  gcFull: number;
  load1: number;
}

interface GcCounts {
  young: number;
  youngMs: number;
  youngMaxMs: number;
  full: number;
  fullMs: number;
}

/** Pin a process to one CPU (Linux taskset); the bench's --pin. */
function pinTo(pid: number, cpu: number): void {
  execFileSync('taskset', ['-pc', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** The namespace's UDP RcvbufErrors (datagrams dropped on a full socket receive buffer). */
function rcvbufErrors(): number {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/);
    return Number(values[names.indexOf('RcvbufErrors')] ?? NaN);
  } catch {
    return NaN;
  }
}

const childPath = fileURLToPath(new URL('./flood-child.js', import.meta.url));

function message<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: { type: string }): void => {
      if (m.type !== type) return;
      child.off('message', onMsg);
      resolve(m as T);
    };
    child.on('message', onMsg);
    child.once('exit', (code) => reject(new Error(`flood child exited (${code}) before '${type}'`)));
  });
}

interface VictimStats {
  stats: Record<string, number>;
  cpu: NodeJS.CpuUsage;
  rss: number;
  /** Event-loop stalls since the previous stats. */
  loop: { stallMaxMs: number; stallP99Ms: number };
  gc: GcCounts;
}

async function victimStats(victim: ChildProcess): Promise<VictimStats> {
  const p = message<VictimStats>(victim, 'stats');
  victim.send({ type: 'stats' });
  return withTimeout(p, 10_000, 'victim stats');
}

async function runOnce(mode: string, rep: number): Promise<Run> {
  const [limits, variant] = mode.split('@') as [string, string | undefined];
  const semi = variant?.startsWith('semi') ? Number(variant.slice(4)) : undefined;
  const execArgv = [
    ...process.execArgv,
    ...(semi ? [`--min-semi-space-size=${semi}`, `--max-semi-space-size=${semi}`] : [])
  ];
  const victim = fork(childPath, ['--role', 'victim', '--limits', limits, '--seed', String(rep + 1)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv
  });
  if (pin) pinTo(victim.pid!, 0);
  const honest = new HonestClients({ count: HONEST_CLIENTS, intervalMs: HONEST_INTERVAL_MS });
  try {
    const { port } = await withTimeout(message<{ port: number }>(victim, 'ready'), 30_000, 'victim start');
    await honest.start(port);
    const t0 = performance.now();
    await sleep(BASELINE_MS);
    const before = await victimStats(victim);
    const kernelBefore = rcvbufErrors();
    const floodStart = performance.now();
    const flooder = fork(
      childPath,
      ['--role', 'flooder', '--target', String(port), '--rate', String(rate), '--seconds', String(seconds)],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }
    );
    if (pin) pinTo(flooder.pid!, 1);
    const done = await withTimeout(
      message<{ sent: number; bytesOut: number; replies: number; bytesIn: number; elapsedMs: number }>(
        flooder,
        'done'
      ),
      (seconds + 30) * 1000,
      'flooder'
    );
    const floodEnd = floodStart + done.elapsedMs;
    await sleep(LOST_AFTER_MS);
    const after = await victimStats(victim);
    const kernelDrops = rcvbufErrors() - kernelBefore;
    const base = honest.window(t0 + 500, t0 + BASELINE_MS, LOST_AFTER_MS);
    const flood = honest.window(floodStart + 500, floodEnd, LOST_AFTER_MS);
    const cpuMs = (after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system) / 1000;
    const s0 = before.stats;
    const s1 = after.stats;
    const drops = (s: Record<string, number>): number =>
      (s.droppedRateLimited ?? 0) +
      (s.droppedBanned ?? 0) +
      (s.droppedOverloaded ?? 0) +
      (s.droppedOverBudget ?? 0);
    return {
      mode,
      baselineAnswered: base.latencies.length / Math.max(1, base.sent),
      baselineP50: median(base.latencies),
      baselineP95: quantile(base.latencies, 0.95),
      floodAnswered: flood.latencies.length / Math.max(1, flood.sent),
      floodP50: median(flood.latencies),
      floodP95: quantile(flood.latencies, 0.95),
      flooderSentPerSec: (done.sent / done.elapsedMs) * 1000,
      flooderRepliesPerSec: (done.replies / done.elapsedMs) * 1000,
      reflectedBytesPerSec: (done.bytesIn / done.elapsedMs) * 1000,
      bytesPerByteSent: done.bytesIn / Math.max(1, done.bytesOut),
      victimCpuShare: cpuMs / (performance.now() - floodStart),
      rssBeforeMiB: before.rss / 2 ** 20,
      rssAfterMiB: after.rss / 2 ** 20,
      dropped: drops(s1) - drops(s0),
      kernelDrops,
      stallMaxMs: after.loop.stallMaxMs,
      stallP99Ms: after.loop.stallP99Ms,
      victimUsPerDatagram: (cpuMs * 1000) / Math.max(1, done.sent - kernelDrops),
      gcYoung: after.gc.young,
      gcYoungMs: after.gc.youngMs,
      gcYoungMaxMs: after.gc.youngMaxMs,
      gcFull: after.gc.full,
      load1: loadavg()[0]!
    };
  } finally {
    await honest.stop();
    const stopped = message(victim, 'stopped').catch(() => {});
    victim.send({ type: 'stop' });
    await withTimeout(stopped, 10_000, 'victim stop').catch(() => victim.kill('SIGKILL'));
  }
}

// Bytes out per byte in, per datagram kind, at their worst (simulated network, exact counts).
const amplification = await measureAmplification();
console.log('amplification: smallest query of each kind against a full node (bytes)');
console.log(
  table(
    ['datagram', 'query', 'reply', 'out / in'],
    amplification.map((r) => [r.datagram, `${r.queryBytes}`, `${r.replyBytes}`, fmt(r.ratio)])
  )
);

// Our own code's cost per dropped flood datagram, no socket: time, and the young-generation
// collections what it allocates causes.
const dropCost = await measureDropCost();
console.log(
  `our cost per dropped flood datagram (no socket): ${fmt(dropCost.nsPerDatagram)} ns, ${fmt(dropCost.youngGcsPerMillion)} young GCs per million`
);

if (pin) pinTo(process.pid, 1);
const runs: Run[] = [];
for (let rep = 0; rep < reps; rep++) {
  for (const mode of modes) {
    const r = await runOnce(mode, rep);
    runs.push(r);
    console.log(`rep ${rep + 1} ${mode}: ${JSON.stringify(r)}`);
  }
}
const med = (mode: string, f: (r: Run) => number): number =>
  median(runs.filter((r) => r.mode === mode).map(f));
console.log(
  `\nflood: ${fmt(rate, 0)} queries/s from one address for ${seconds} s; 10 honest clients x 10 queries/s; medians of ${reps} reps`
);
console.log(
  table(
    [
      'limits',
      'honest answered (before / during)',
      'honest p50 / p95 ms (before)',
      'honest p50 / p95 ms (during)',
      'flooder sent/s',
      'replies to flooder/s',
      'reflected KB/s',
      'bytes out per byte in',
      'victim CPU',
      'victim RSS MiB (before / after)',
      'dropped by the kernel (full buffer)',
      'victim loop stall p99 / max ms',
      'victim µs per datagram',
      'victim young GCs (n / total ms / max ms)',
      'load average'
    ],
    modes.map((m) => [
      m,
      `${fmt(med(m, (r) => r.baselineAnswered) * 100, 1)}% / ${fmt(med(m, (r) => r.floodAnswered) * 100, 1)}%`,
      `${fmt(med(m, (r) => r.baselineP50))} / ${fmt(med(m, (r) => r.baselineP95))}`,
      `${fmt(med(m, (r) => r.floodP50))} / ${fmt(med(m, (r) => r.floodP95))}`,
      fmt(
        med(m, (r) => r.flooderSentPerSec),
        0
      ),
      fmt(
        med(m, (r) => r.flooderRepliesPerSec),
        0
      ),
      fmt(med(m, (r) => r.reflectedBytesPerSec) / 1000, 1),
      fmt(med(m, (r) => r.bytesPerByteSent)),
      `${fmt(med(m, (r) => r.victimCpuShare) * 100, 0)}%`,
      `${fmt(
        med(m, (r) => r.rssBeforeMiB),
        0
      )} / ${fmt(
        med(m, (r) => r.rssAfterMiB),
        0
      )}`,
      fmt(
        med(m, (r) => r.kernelDrops),
        0
      ),
      `${fmt(med(m, (r) => r.stallP99Ms))} / ${fmt(med(m, (r) => r.stallMaxMs))}`,
      fmt(med(m, (r) => r.victimUsPerDatagram)),
      `${fmt(
        med(m, (r) => r.gcYoung),
        0
      )} / ${fmt(med(m, (r) => r.gcYoungMs))} / ${fmt(med(m, (r) => r.gcYoungMaxMs))}`,
      fmt(
        med(m, (r) => r.load1),
        1
      )
    ])
  )
);
console.log(`BENCH_JSON ${JSON.stringify({ rate, seconds, reps, pin, amplification, dropCost, runs })}`);
