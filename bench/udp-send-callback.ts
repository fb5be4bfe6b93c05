/**
 * What asking node:dgram to report send errors costs: CPU per datagram of `socket.send` with a
 * completion callback (dgram then queues it on the next tick after every send) and without one,
 * in alternating rounds, 1422-byte datagrams ([20-byte header, 1402-byte payload], as uTP sends
 * them) in batches of 64 per turn to a socket on 127.0.0.1. Decides which sends lib/utp checks
 * (net/transport.ts `unchecked`).
 *
 *   node dist/bench/udp-send-callback.js [--rounds 7] [--datagrams 100000]
 *
 * Loopback only; run it in a private namespace like the tests (unshare --net).
 */
import dgram from 'node:dgram';
import { argvReader } from './lib/argv.js';

const BATCH = 64;

async function bind(lookup: boolean): Promise<dgram.Socket> {
  // The library's own lookup answers IP literals at once; dgram's default defers every send.
  const s = dgram.createSocket(
    lookup ? { type: 'udp4', lookup: (a, _f, cb) => cb(null, a, 4) } : { type: 'udp4' }
  );
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

async function main(): Promise<void> {
  const { num } = argvReader(process.argv.slice(2));
  const rounds = num('rounds', 7);
  const n = num('datagrams', 100_000);
  const sock = await bind(true);
  const sink = await bind(false);
  sink.on('message', () => {});
  const port = sink.address().port;
  const parts = [Buffer.alloc(20), Buffer.alloc(1402)];
  const afterSend = (err: Error | null): void => {
    if (err) throw err;
  };
  const round = async (withCallback: boolean): Promise<number> => {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i += BATCH) {
      for (let j = 0; j < BATCH; j++) {
        if (withCallback) sock.send(parts, port, '127.0.0.1', afterSend);
        else sock.send(parts, port, '127.0.0.1');
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / n;
  };
  await round(true); // warm-up
  await round(false);
  const cb: number[] = [];
  const none: number[] = [];
  for (let r = 0; r < rounds; r++) {
    cb.push(await round(true));
    none.push(await round(false));
  }
  const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  const m = { callback: median(cb), none: median(none) };
  console.log(
    `CPU per datagram, median of ${rounds}: with callback ${m.callback.toFixed(3)} us, ` +
      `without ${m.none.toFixed(3)} us, difference ${(m.callback - m.none).toFixed(3)} us ` +
      `(${(((m.callback - m.none) / m.none) * 100).toFixed(1)} %)`
  );
  sock.close();
  sink.close();
}

void main();
