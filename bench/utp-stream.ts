/**
 * uTP transport alone, ours <-> ours over loopback UDP: one connection, the sender in this
 * process, the receiver in a child (two processes, like two clients), no BitTorrent on top.
 * Prints MiB/s per repetition, CPU seconds per GiB of each side, and packet counts; the
 * median last. (The side-by-side comparison with libtorrent, whose uTP cannot be driven without
 * BitTorrent, is `engine-bench.js --transfer --transport utp`.)
 *
 *   npm run build && node dist/bench/utp-stream.js [--size 128] [--reps 3] [--packet-size 1402]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createUdpTransport } from '../lib/net/udp-transport.js';
import { UtpSocket } from '../lib/utp/socket.js';
import type { UtpStats } from '../lib/utp/stats.js';
import { argvReader } from './lib/argv.js';
import { fmt, median, table } from './lib/stats.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const HOST = '127.0.0.1';

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

interface ChildReport {
  bytes: number;
  cpu: number;
  stats: UtpStats;
}

/** Child: accept one connection, count its bytes until it closes, report. */
async function childMain(packetSize: number | undefined): Promise<void> {
  const transport = await createUdpTransport({ host: HOST });
  const socket = new UtpSocket(transport, packetSize ? { packetSize } : {});
  socket.onConnection((conn) => {
    const cpu0 = cpuSeconds();
    let bytes = 0;
    conn.onData((c) => (bytes += c.length));
    conn.onClose(() => {
      const report: ChildReport = { bytes, cpu: cpuSeconds() - cpu0, stats: socket.stats };
      process.send!(report);
    });
  });
  process.send!({ port: transport.address().port });
  process.once('message', () => {
    socket.close();
    void transport.close().then(() => process.exit(0));
  });
}

async function once(size: number, packetSize: number | undefined) {
  const child = fork(fileURLToPath(import.meta.url), ['--child', String(packetSize ?? 0)]);
  const messages: unknown[] = [];
  const waiters: (() => void)[] = [];
  child.on('message', (m) => {
    messages.push(m);
    for (const w of waiters.splice(0)) w();
  });
  const next = async (): Promise<unknown> => {
    while (messages.length === 0) await new Promise<void>((r) => waiters.push(r));
    return messages.shift();
  };
  const { port } = (await next()) as { port: number };
  const transport = await createUdpTransport({ host: HOST });
  const socket = new UtpSocket(transport, packetSize ? { packetSize } : {});
  try {
    const conn = await socket.connect({ host: HOST, port });
    const chunk = Buffer.alloc(64 * 1024, 0x5a);
    const cpu0 = cpuSeconds();
    const t0 = performance.now();
    let sent = 0;
    await new Promise<void>((resolve) => {
      const push = (): void => {
        while (sent < size) {
          sent += chunk.length;
          if (!conn.write(chunk)) return;
        }
        conn.close();
      };
      conn.onDrain(push);
      conn.onClose(resolve);
      push();
    });
    const report = (await next()) as ChildReport;
    const seconds = (performance.now() - t0) / 1000;
    if (report.bytes !== size) throw new Error(`receiver got ${report.bytes} of ${size} bytes`);
    return {
      mibps: size / MiB / seconds,
      senderCpuPerGiB: (cpuSeconds() - cpu0) / (size / GiB),
      receiverCpuPerGiB: report.cpu / (size / GiB),
      packets: socket.stats.packetsOut,
      acks: report.stats.packetsOut,
      retransmits: socket.stats.retransmits,
      timeouts: socket.stats.timeouts
    };
  } finally {
    socket.close();
    await transport.close();
    child.send('stop');
    await new Promise((r) => child.once('exit', r));
  }
}

async function main(): Promise<void> {
  const { value, num } = argvReader(process.argv.slice(2));
  if (value('child') !== undefined) {
    const p = Number(value('child'));
    return childMain(p > 0 ? p : undefined);
  }
  const size = num('size', 128) * MiB;
  const reps = num('reps', 3);
  const packetSize = value('packet-size') !== undefined ? Number(value('packet-size')) : undefined;
  console.log(`uTP stream, ours -> ours over loopback, ${size / MiB} MiB, ${reps} reps, 2 processes`);
  const rows: string[][] = [];
  const all: Awaited<ReturnType<typeof once>>[] = [];
  for (let i = 0; i < reps; i++) {
    const r = await once(size, packetSize);
    all.push(r);
    rows.push([
      String(i + 1),
      fmt(r.mibps),
      fmt(r.senderCpuPerGiB),
      fmt(r.receiverCpuPerGiB),
      String(r.packets),
      String(r.acks),
      String(r.retransmits),
      String(r.timeouts)
    ]);
  }
  rows.push([
    'median',
    fmt(median(all.map((r) => r.mibps))),
    fmt(median(all.map((r) => r.senderCpuPerGiB))),
    fmt(median(all.map((r) => r.receiverCpuPerGiB))),
    '',
    '',
    '',
    ''
  ]);
  console.log(
    table(
      [
        'rep',
        'MiB/s',
        'sender CPU s/GiB',
        'receiver CPU s/GiB',
        'packets',
        'acks',
        'retransmits',
        'timeouts'
      ],
      rows
    )
  );
}

void main();
