/**
 * Child process of the flood benchmark (bench/dht-flood.ts), in one of two roles:
 *
 *   --role victim --limits on|off   our DHT node on 127.0.0.1 with a constructed routing table
 *       and 60 stored peers for each infohash the flood asks about (replies as large as they
 *       get). `on`: the default protections, with loopback NOT exempt (the rig turns them on
 *       for 127/8); `off`: inbound limits and the outbound budget disabled (the old behaviour).
 *       Reports 'ready' {port}; answers 'stats' with counters, CPU and memory; exits on 'stop'.
 *   --role flooder --target PORT --host IP --rate N --seconds S [--catch-up]   sends
 *       pre-encoded ping, find_node and get_peers queries (a third each) from one socket at ~N/s
 *       for S seconds, counting the replies and bytes that come back; reports 'done' with the
 *       counts. `--catch-up`: the slots a stall of the flooder's own made it miss are sent after
 *       it (still at most 2 ms worth per turn), not skipped.
 */
import dgram from 'node:dgram';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import bencode from 'bencode';
import { DHT } from '../lib/index.js';
import { seededRandom } from '../lib/util/random.js';
import { constructedContacts } from './lib/contacts.js';
import { injectContacts, peerStoreOf } from './lib/inject.js';
import { argvReader } from './lib/argv.js';

const { flag, value, num } = argvReader(process.argv.slice(2));
const role = value('role');
const seed = num('seed', 1);
/** Infohashes the flood asks for: each has stored peers at the victim. */
const FLOOD_INFOHASHES = 16;

if (role === 'victim') await victim();
else if (role === 'flooder') await flooder();
else throw new Error(`flood-child: unknown --role ${role}`);

async function victim(): Promise<void> {
  const on = value('limits') === 'on';
  const rnd = seededRandom(seed);
  const id = rnd.bytes(20);
  const dht = await DHT.create({
    host: '127.0.0.1',
    port: 0,
    nodeId: id,
    bootstrap: [],
    ...(on ? { inboundLimits: { exempt: 'none' } } : { inboundLimits: false, maxBytesPerSecond: 0 })
  });
  dht.on('warning', () => {});
  injectContacts(dht, constructedContacts(id, 160, rnd));
  const store = peerStoreOf(dht);
  const infoRnd = seededRandom(seed + 100);
  for (let i = 0; i < FLOOD_INFOHASHES; i++) {
    const ih = infoRnd.bytes(20);
    for (let p = 0; p < 60; p++) store.add(ih, { host: `127.1.${i}.${p + 1}`, port: 6881 }, false);
  }
  // Event-loop stalls since the last 'stats': while the loop stands still the socket buffer
  // fills, and a stall longer than the buffer holds drops datagrams whoever sent them.
  const stalls = monitorEventLoopDelay({ resolution: 1 });
  stalls.enable();
  // Garbage-collection pauses since the last 'stats' (young = scavenges).
  const gc = { young: 0, youngMs: 0, youngMaxMs: 0, full: 0, fullMs: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      if (kind === 1 /* NODE_PERFORMANCE_GC_MINOR */) {
        gc.young++;
        gc.youngMs += e.duration;
        gc.youngMaxMs = Math.max(gc.youngMaxMs, e.duration);
      } else {
        gc.full++;
        gc.fullMs += e.duration;
      }
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  process.on('message', (msg: { type: string }) => {
    if (msg.type === 'stats') {
      const s = dht.stats();
      const mem = process.memoryUsage();
      const loop = { stallMaxMs: stalls.max / 1e6, stallP99Ms: stalls.percentile(99) / 1e6 };
      stalls.reset();
      const gcSince = { ...gc };
      Object.assign(gc, { young: 0, youngMs: 0, youngMaxMs: 0, full: 0, fullMs: 0 });
      process.send!({
        gc: gcSince,
        type: 'stats',
        stats: s,
        cpu: process.cpuUsage(),
        rss: mem.rss,
        heap: mem.heapUsed,
        loop
      });
    }
    if (msg.type === 'stop') {
      gcObserver.disconnect();
      void dht.destroy().then(() => process.send!({ type: 'stopped' }, () => process.disconnect()));
    }
  });
  process.send!({ type: 'ready', port: dht.address().port });
}

async function flooder(): Promise<void> {
  const target = num('target', 1);
  const host = value('host') ?? '127.0.0.66';
  const rate = num('rate', 100_000);
  const seconds = num('seconds', 10);
  const catchUp = flag('catch-up');
  const rnd = seededRandom(seed + 7);
  const id = Buffer.from(rnd.bytes(20));
  const infoRnd = seededRandom(seed + 100);
  const infohashes = Array.from({ length: FLOOD_INFOHASHES }, () => Buffer.from(infoRnd.bytes(20)));
  const pool: Buffer[] = [];
  for (let i = 0; i < 3 * FLOOD_INFOHASHES; i++) {
    const t = Buffer.from([i >> 8, i & 0xff]);
    const kind = i % 3;
    const a =
      kind === 0
        ? { id }
        : kind === 1
          ? { id, target: Buffer.from(rnd.bytes(20)) }
          : { id, info_hash: infohashes[i % FLOOD_INFOHASHES]! };
    pool.push(Buffer.from(bencode.encode({ t, y: 'q', q: ['ping', 'find_node', 'get_peers'][kind]!, a })));
  }
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, host, () => resolve()));
  let replies = 0;
  let bytesIn = 0;
  let sent = 0;
  let bytesOut = 0;
  sock.on('message', (msg) => {
    replies++;
    bytesIn += msg.length;
  });
  const started = performance.now();
  const maxSent = Math.ceil(rate * seconds);
  // A stalled flooder (its own GC pauses reach 50-115 ms at 100k sends/s) does not catch up
  // in one burst: it skips the slots it missed and sends at most 2 ms worth per turn. A burst
  // of ~10,000 datagrams overflows any socket buffer whoever reads it, which measured the
  // flooder's pauses rather than a 100k/s flood. `sent` counts what really left.
  // With --catch-up (the test's modest rate, on a loaded machine where the flooder runs a
  // fraction of the time) the missed slots are sent in such turns instead: what the test needs
  // is a number of datagrams well above the node's per-IP allowance, not a steady rate.
  const maxBurst = Math.max(1, Math.ceil(rate * 0.002));
  let slot = 0;
  // Send in 1 ms slices paced to `rate`, bounded in count and time.
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const elapsed = performance.now() - started;
      if (elapsed >= seconds * 1000 || slot >= maxSent) return resolve();
      const due = Math.min(maxSent, Math.floor((elapsed / 1000) * rate));
      if (!catchUp && due - slot > maxBurst) slot = due - maxBurst;
      for (const end = Math.min(due, slot + maxBurst); slot < end; slot++, sent++) {
        const buf = pool[sent % pool.length]!;
        bytesOut += buf.length;
        sock.send(buf, target, '127.0.0.1');
      }
      setImmediate(tick);
    };
    tick();
  });
  const elapsedMs = performance.now() - started;
  await new Promise((r) => setTimeout(r, 300)); // late replies
  // Replies were counted until now: a node's rate limit refills over all of this time, not
  // only while we sent.
  const countedMs = performance.now() - started;
  sock.close();
  process.send!({ type: 'done', sent, bytesOut, replies, bytesIn, elapsedMs, countedMs }, () =>
    process.disconnect()
  );
}
