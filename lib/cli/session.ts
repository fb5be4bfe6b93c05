/**
 * What the DHT commands share: the --host/--bootstrap options, turning them into DhtOptions,
 * and starting a node that stops early when the user interrupts or a deadline passes.
 */
import type { Command } from 'commander';
import type { DhtOptions, DhtStats } from '../index.js';
import { DHT } from '../dht/dht.js';
import { AbortError } from '../errors.js';
import { formatAddress } from '../net/address.js';
import { toHex } from '../util/bytes.js';
import { collectBootstrap, parseBindHost, portParser, secondsParser } from './args.js';
import type { CliContext } from './program.js';

/** Options every DHT command has. */
export interface DhtCliOptions {
  host?: string;
  /** Collected host:port list; false after --no-bootstrap; undefined = public routers. */
  bootstrap?: string[] | false;
  /** State file; false after --no-state; undefined = the default (swarm commands) or none. */
  state?: string | false;
}

/** Add --host and --bootstrap to a command. */
export function addDhtOptions(command: Command, defaults: { host: string }): Command {
  return command
    .option('--host <ip>', 'IP address to bind the UDP socket to', parseBindHost, defaults.host)
    .option(
      '-b, --bootstrap <host:port>',
      'bootstrap node (repeatable, or comma-separated); default: the public BitTorrent routers',
      collectBootstrap
    )
    .option(
      '--no-bootstrap',
      'contact no bootstrap node, not even the public routers (e.g. the first node of a private network)'
    );
}

/** DhtOptions from the parsed command-line options; `udpPort` 0 or undefined = any free port. */
export function dhtOptionsFrom(opts: DhtCliOptions, udpPort?: number): DhtOptions {
  const out: DhtOptions = {};
  if (opts.host !== undefined) out.host = opts.host;
  if (udpPort !== undefined) out.port = udpPort;
  // undefined keeps the library default (public routers); --no-bootstrap means none at all.
  if (opts.bootstrap !== undefined) out.bootstrap = opts.bootstrap === false ? [] : opts.bootstrap;
  if (typeof opts.state === 'string') out.statePath = opts.state;
  return out;
}

/**
 * Create a node, print its warnings, and wait until it has joined — or, with `until: 'bound'`,
 * only until its socket is bound, so a lookup can start while the join runs (a join waiting on
 * dead nodes must not delay it). Resolves null (the node already destroyed) if `stop` fires
 * first; rejects if the socket cannot be bound.
 */
export async function startDht(
  ctx: CliContext,
  options: DhtOptions,
  stop: AbortSignal,
  until: 'joined' | 'bound' = 'joined'
): Promise<DHT | null> {
  const dht = new DHT(options);
  dht.on('warning', (err) => ctx.warn(err.message));
  let onStop = (): void => {};
  const stopped = new Promise<'stopped'>((resolve) => {
    onStop = () => resolve('stopped');
    if (stop.aborted) onStop();
    else stop.addEventListener('abort', onStop, { once: true });
  });
  if (until === 'joined') ctx.log(`joining the DHT through ${joinVia(options)} ...`);
  try {
    const started = until === 'bound' ? Promise.race([dht.listening, dht.ready]) : dht.ready;
    const outcome = await Promise.race([started.then(() => 'ready' as const), stopped]);
    if (outcome === 'ready') return dht;
    await dht.destroy();
    return null;
  } catch (err) {
    await dht.destroy();
    throw err;
  } finally {
    stop.removeEventListener('abort', onStop);
  }
}

/** Who a node joins through, for the line shown while it does. */
function joinVia(options: DhtOptions): string {
  const list = options.bootstrap;
  if (list === undefined) return 'the public BitTorrent routers';
  if (list.length === 0) return 'no bootstrap node (--no-bootstrap): waiting for nodes to contact us';
  const names = list.map((b) => (typeof b === 'string' ? b : formatAddress(b)));
  return names.length <= 3
    ? names.join(', ')
    : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

/** Total queries we sent, by all methods. */
export function queriesSent(stats: DhtStats): number {
  return Object.values(stats.queriesOut).reduce((a, b) => a + b, 0);
}

/** Total queries we received, by all methods. */
export function queriesReceived(stats: DhtStats): number {
  return Object.values(stats.queriesIn).reduce((a, b) => a + b, 0);
}

export function hex(bytes: Uint8Array): string {
  return toHex(bytes);
}

/** "1.23 s" for a duration in ms. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Why a deadline-or-interrupt signal fired: 'interrupted' for a signal/EPIPE, else 'timeout'. */
export function stopReason(ctx: CliContext, signal: AbortSignal): 'interrupted' | 'timeout' | null {
  if (!signal.aborted) return null;
  return ctx.interrupt.aborted ? 'interrupted' : 'timeout';
}

/** Abort when the user interrupts or after `timeoutSeconds`. */
export function deadline(ctx: CliContext, timeoutSeconds: number): AbortSignal {
  return AbortSignal.any([ctx.interrupt, AbortSignal.timeout(Math.round(timeoutSeconds * 1000))]);
}

/** Options of the commands that run one DHT operation and exit (lookup, announce, put, get). */
export interface OneShotCliOptions extends DhtCliOptions {
  dhtPort: number;
  timeout: number;
  json?: boolean;
}

/** Add --host, --bootstrap, --dht-port, --timeout (default `timeoutSeconds`) and --json. */
export function addOneShotOptions(command: Command, timeoutSeconds: number, json: string): Command {
  return addDhtOptions(command, { host: '0.0.0.0' })
    .option('--dht-port <port>', 'UDP port of the DHT socket (0 = any free port)', portParser(true), 0)
    .option(
      '-t, --timeout <seconds>',
      'give up after this long (joining included)',
      secondsParser(false),
      timeoutSeconds
    )
    .option('--json', json);
}

/** How a one-shot DHT command ended: its result (null when stopped first), why it stopped, the node's stats. */
export interface OneShotOutcome<T> {
  result: T | null;
  stopped: 'interrupted' | 'timeout' | null;
  stats: DhtStats | null;
}

/**
 * Start a node, run `work` on it until it finishes, the --timeout passes or the user
 * interrupts, then destroy the node. `work` starts once the socket is bound, while the join
 * runs. An AbortError from `work` means it was stopped.
 */
export async function withDht<T>(
  ctx: CliContext,
  opts: OneShotCliOptions,
  work: (dht: DHT, signal: AbortSignal) => Promise<T>
): Promise<OneShotOutcome<T>> {
  const stop = deadline(ctx, opts.timeout);
  const dht = await startDht(ctx, dhtOptionsFrom(opts, opts.dhtPort), stop, 'bound');
  let result: T | null = null;
  let stats: DhtStats | null = null;
  if (dht) {
    try {
      result = await work(dht, stop);
    } catch (err) {
      if (!(err instanceof AbortError)) throw err;
    } finally {
      stats = dht.stats();
      await dht.destroy();
    }
  }
  return { result, stopped: stopReason(ctx, stop), stats };
}
