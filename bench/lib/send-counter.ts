/**
 * Process-wide datagram counter: wraps `dgram.Socket.prototype.send`, so every UDP socket in
 * the process (ours through UdpTransport, the anchor through k-rpc-socket) is counted the same
 * way. Each datagram is classified by its KRPC type (`y`: q / r / e) and attributed to the
 * sending socket's local port. Benchmark-only instrumentation; install() before any socket
 * sends, uninstall() restores the original method.
 */
import dgram from 'node:dgram';

export interface PortCounters {
  queries: number;
  replies: number;
  errors: number;
  other: number;
  queryBytes: number;
  replyBytes: number;
}

export interface Totals extends PortCounters {
  datagrams: number;
  bytes: number;
}

const Y = 0x79; // 'y'

/** KRPC message type of a bencoded datagram: 'q', 'r', 'e' or '?'. */
export function krpcType(buf: Uint8Array): 'q' | 'r' | 'e' | '?' {
  const n = buf.length;
  // bencode sorts keys and `y` sorts last in every KRPC message we or the anchor send:
  // the datagram ends with "1:y1:Xe".
  if (
    n >= 8 &&
    buf[n - 1] === 0x65 &&
    buf[n - 6] === Y &&
    buf[n - 5] === 0x31 &&
    buf[n - 4] === 0x3a &&
    buf[n - 7] === 0x3a
  ) {
    return classify(buf[n - 2]!);
  }
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const i = b.lastIndexOf('1:y1:');
  return i >= 0 && i + 5 < n ? classify(b[i + 5]!) : '?';
}

function classify(c: number): 'q' | 'r' | 'e' | '?' {
  return c === 0x71 ? 'q' : c === 0x72 ? 'r' : c === 0x65 ? 'e' : '?';
}

export class SendCounter {
  readonly totals: Totals = {
    datagrams: 0,
    bytes: 0,
    queries: 0,
    replies: 0,
    errors: 0,
    other: 0,
    queryBytes: 0,
    replyBytes: 0
  };
  private readonly byPort = new Map<number, PortCounters>();
  private readonly portOf = new WeakMap<dgram.Socket, PortCounters>();
  private original: typeof dgram.Socket.prototype.send | null = null;

  install(): void {
    if (this.original) return;
    const original = dgram.Socket.prototype.send;
    this.original = original;
    const count = (socket: dgram.Socket, msg: Uint8Array): void => this.count(socket, msg);
    dgram.Socket.prototype.send = function patchedSend(this: dgram.Socket, ...args: unknown[]) {
      const msg = args[0];
      if (msg instanceof Uint8Array) count(this, msg);
      return (original as (...a: unknown[]) => void).apply(this, args);
    } as typeof dgram.Socket.prototype.send;
  }

  uninstall(): void {
    if (!this.original) return;
    dgram.Socket.prototype.send = this.original;
    this.original = null;
  }

  /** Counters of the socket bound to `port` (created on first use). */
  port(port: number): PortCounters {
    let c = this.byPort.get(port);
    if (!c) {
      c = { queries: 0, replies: 0, errors: 0, other: 0, queryBytes: 0, replyBytes: 0 };
      this.byPort.set(port, c);
    }
    return c;
  }

  snapshot(): Totals {
    return { ...this.totals };
  }

  private count(socket: dgram.Socket, msg: Uint8Array): void {
    let pc = this.portOf.get(socket);
    if (!pc) {
      try {
        pc = this.port(socket.address().port);
        this.portOf.set(socket, pc);
      } catch {
        pc = undefined; // not bound yet: counted in totals only
      }
    }
    const t = this.totals;
    t.datagrams++;
    t.bytes += msg.length;
    const type = krpcType(msg);
    if (type === 'q') {
      t.queries++;
      t.queryBytes += msg.length;
      if (pc) {
        pc.queries++;
        pc.queryBytes += msg.length;
      }
    } else if (type === 'r') {
      t.replies++;
      t.replyBytes += msg.length;
      if (pc) {
        pc.replies++;
        pc.replyBytes += msg.length;
      }
    } else if (type === 'e') {
      t.errors++;
      if (pc) pc.errors++;
    } else {
      t.other++;
      if (pc) pc.other++;
    }
  }
}

export function diffTotals(after: Totals, before: Totals): Totals {
  const out = { ...after };
  for (const k of Object.keys(out) as Array<keyof Totals>) out[k] = after[k] - before[k];
  return out;
}
