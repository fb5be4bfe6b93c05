/**
 * Honest DHT clients for the flood benchmark (bench/dht-flood.ts) and its test
 * (test/loopback/dht-flood.test.ts): `count` sockets on 127.0.0.{firstHost..}, each asking the
 * node under test a ping or a get_peers every `intervalMs` (an ordinary node's rate) and timing
 * the reply by its transaction id.
 *
 * Each client sends on its own phase of the interval, as independent clients do: sent in one
 * burst, the last query of every tick waited for the node to answer all those before it, and
 * that queueing of the rig's own making set the p95.
 */
import dgram from 'node:dgram';
import bencode from 'bencode';
import { seededRandom } from '../../lib/util/random.js';

export interface HonestClientsOptions {
  /** Clients, each on its own address (default 10). */
  count?: number;
  /** Each client's query interval, ms (default 100). */
  intervalMs?: number;
  /** Last byte of the first client's 127.0.0.x address (default 10). */
  firstHost?: number;
}

export class HonestClients {
  private readonly count: number;
  private readonly intervalMs: number;
  private readonly firstHost: number;
  private readonly sockets: dgram.Socket[] = [];
  /** Send time of each query not answered yet, by `client:tid`. */
  private readonly sentAt = new Map<string, number>();
  private readonly latencies: Array<{ at: number; ms: number }> = [];
  private readonly sends: number[] = [];
  private readonly phases: NodeJS.Timeout[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private seq = 0;

  constructor(opts: HonestClientsOptions = {}) {
    this.count = opts.count ?? 10;
    this.intervalMs = opts.intervalMs ?? 100;
    this.firstHost = opts.firstHost ?? 10;
  }

  /** Bind the sockets and start asking the node at 127.0.0.1:`port`. */
  async start(port: number): Promise<void> {
    const rnd = seededRandom(77);
    const id = Buffer.from(rnd.bytes(20));
    for (let c = 0; c < this.count; c++) {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => sock.bind(0, `127.0.0.${this.firstHost + c}`, () => resolve()));
      sock.on('message', (msg) => {
        const tid = replyTid(msg);
        const at = tid === null ? undefined : this.sentAt.get(`${c}:${tid}`);
        if (at === undefined) return; // the node's own verification pings, or a duplicate
        this.sentAt.delete(`${c}:${tid}`);
        this.latencies.push({ at, ms: performance.now() - at });
      });
      this.sockets.push(sock);
    }
    const send = (c: number): void => {
      const n = this.seq++;
      const t = Buffer.from([n >> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
      const q =
        n % 2 === 0
          ? { t, y: 'q', q: 'ping', a: { id } }
          : { t, y: 'q', q: 'get_peers', a: { id, info_hash: Buffer.from(rnd.bytes(20)) } };
      const now = performance.now();
      this.sentAt.set(`${c}:${t.toString('hex')}`, now);
      this.sends.push(now);
      this.sockets[c]!.send(bencode.encode(q), port, '127.0.0.1');
    };
    const phase = this.intervalMs / this.count;
    for (let c = 0; c < this.count; c++) {
      this.phases.push(
        setTimeout(() => {
          send(c);
          this.timers.push(setInterval(() => send(c), this.intervalMs));
        }, c * phase)
      );
    }
  }

  /** Stop sending; replies to what was sent are still counted until `stop()`. */
  pause(): void {
    for (const t of this.phases) clearTimeout(t);
    for (const t of this.timers) clearInterval(t);
  }

  /** Queries sent and not answered yet. */
  get unanswered(): number {
    return this.sentAt.size;
  }

  /**
   * Queries sent in [from, to) (performance.now() times) and the latencies of those answered
   * within `lostAfterMs` (default: however late).
   */
  window(from: number, to: number, lostAfterMs = Infinity): { sent: number; latencies: number[] } {
    const sent = this.sends.filter((t) => t >= from && t < to).length;
    const latencies = this.latencies
      .filter((l) => l.at >= from && l.at < to && l.ms <= lostAfterMs)
      .map((l) => l.ms);
    return { sent, latencies };
  }

  async stop(): Promise<void> {
    this.pause();
    for (const s of this.sockets) await new Promise<void>((resolve) => s.close(() => resolve()));
    this.sockets.length = 0;
  }
}

/** The transaction id of a reply or error, hex; null for a query or garbage. */
function replyTid(msg: Buffer): string | null {
  try {
    const d = bencode.decode(msg) as { t?: Uint8Array; y?: Uint8Array };
    if (!d.t || !d.y || Buffer.from(d.y).toString() === 'q') return null;
    return Buffer.from(d.t).toString('hex');
  } catch {
    return null;
  }
}
