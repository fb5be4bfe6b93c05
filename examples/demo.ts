/**
 * `npm run demo`: a BitTorrent swarm with no tracker, offline, on 127.0.0.1.
 *
 * A DHT of 20 of our nodes; one seed shares a random file and announces it; N leechers get
 * only the magnet link: each finds peers through the DHT (and PEX), fetches the metadata
 * (BEP 9), then the pieces, from the seed and from each other, every piece verified by SHA-1.
 * Upload caps are enforced by our engine: u_s for the seed, u_i for each leecher. At the end
 * the measured distribution time (magnet given -> the last leecher has every piece) is printed
 * next to the lower bounds of the classic model (Kurose & Ross):
 *
 *   client-server  D_cs  >= max(N·F/u_s, F/d_min)
 *   peer-to-peer   D_p2p >= max(F/u_s, F/d_min, N·F/(u_s + Σu_i))
 *
 *   node dist/examples/demo.js [leechers=6] [MiB=24] [u_s MiB/s=4] [u_i MiB/s=2]
 *
 * Live progress: a table redrawn on stderr when it is a terminal, otherwise a plain line on
 * stdout every 2 s. Nothing leaves the machine: every socket is bound to 127.0.0.1, DHT node
 * 0 starts with `bootstrap: []`, everyone else bootstraps from our nodes only.
 *
 * The demo gives up only when nothing has moved for 30 s (no step of the setup done, no piece
 * verified anywhere): a run that is slow but moving (small caps, a big file, a loaded machine)
 * goes on, a stuck one ends with exit code 1.
 */
import { randomBytes } from 'node:crypto';
import {
  DHT,
  Swarm,
  createTorrentFromBuffer,
  formatAddress,
  seed,
  type EngineProgress,
  type TorrentInfo
} from '../lib/index.js';
import { MemoryStorage } from '../lib/engine/index.js';

const HOST = '127.0.0.1';
const MiB = 1024 * 1024;
const DHT_NODES = 20;
const PIECE_LENGTH = 256 * 1024;
const STALL_MS = 30_000;

const arg = (i: number, dflt: number, min: number, max: number): number => {
  const v = Number(process.argv[2 + i]);
  return Number.isFinite(v) && v > 0 ? Math.min(max, Math.max(min, v)) : dflt;
};
const N = Math.round(arg(0, 6, 1, 32));
const F = Math.round(arg(1, 24, 1, 512) * MiB);
const uS = arg(2, 4, 0.1, 1024) * MiB;
const uI = arg(3, 2, 0.1, 1024) * MiB;

/**
 * Ends the demo when nothing has moved for STALL_MS. Not a fixed total: the time a run needs
 * grows with the arguments and with the CPU the machine can spare (the peers speak uTP, whose
 * per-byte CPU is about twice TCP's here), while a stuck run stops moving.
 */
class Watchdog {
  private last = performance.now();
  private checked = this.last;
  private progress = -1;
  private readonly timer = setInterval(() => this.check(), 1_000).unref();

  constructor(private readonly measure: () => number) {}

  /** A step of the setup is done. */
  moved(): void {
    this.last = performance.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = performance.now();
    // A check seconds late means the process was busy (hashing a big file, starved of CPU).
    const busy = now - this.checked > 3_000;
    this.checked = now;
    const progress = this.measure();
    if (progress > this.progress || busy) {
      this.progress = progress;
      this.moved();
    } else if (now - this.last > STALL_MS) {
      console.error(`demo: nothing moved for ${STALL_MS / 1000} s, giving up`);
      process.exit(1);
    }
  }
}

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
const rate = (bytesPerSecond: number): string => `${(bytesPerSecond / MiB).toFixed(2)} MiB/s`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

interface Leecher {
  swarm: Swarm;
  storage?: MemoryStorage;
  metadataAt?: number;
  doneAt?: number;
}

/** The live view: a table redrawn on a terminal's stderr 4x/s, else a stdout line every 2 s. */
class LiveView {
  private timer: NodeJS.Timeout | undefined;
  private drawn = 0;
  private lastPlain = 0;
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly seedSwarm: Swarm,
    private readonly leechers: Leecher[],
    private readonly started: number
  ) {}

  start(): void {
    this.lastPlain = performance.now();
    this.timer = setInterval(() => this.draw(), 250);
  }

  stop(): void {
    clearInterval(this.timer);
    this.draw(true);
  }

  private draw(final = false): void {
    const elapsed = performance.now() - this.started;
    if (!this.tty) {
      if (!final && elapsed - (this.lastPlain - this.started) < 2_000) return;
      this.lastPlain = performance.now();
      const pct = this.leechers
        .map((l, i) => `L${i + 1} ${percent(l.swarm.progress()).padStart(4)}`)
        .join('  ');
      console.log(
        `t=${secs(elapsed).padStart(6)}  seed up ${rate(this.seedSwarm.progress().upRate)}  ${pct}`
      );
      return;
    }
    const seedP = this.seedSwarm.progress();
    const lines = [
      `t = ${secs(elapsed)}`,
      `         progress                        down          up  peers`,
      `seed     ${'-'.repeat(20)} 100%  ${rate(0).padStart(11)} ${rate(seedP.upRate).padStart(11)}  ${seedP.peers}`,
      ...this.leechers.map((l, i) => {
        const p = l.swarm.progress();
        const f = p.totalBytes ? p.verifiedBytes / p.totalBytes : 0;
        const bar = '#'.repeat(Math.floor(f * 20)).padEnd(20, '.');
        const done = l.doneAt !== undefined ? `  done ${secs(l.doneAt)}` : '';
        return `leech ${String(i + 1).padEnd(2)} ${bar} ${percent(p).padStart(4)}  ${rate(p.downRate).padStart(11)} ${rate(p.upRate).padStart(11)}  ${p.peers}${done}`;
      })
    ];
    // Move up over the previous table, rewrite it line by line.
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
    process.stderr.write(up + lines.map((line) => `\x1b[2K${line}\n`).join(''));
    this.drawn = lines.length;
  }
}

function percent(p: EngineProgress): string {
  return p.totalBytes ? `${Math.floor((100 * p.verifiedBytes) / p.totalBytes)}%` : 'meta';
}

const nodes: DHT[] = [];
const swarms: Swarm[] = [];
let leechers: Leecher[] = [];
// Progress = metadata fetched + bytes verified, over every leecher.
const watchdog = new Watchdog(() =>
  leechers.reduce(
    (sum, l) => sum + (l.metadataAt !== undefined ? 1 : 0) + l.swarm.progress().verifiedBytes,
    0
  )
);
const cpuAtStart = process.cpuUsage();
let ok = false;
try {
  console.log(
    `trackerless swarm demo: 1 seed + ${N} leechers share a ${mib(F)} file, on ${HOST} only (offline)\n`
  );

  // 1. A small DHT: node 0 alone, the others join through it.
  let t = performance.now();
  nodes.push(await DHT.create({ host: HOST, port: 0, bootstrap: [] }));
  const entry = formatAddress(nodes[0]!.address());
  nodes.push(
    ...(await Promise.all(
      Array.from({ length: DHT_NODES - 1 }, () => DHT.create({ host: HOST, port: 0, bootstrap: [entry] }))
    ))
  );
  const bootstrap = nodes.slice(0, 4).map((n) => formatAddress(n.address()));
  console.log(`DHT: ${DHT_NODES} nodes joined in ${Math.round(performance.now() - t)} ms`);
  watchdog.moved();

  // Every swarm: its own DHT node bootstrapping from ours, peers over the default transport
  // (uTP first, on the DHT node's UDP port; TCP beside it), loopback only, quick re-lookups.
  const common = {
    bootstrap,
    dhtOptions: { host: HOST, port: 0 },
    listen: { host: HOST, port: 0 },
    discovery: { requeryMs: 1_000, requeryMaxMs: 4_000 }
  };

  // 2. The seed: a random file in memory, announced on the DHT, upload capped at u_s.
  const data = randomBytes(F);
  const info = createTorrentFromBuffer('demo.bin', data, PIECE_LENGTH);
  watchdog.moved();
  t = performance.now();
  const seeded = await seed(
    { info, storage: MemoryStorage.fromData(info, data) },
    { ...common, existing: 'complete', uploadLimit: uS }
  );
  swarms.push(seeded.swarm);
  await new Promise<void>((resolve) => seeded.swarm.once('announced', () => resolve()));
  watchdog.moved();
  console.log(
    `seed: ${info.pieceCount} pieces of ${PIECE_LENGTH / 1024} KiB, announced in ${Math.round(performance.now() - t)} ms`
  );
  console.log(`magnet: ${seeded.magnet}`);
  console.log(
    `caps (enforced by our engine): seed upload u_s = ${rate(uS)}, leecher upload u_i = ${rate(uI)} each, downloads unlimited\n`
  );

  // 3. N leechers from the magnet link alone; they keep uploading once done (seed: true).
  const started = performance.now();
  leechers = await Promise.all(
    Array.from({ length: N }, async () => {
      const l: Partial<Leecher> = {};
      const swarm = await Swarm.create({
        ...common,
        magnet: seeded.magnet,
        storage: (i: TorrentInfo) => (l.storage = new MemoryStorage(i)),
        seed: true,
        uploadLimit: uI
      });
      swarm.once('metadata', () => (l.metadataAt = performance.now() - started));
      swarm.once('done', () => (l.doneAt = performance.now() - started));
      swarms.push(swarm);
      return Object.assign(l, { swarm });
    })
  );
  const live = new LiveView(seeded.swarm, leechers, started);
  live.start();
  await Promise.all(leechers.map((l) => l.swarm.done()));
  const measured = Math.max(...leechers.map((l) => l.doneAt ?? performance.now() - started));
  live.stop();

  // 4. Check every copy byte for byte (compared in place: a copy of each piece cost more than
  // the comparison), then the figures.
  for (const l of leechers) {
    for (let i = 0; i < info.pieceCount; i++) {
      const piece = await l.storage!.readPiece(i);
      const expected = data.subarray(i * PIECE_LENGTH, i * PIECE_LENGTH + piece.length);
      if (Buffer.compare(piece, expected) !== 0) throw new Error(`piece ${i} differs`);
    }
  }
  const seedUp = seeded.swarm.progress().uploaded;
  const leechUp = leechers.reduce((a, l) => a + l.swarm.progress().uploaded, 0);
  console.log('\nleecher  metadata    done   fetched   uploaded');
  leechers.forEach((l, i) => {
    const p = l.swarm.progress();
    console.log(
      `${String(i + 1).padStart(7)}  ${secs(l.metadataAt ?? 0).padStart(8)}  ${secs(l.doneAt ?? 0).padStart(6)}  ` +
        `${mib(p.downloaded).padStart(8)}  ${mib(p.uploaded).padStart(9)}`
    );
  });
  console.log(
    `\nuploaded: seed ${mib(seedUp)} (${(seedUp / F).toFixed(2)} copies of the file), leechers ${mib(leechUp)} ` +
      `(${((100 * leechUp) / (seedUp + leechUp)).toFixed(0)}% of all pieces sent)`
  );

  // The bounds, with d_min = infinity (no download cap): the F/d_min terms are 0.
  const s = (bytes: number, perSecond: number): number => (1000 * bytes) / perSecond;
  const dCs = s(N * F, uS);
  const dP2p = Math.max(s(F, uS), s(N * F, uS + N * uI));
  console.log(`\ndistribution time (magnet link given -> all ${N} leechers verified): ${secs(measured)}`);
  console.log(
    `  F = ${mib(F)}, N = ${N}, u_s = ${rate(uS)}, u_i = ${rate(uI)}, d_min = unlimited (F/d_min = 0)`
  );
  console.log(`  client-server  D_cs  >= max(N·F/u_s, F/d_min) = ${secs(dCs)}`);
  console.log(
    `  peer-to-peer   D_p2p >= max(F/u_s, F/d_min, N·F/(u_s + Σu_i)) = max(${secs(s(F, uS))}, 0, ${secs(s(N * F, uS + N * uI))}) = ${secs(dP2p)}`
  );
  console.log(
    `  measured / D_p2p = ${(measured / dP2p).toFixed(2)}    measured / D_cs = ${(measured / dCs).toFixed(2)}`
  );
  const cpu = process.cpuUsage(cpuAtStart);
  const moved = seedUp + leechUp;
  console.log(
    `\nCPU of this process (every node, seed and leecher): ${secs((cpu.user + cpu.system) / 1000)} ` +
      `(user ${secs(cpu.user / 1000)}, system ${secs(cpu.system / 1000)}), ` +
      `${((cpu.user + cpu.system) / (moved / MiB) / 1000).toFixed(1)} ms per MiB sent`
  );
  ok = true;
  console.log(`\nok: ${N} leechers have the file, every piece verified, in ${secs(measured)}`);
} finally {
  watchdog.stop();
  await Promise.all(swarms.map((sw) => sw.destroy()));
  await Promise.all(nodes.map((n) => n.destroy()));
}
process.exitCode = ok ? 0 : 1;
