/**
 * Why a uTP seeder resends: one seeder -> one downloader over loopback uTP, each pair of
 * implementations in turn, and every counter both ends and the kernel keep. Per rep: the
 * seeder's datagrams out and resends (split by cause: fast retransmit, lost by time, tail-loss
 * probe, timeout), the duplicates the downloader received (a resend of a packet that had
 * arrived: spurious), and the namespace's UDP counters (/proc/net/snmp: RcvbufErrors are
 * datagrams the kernel dropped because a socket's receive buffer was full).
 *
 *   npm run build && unshare --net -- bash -c 'ip link set lo up; node dist/bench/utp-resends.js --size 64 --reps 3'
 *
 * Options: --size MiB (64), --reps N (3), --pairs ours-lt,lt-ours,ours-ours,lt-lt (all four).
 * Run it in a private network namespace: the kernel's counters are then this run's alone.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argvReader } from './lib/argv.js';
import { makeFileTorrent } from './lib/content.js';
import { checkOutput } from './lib/output-check.js';
import { PeerProcess, transferPeerArgs, type Impl, type PeerEvent } from './lib/peer-process.js';
import { median } from './lib/stats.js';

const MiB = 1024 * 1024;
const HOST = '127.0.0.1';
const live = new Set<PeerProcess>();

async function start(impl: Impl, role: string, args: string[]): Promise<PeerProcess> {
  const { proc } = await PeerProcess.start(impl, role, args);
  live.add(proc);
  return proc;
}

async function stop(...procs: (PeerProcess | undefined)[]): Promise<void> {
  for (const p of procs) {
    if (!p) continue;
    await p.close();
    live.delete(p);
  }
}

/** The namespace's UDP counters (the `Udp:` lines of /proc/net/snmp). */
function udpCounters(): Record<string, number> {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
}

const num = (e: PeerEvent, k: string): number => Number(e[k] ?? NaN);

interface Rep {
  pair: string;
  mibps: number;
  out: number;
  resent: number;
  line: string;
}

async function once(
  seed: Impl,
  down: Impl,
  t: Awaited<ReturnType<typeof makeFileTorrent>>,
  dir: string
): Promise<Rep> {
  const out = join(dir, `down-${seed}-${down}`);
  await fsp.mkdir(out, { recursive: true });
  let s: PeerProcess | undefined;
  let d: PeerProcess | undefined;
  try {
    s = await start(
      seed,
      'seed',
      transferPeerArgs({ torrentPath: t.torrentPath, savePath: t.dataDir, host: HOST, transport: 'utp' })
    );
    const port = Number(s.events.find((e) => e.event === 'ready')!.port);
    const storage = down === 'ours' ? ['--storage', 'fs'] : [];
    d = await start(down, 'download', [
      ...transferPeerArgs({
        torrentPath: t.torrentPath,
        savePath: out,
        host: HOST,
        peer: `${HOST}:${port}`,
        transport: 'utp'
      }),
      ...storage
    ]);
    await s.request('mark', 'marked', 10_000);
    const k0 = udpCounters();
    const size = t.info.length;
    const done = await d.request('go', 'done', Math.max(120_000, (size / (2 * MiB)) * 1000));
    const k1 = udpCounters();
    const report = await s.request('report', 'report', 20_000);
    await stop(d, s);
    d = s = undefined;
    await checkOutput(t.info, t.dataDir, out, `${seed}->${down}`);
    const mibps = size / MiB / num(done, 'seconds');
    const outN = num(report, 'utpPacketsOut');
    const resent = num(report, 'utpRetransmits');
    const seedCauses =
      seed === 'ours'
        ? `fast ${num(report, 'utpFastRetransmits')}, late ${num(report, 'utpLateLosses')}, probes ${num(report, 'utpProbes')}, timeouts ${num(report, 'utpTimeouts')}`
        : `fast ${num(report, 'utpFastRetransmits')}, timeouts ${num(report, 'utpTimeouts')}`;
    // Spurious resends: DATA the downloader received twice. Ours counts them; libtorrent counts
    // every DATA it received, so the excess over our first transmissions is the duplicates.
    const firstData = outN - resent - num(report, 'utpAcksOut') - 1; // the 1: our FIN
    const dup =
      down === 'ours'
        ? num(done, 'utpDuplicatesIn')
        : seed === 'ours'
          ? num(done, 'utpDataIn') - firstData
          : NaN;
    const kernel = ['RcvbufErrors', 'SndbufErrors', 'InErrors']
      .map((k) => `${k} ${k1[k]! - k0[k]!}`)
      .join(', ');
    const line =
      `${`${seed}->${down}`.padEnd(10)} ${mibps.toFixed(1).padStart(5)} MiB/s; seeder sent ${outN}, resent ${resent} ` +
      `(${((100 * resent) / outN).toFixed(2)} %: ${seedCauses}); downloader got ${Number.isNaN(dup) ? 'an uncounted number of' : dup} duplicates; kernel: ${kernel}`;
    return { pair: `${seed}->${down}`, mibps, out: outN, resent, line };
  } finally {
    await stop(d, s);
    await fsp.rm(out, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const argv = argvReader(process.argv.slice(2));
  const sizeMiB = argv.num('size', 64);
  const reps = argv.num('reps', 3);
  const pairs = (argv.value('pairs') ?? 'ours-lt,lt-ours,ours-ours,lt-lt')
    .split(',')
    .map((p) => p.split('-') as [Impl, Impl]);
  const base = await fsp.stat('/dev/shm').then(
    () => '/dev/shm',
    () => tmpdir()
  );
  const dir = await fsp.mkdtemp(join(base, 'utp-resends-'));
  try {
    const t = await makeFileTorrent(dir, 'resends.bin', sizeMiB * MiB);
    const all: Rep[] = [];
    for (let rep = 0; rep < reps; rep++)
      for (let k = 0; k < pairs.length; k++) {
        const [seed, down] = pairs[(k + rep) % pairs.length]!;
        const r = await once(seed, down, t, dir);
        all.push(r);
        console.log(`rep ${rep + 1} ${r.line}`);
      }
    console.log('\nmedians:');
    for (const [seed, down] of pairs) {
      const rs = all.filter((r) => r.pair === `${seed}->${down}`);
      console.log(
        `  ${`${seed}->${down}`.padEnd(10)} ${median(rs.map((r) => r.mibps)).toFixed(1)} MiB/s, resent ${median(rs.map((r) => (100 * r.resent) / r.out)).toFixed(2)} %`
      );
    }
  } finally {
    for (const p of live) await p.close();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
