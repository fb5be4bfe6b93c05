/**
 * One end of a bulk flow, uTP or TCP, as a child process driven by JSON lines: for shaped-link
 * experiments in network namespaces (test/netns/utp-ledbat.test.ts runs it with
 * `ip netns exec`). Every role emits {event:'ready', port} first and `progress` lines every
 * --every ms; closing stdin ends the process.
 *
 *   utp-recv --host H                          accept uTP, count bytes: progress {t, bytes}
 *   tcp-recv --host H                          the same over TCP
 *   utp-send --host H --to H:P [--bytes N] [--seconds S]
 *            send until N bytes or S seconds, then close: progress {t, sent, cwnd, delayMs,
 *            rttMs, retransmits, timeouts}, then {event:'done', seconds, bytes, error} once
 *            closed (error: null, or the code and systemCode of why the connection ended)
 *   tcp-send --host H --to H:P [--bytes N] [--seconds S]   the same over TCP
 *
 * A role that fails emits {event:'fatal', t, message, code, systemCode} and exits.
 *
 * t is seconds since the role started (performance.now()); at is the wall clock (Date.now(),
 * ms), comparable between processes on one machine.
 */
import { createInterface } from 'node:readline';
import { parseHostPort } from '../lib/net/address.js';
import type { WireStream } from '../lib/net/stream.js';
import { connectTcp, TcpServer } from '../lib/net/tcp.js';
import { createUdpTransport } from '../lib/net/udp-transport.js';
import type { UtpConnection } from '../lib/utp/connection.js';
import { UtpSocket } from '../lib/utp/socket.js';
import { argvReader } from './lib/argv.js';

const emit = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
};
const t0 = performance.now();
const t = (): number => Math.round(performance.now() - t0) / 1000;

/** Count what every incoming stream delivers; report the running total. */
function counter(every: number): { add: (s: WireStream) => void; stop: () => void } {
  let bytes = 0;
  const timer = setInterval(() => emit('progress', { t: t(), at: Date.now(), bytes }), every);
  return {
    add: (s) => s.onData((c) => (bytes += c.length)),
    stop: () => clearInterval(timer)
  };
}

/**
 * Write until `bytes` or `seconds` or the stream closes, honouring backpressure; resolves with
 * what was written.
 */
function pump(stream: WireStream, bytes: number, seconds: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x42);
  const until = performance.now() + seconds * 1000;
  let sent = 0;
  return new Promise((resolve) => {
    const more = (): void => {
      while (sent < bytes && performance.now() < until) {
        sent += chunk.length;
        if (!stream.write(chunk)) return;
      }
      clearInterval(tick);
      resolve(sent);
    };
    // A stream that never drains (the link is taken) still stops on time.
    const tick = setInterval(() => {
      if (performance.now() >= until) more();
    }, 50);
    stream.onDrain(more);
    stream.onClose(() => {
      clearInterval(tick);
      resolve(sent);
    });
    more();
  });
}

async function main(): Promise<void> {
  const [role = '', ...rest] = process.argv.slice(2);
  const { value, num } = argvReader(rest);
  const host = value('host') ?? '127.0.0.1';
  const every = num('every', 250);
  const bytes = num('bytes', Number.MAX_SAFE_INTEGER);
  const seconds = num('seconds', 3600);
  const cleanup: (() => Promise<void> | void)[] = [];
  createInterface({ input: process.stdin }).on('close', () => {
    void Promise.all(cleanup.map((f) => f())).finally(() => process.exit(0));
  });

  if (role === 'utp-recv') {
    const transport = await createUdpTransport({ host });
    const socket = new UtpSocket(transport);
    const count = counter(every);
    socket.onConnection((c) => count.add(c));
    cleanup.push(
      () => count.stop(),
      () => socket.close(),
      () => transport.close()
    );
    emit('ready', { port: transport.address().port });
  } else if (role === 'tcp-recv') {
    const count = counter(every);
    const server = await TcpServer.listen({ host, port: 0 }, (s) => {
      const stream = s.toStream([]);
      count.add(stream);
      s.resume();
    });
    cleanup.push(
      () => count.stop(),
      () => server.close()
    );
    emit('ready', { port: server.address().port });
  } else if (role === 'utp-send' || role === 'tcp-send') {
    const to = parseHostPort(value('to') ?? '');
    let stream: WireStream;
    let conn: UtpConnection | undefined;
    let socket: UtpSocket | undefined;
    if (role === 'utp-send') {
      const transport = await createUdpTransport({ host });
      socket = new UtpSocket(transport);
      cleanup.push(
        () => socket!.close(),
        () => transport.close()
      );
      conn = await socket.connect(to);
      stream = conn;
    } else {
      stream = await connectTcp(to);
    }
    emit('ready', { port: 0 });
    const closed = new Promise<void>((resolve) => stream.onClose(resolve));
    const progress = setInterval(() => {
      const i = conn?.info();
      emit('progress', {
        t: t(),
        at: Date.now(),
        ...(i
          ? {
              cwnd: Math.round(i.cwnd),
              delayMs: Number.isFinite(i.queueingDelayUs) ? i.queueingDelayUs / 1000 : null,
              rttMs: i.rttMs,
              inFlight: i.bytesInFlight,
              retransmits: socket!.stats.retransmits,
              timeouts: socket!.stats.timeouts
            }
          : {})
      });
    }, every);
    const start = performance.now();
    const sent = await pump(stream, bytes, seconds);
    stream.close();
    await closed;
    clearInterval(progress);
    const error = conn?.error ?? null;
    emit('done', {
      seconds: (performance.now() - start) / 1000,
      bytes: sent,
      error: error && { code: error.code, systemCode: (error as { systemCode?: string }).systemCode }
    });
  } else {
    throw new Error(`unknown role ${role}`);
  }
}

main().catch((err: unknown) => {
  const { code, systemCode } = err as { code?: string; systemCode?: string };
  emit('fatal', { t: t(), message: err instanceof Error ? err.message : String(err), code, systemCode });
  process.exit(1);
});
