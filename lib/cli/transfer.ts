/**
 * What `download` and `seed` share: the swarm options (--host, --bootstrap, --port,
 * --dht-port, rate caps, local discovery), byte/rate/duration formatting, and the one-line progress display.
 */
import { TRANSPORT_POLICIES, type TransportPolicy } from '../engine/peers/connect-peer.js';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { EncryptionPolicy, EngineProgress, Swarm, SwarmOptions } from '../index.js';
import { addressScope } from '../lsd/interfaces.js';
import { formatAddress, type Address } from '../net/address.js';
import { dhtStatePaths } from '../util/state-dir.js';
import { collectBootstrap, parseBindHost, portParser } from './args.js';
import { every, type CliContext } from './program.js';
import type { TimerHandle } from '../util/clock.js';
import type { DhtCliOptions } from './session.js';

/** Options of the swarm commands, as commander parses them. */
export interface SwarmCliOptions extends DhtCliOptions {
  /** TCP port for peers (0 = any free port). */
  port: number;
  /** UDP port of the DHT node; default: the same number as --port. */
  dhtPort?: number;
  uploadLimit?: number;
  downloadLimit?: number;
  /** Message stream encryption policy (MSE/PE). */
  encryption?: EncryptionPolicy;
  /** Also run an IPv6 DHT node (BEP 32) and accept IPv6 peers. */
  ipv6?: boolean;
  /** BEP 14 local service discovery; false after --no-lsd. */
  lsd?: boolean;
  /** Interfaces (names or addresses) to run local discovery on instead of the default. */
  lsdInterfaces?: string[];
  /** How peers are dialed (TCP, uTP, which first); default the library's ('utp-first'). */
  transport?: TransportPolicy;
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3
};

/**
 * A byte rate in bytes/s: `500000`, `512k`, `4M`, `1.5MiB` (k/M/G are powers of 1024; an
 * optional trailing `/s`). 0 = unlimited.
 */
export function parseRate(value: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)(?:\/s)?$/i.exec(value.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const rate = m && unit !== undefined ? Math.round(Number(m[1]) * unit) : NaN;
  if (!Number.isFinite(rate) || rate < 0 || rate > 2 ** 40) {
    throw new InvalidArgumentError('expected bytes per second, e.g. 500000, 512k or 4M (0 = unlimited).');
  }
  return rate;
}

/** Add --state FILE and --no-state (where the DHT node keeps its id and table). */
export function addStateOptions(command: Command): Command {
  return command
    .option(
      '--state <file>',
      'load and save the DHT node id and routing table here, the first place the DHT is joined from (default: dht.json in $XDG_STATE_HOME/trackerless, or ~/.local/state/trackerless)'
    )
    .option('--no-state', 'keep no DHT state between runs (join from the other sources each time)');
}

/** Add the swarm options to a command: --host, --bootstrap, --port, --dht-port, --upload-limit, --encryption. */
export function addSwarmOptions(command: Command): Command {
  const swarm = command
    .option(
      '--host <ip>',
      'IP address to bind (the TCP listener and the DHT UDP socket)',
      parseBindHost,
      '0.0.0.0'
    )
    .option(
      '-b, --bootstrap <host:port>',
      'DHT bootstrap node (repeatable, or comma-separated); default: the public BitTorrent routers',
      collectBootstrap
    )
    .option(
      '--no-bootstrap',
      "contact no bootstrap node (not even the public routers): the DHT is joined only through peers' DHT ports; peers also come from x.pe hints and local discovery"
    )
    .option(
      '-p, --port <port>',
      'port for incoming peers: TCP, and UDP for uTP and the DHT node (0 = any free port)',
      portParser(true),
      0
    )
    .option(
      '--dht-port <port>',
      'UDP port of the DHT node and uTP (default: the same number as --port)',
      portParser(true)
    )
    .addOption(
      new Option(
        '--transport <policy>',
        'how peers are dialed: utp-first (default: TCP when uTP fails), tcp-first, both (at once), tcp or utp only; both are always accepted'
      ).choices(TRANSPORT_POLICIES)
    )
    .option('--upload-limit <rate>', 'upload cap in bytes/s, e.g. 512k or 2M (0 = unlimited)', parseRate)
    .option(
      '--ipv6',
      'also find peers over IPv6: a second DHT node on :: (same port), the TCP listener on :: (dual stack)'
    )
    .option('--no-lsd', 'no local service discovery (BEP 14 multicast announces on the LAN)')
    .option(
      '--lsd-interfaces <list>',
      'run local discovery on these interfaces (names or addresses, comma-separated); default: the private and link-local ones we listen on',
      (value: string) =>
        value
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== '')
    )
    .addOption(
      new Option(
        '--encryption <policy>',
        'message stream encryption (MSE/PE): disabled, enabled (accept it, dial plaintext), preferred (dial RC4, fall back), required (RC4 only)'
      ).choices(['disabled', 'enabled', 'preferred', 'required'])
    );
  return addStateOptions(swarm);
}

/**
 * The Swarm options the command-line options ask for (discovery and engine defaults kept).
 * `stateDir` (the user's state directory, CliContext.stateDir) holds the default state files:
 * `dht.json`, and `dht6.json` for the IPv6 node, as a Client's state directory does.
 */
export function swarmOptionsFrom(
  opts: SwarmCliOptions,
  stateDir?: string
): Pick<
  SwarmOptions,
  | 'dhtOptions'
  | 'bootstrap'
  | 'listen'
  | 'uploadLimit'
  | 'downloadLimit'
  | 'encryption'
  | 'ipv6'
  | 'lsd'
  | 'transport'
> {
  const host = opts.host ?? '0.0.0.0';
  const dhtPort = opts.dhtPort ?? opts.port;
  // undefined keeps the library default (the public routers).
  const bootstrap =
    opts.bootstrap !== undefined ? { bootstrap: opts.bootstrap === false ? [] : opts.bootstrap } : {};
  const state = dhtStatePaths(opts.state, stateDir);
  return {
    dhtOptions: { host, port: dhtPort, ...state.v4 },
    ...bootstrap,
    // With --ipv6 the wildcard listener becomes '::', which takes IPv4 peers as well.
    listen: { host: opts.ipv6 && host === '0.0.0.0' ? '::' : host, port: opts.port },
    ...(opts.ipv6 ? { ipv6: { dhtOptions: { host: '::', port: dhtPort, ...state.v6 }, ...bootstrap } } : {}),
    ...(opts.uploadLimit !== undefined ? { uploadLimit: opts.uploadLimit } : {}),
    ...(opts.downloadLimit !== undefined ? { downloadLimit: opts.downloadLimit } : {}),
    ...(opts.encryption ? { encryption: opts.encryption } : {}),
    ...(opts.transport ? { transport: opts.transport } : {}),
    lsd: lsdChoice(opts, host)
  };
}

/**
 * Local discovery announces where peers can reach our listener: on the private and link-local
 * interfaces when it listens on all of them (IPv4 ones only unless --ipv6 makes it dual
 * stack), on the bound interface when that is a LAN address, and nowhere for a loopback or
 * public one (unless --lsd-interfaces says exactly where).
 */
function lsdChoice(opts: SwarmCliOptions, host: string): SwarmOptions['lsd'] {
  if (opts.lsd === false) return false;
  if (opts.lsdInterfaces) return { interfaces: opts.lsdInterfaces };
  if (host === '0.0.0.0') return opts.ipv6 ? {} : { families: [4] };
  if (host === '::') return {};
  return addressScope(host) === 'local' ? { interfaces: [host] } : false;
}

/** "1.5 MiB" (binary units; bytes below 1 KiB). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** "0:07", "12:34", "1:02:03" for a duration in seconds. */
export function formatDuration(totalSeconds: number): string {
  if (!Number.isFinite(totalSeconds) || totalSeconds < 0) return '--:--';
  const s = Math.round(totalSeconds);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60));
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** What the progress line shows beside the engine's progress. */
export interface ProgressView {
  /** Columns the line must fit in (a longer line wraps and every redraw adds a line). */
  width?: number;
  /** Nodes in our DHT routing table: the join's progress while no peer is known. */
  dhtNodes?: number;
  /** The --download-limit / --upload-limit in force (bytes/s; 0 or absent = none). */
  downloadLimit?: number;
  uploadLimit?: number;
}

/**
 * A rate as shown: the engine measures over a 5 s window, and a token bucket's burst can push
 * a young window above the cap for a moment; the cap is what the user set and what the
 * transfer averages to, so the display never shows more.
 */
function shownRate(rate: number, cap: number | undefined): number {
  return cap !== undefined && cap > 0 ? Math.min(rate, cap) : rate;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The progress line of a download: bar, percent, rates, peers, ETA; before the metadata, the
 * DHT join and the peers found. The first rendering that fits `view.width - 1` columns is
 * used (the last column is left free: some terminals wrap on it), dropping the least useful
 * parts first; the shortest one is cut to the width.
 */
export function progressLine(p: EngineProgress, elapsedMs: number, view: ProgressView = {}): string {
  const time = formatDuration(elapsedMs / 1000);
  const dht = view.dhtNodes !== undefined ? `DHT ${plural(view.dhtNodes, 'node')}` : undefined;
  let candidates: string[];
  if (p.totalPieces === 0) {
    const finding = p.peers === 0 ? 'looking for peers' : `fetching metadata from ${plural(p.peers, 'peer')}`;
    candidates = [
      [finding, dht, time].filter(Boolean).join(', '),
      `${finding}, ${time}`,
      p.peers === 0 ? `no peers yet ${time}` : `${plural(p.peers, 'peer')} ${time}`
    ];
  } else {
    const fraction = p.totalBytes > 0 ? p.verifiedBytes / p.totalBytes : 0;
    const percent = `${(fraction * 100).toFixed(1).padStart(5)}%`;
    const down = formatRate(shownRate(p.downRate, view.downloadLimit));
    const up = formatRate(shownRate(p.upRate, view.uploadLimit));
    const left = p.totalBytes - p.verifiedBytes;
    const downRate = shownRate(p.downRate, view.downloadLimit);
    const eta = left === 0 ? 'done' : downRate > 0 ? formatDuration(left / downRate) : '--:--';
    const bar = (width: number): string => {
      const filled = Math.floor(fraction * width);
      return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    };
    const peers = plural(p.peers, 'peer');
    candidates = [
      `${bar(20)} ${percent}  down ${down.padStart(11)}  up ${up.padStart(11)}  ${peers}  ETA ${eta}`,
      `${bar(10)} ${percent}  down ${down}  up ${up}  ${peers}  ETA ${eta}`,
      `${percent} down ${down} up ${up} ${peers} ETA ${eta}`,
      `${percent} ${down} ${peers} ETA ${eta}`,
      `${percent} ${down} ETA ${eta}`,
      `${percent} ETA ${eta}`
    ];
  }
  return fit(candidates, view.width);
}

/** The status line of a seeding swarm: upload rate, peers, bytes uploaded since `since`. */
export function seedingLine(p: EngineProgress, view: ProgressView = {}, since = 0): string {
  const up = formatRate(shownRate(p.upRate, view.uploadLimit));
  const peers = plural(p.peers, 'peer');
  return fit(
    [
      `seeding: up ${up}, ${peers}, uploaded ${formatBytes(p.uploaded - since)}`,
      `seeding: up ${up}, ${peers}`,
      `up ${up} ${peers}`
    ],
    view.width
  );
}

/** The first line that fits `width - 1` columns (the last column left free), else the last one cut. */
function fit(candidates: string[], width: number | undefined): string {
  const room = Math.max(1, (width ?? Infinity) - 1);
  const fitting = candidates.find((line) => line.length <= room);
  return fitting ?? candidates[candidates.length - 1]!.slice(0, room);
}

/**
 * One status line on stderr, redrawn in place on a terminal (`\r` + erase line) about
 * `intervalMs`, cut to the terminal's width; on a pipe or file, a plain line every
 * `plainIntervalMs` instead. `log` prints a normal line without tearing the status line.
 * `render` gets the columns the line must fit in (undefined for plain lines: no limit).
 */
export class StatusLine {
  private timer: TimerHandle | undefined;
  private shown = false;
  private lastPlain = 0;

  constructor(
    private readonly ctx: CliContext,
    private readonly render: (width: number | undefined) => string,
    private readonly options: { intervalMs?: number; plainIntervalMs?: number } = {}
  ) {}

  start(): void {
    if (this.timer) return;
    this.lastPlain = this.ctx.clock.now();
    this.timer = every(this.ctx.clock, this.ctx.stderrIsTTY ? (this.options.intervalMs ?? 250) : 250, () =>
      this.draw()
    );
    this.draw();
  }

  /** A line above the status line. */
  log(line: string): void {
    this.clear();
    this.ctx.log(line);
    this.draw();
  }

  /** Stop refreshing; the last state stays on screen (a terminal) and the cursor moves on. */
  stop(): void {
    if (!this.timer) return;
    this.timer.cancel();
    this.timer = undefined;
    if (this.ctx.stderrIsTTY && this.shown) {
      this.ctx.stderrRaw(`\r\x1b[2K${this.fitted()}\n`);
      this.shown = false;
    }
  }

  private clear(): void {
    if (this.ctx.stderrIsTTY && this.shown) this.ctx.stderrRaw('\r\x1b[2K');
    this.shown = false;
  }

  private draw(): void {
    if (!this.timer) return;
    if (this.ctx.stderrIsTTY) {
      this.ctx.stderrRaw(`\r\x1b[2K${this.fitted()}`);
      this.shown = true;
      return;
    }
    const now = this.ctx.clock.now();
    if (now - this.lastPlain >= (this.options.plainIntervalMs ?? 2_000)) {
      this.lastPlain = now;
      this.ctx.log(this.render(undefined));
    }
  }

  /** The line for the terminal: rendered for its width, and cut there whatever `render` did. */
  private fitted(): string {
    const width = this.ctx.stderrColumns();
    return this.render(width).slice(0, Math.max(1, width - 1));
  }
}

/** The progress view of a running swarm: its DHT table size and the caps the options set. */
export function swarmView(
  swarm: Swarm,
  opts: Pick<SwarmCliOptions, 'downloadLimit' | 'uploadLimit'>,
  width: number | undefined
): ProgressView {
  const dht = swarm.dht;
  return {
    ...(width !== undefined ? { width } : {}),
    ...(dht ? { dhtNodes: dht.stats().nodes } : {}),
    ...(opts.downloadLimit !== undefined ? { downloadLimit: opts.downloadLimit } : {}),
    ...(opts.uploadLimit !== undefined ? { uploadLimit: opts.uploadLimit } : {})
  };
}

/**
 * Run a start-up step (hashing, Swarm.create, checking data) that the user's Ctrl-C aborts;
 * its signal is not the interrupt itself, so what it starts does not hold on to it. Resolves
 * null when interrupted (the step's error then is the abort's echo); other errors are thrown.
 */
export async function startInterruptibly<T>(
  ctx: CliContext,
  start: (signal: AbortSignal) => Promise<T>
): Promise<T | null> {
  const starting = new AbortController();
  const onInterrupt = (): void => starting.abort();
  ctx.interrupt.addEventListener('abort', onInterrupt, { once: true });
  try {
    return await start(starting.signal);
  } catch (err) {
    if (ctx.interrupt.aborted) return null;
    throw err;
  } finally {
    ctx.interrupt.removeEventListener('abort', onInterrupt);
  }
}

/** Resolves when `signal` aborts (at once if it has). */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Peers printed by peerSourceLogger at most (a DHT swarm can name thousands). */
const MAX_PEER_LINES = 200;

/**
 * A 'peer' listener printing each candidate peer discovery finds once, with the source that
 * found it (--verbose). Give it to the swarm in SwarmOptions.listeners: a magnet's x.pe peers
 * are reported while the swarm starts, before `create` returns.
 */
export function peerSourceLogger(status: StatusLine): (peer: Address, source: string) => void {
  const seen = new Set<string>();
  return (peer, source) => {
    const key = `${formatAddress(peer)} ${source}`;
    if (seen.has(key) || seen.size >= MAX_PEER_LINES) return;
    seen.add(key);
    status.log(`peer ${formatAddress(peer)} found by ${source}`);
  };
}

/** "joined the DHT via lsd (10.0.0.2:6881)": which discovery source got our DHT node in. */
export function logJoin(swarm: Swarm, status: StatusLine): void {
  const print = (source: string, node: Address): void =>
    status.log(`joined the DHT via ${source} (${formatAddress(node)})`);
  const via = swarm.joinedVia;
  if (via) print(via.source, via.node);
  else swarm.once('joined', print);
}
