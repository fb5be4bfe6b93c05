/**
 * The slowloris of issue 8 (failure 1), against a peer port on loopback: `keepers` idle TCP
 * connections per source address that send nothing and are reopened as soon as the server
 * closes them (all reopens together at most `connectsPerSecond`), plus `burst` idle connections
 * opened once, spread over `burstSources`, and kept open. Every source address must be a
 * loopback address (127.0.0.0/8); stop() closes everything. Used by test/loopback/slowloris
 * and bench/slowloris.ts.
 */
import net from 'node:net';

export interface SlowlorisOptions {
  host: string;
  port: number;
  /** Source addresses that keep `keepersPerSource` connections open, reopening each. */
  sources: string[];
  keepersPerSource: number;
  /** Idle connections opened once, round robin over `burstSources`. */
  burst: number;
  burstSources: string[];
  /** Cap on (re)connects per second across all keepers. */
  connectsPerSecond: number;
}

export interface SlowlorisStats {
  /** Connections opened (keepers and burst). */
  connects: number;
  /** Of those, closed by the server (refused, shed or timed out). */
  closedByServer: number;
}

const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export class Slowloris {
  readonly stats: SlowlorisStats = { connects: 0, closedByServer: 0 };
  private readonly sockets = new Set<net.Socket>();
  /** Keepers waiting for their turn to reconnect (source address each). */
  private readonly waiting: string[] = [];
  private ticker: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly o: SlowlorisOptions) {
    for (const a of [o.host, ...o.sources, ...o.burstSources])
      if (!LOOPBACK_V4.test(a)) throw new Error(`slowloris: ${a} is not a 127.0.0.0/8 address`);
  }

  start(): void {
    this.running = true;
    for (const s of this.o.sources) for (let i = 0; i < this.o.keepersPerSource; i++) this.waiting.push(s);
    for (let i = 0; i < this.o.burst; i++)
      this.open(this.o.burstSources[i % this.o.burstSources.length]!, false);
    // Reconnects are paced in 10 ms slices of the rate.
    const perTick = Math.max(1, Math.round(this.o.connectsPerSecond / 100));
    this.ticker = setInterval(() => {
      for (let i = 0; i < perTick && this.waiting.length > 0; i++) this.open(this.waiting.shift()!, true);
    }, 10);
  }

  /** Idle connections open right now. */
  get openCount(): number {
    return this.sockets.size;
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.ticker);
    const closing = [...this.sockets].map(
      (s) => new Promise<void>((resolve) => s.once('close', () => resolve()))
    );
    for (const s of this.sockets) s.destroy();
    await Promise.all(closing);
  }

  private open(localAddress: string, keeper: boolean): void {
    if (!this.running) return;
    this.stats.connects++;
    const socket = net.connect({ host: this.o.host, port: this.o.port, localAddress });
    this.sockets.add(socket);
    socket.on('error', () => {});
    socket.on('data', () => {}); // MSE/handshake replies are read and ignored: we stay idle
    socket.once('close', () => {
      this.sockets.delete(socket);
      if (!this.running) return;
      this.stats.closedByServer++;
      if (keeper) this.waiting.push(localAddress);
    });
  }
}
