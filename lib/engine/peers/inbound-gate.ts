/**
 * Admission of incoming peer connections, for any transport (TCP, uTP): limits per source IP on
 * connections still in the handshake and on established ones, a global cap on established
 * ones, and a bounded accept queue that makes room for a newcomer by shedding its oldest idle
 * connection (one that has sent nothing) rather than refusing the newcomer. Connections that
 * hold a slot by saying nothing (slowloris) then lose it to every new arrival, and one source
 * cannot take more than its share of the queue in the first place.
 */

export interface InboundLimits {
  /** Connections still in the handshake, all sources (the accept queue). */
  maxPending: number;
  /** Connections still in the handshake from one IP. */
  maxPendingPerIp: number;
  /** Established (routed to a torrent) connections from one IP. */
  maxPerIp: number;
  /** Established connections through this listener, all torrents. */
  maxEstablished: number;
}

/**
 * Defaults. 64 pending: a burst of honest arrivals fits, and each handshake takes one round
 * trip. 4 pending per IP: an honest peer (or a NAT of a few) opens one at a time. 8
 * established per IP: a NAT with several clients, not one host taking every slot (libtorrent
 * allows one per IP). 500 established: well above the engines' per-torrent caps (50).
 */
export const DEFAULT_INBOUND_LIMITS: InboundLimits = {
  maxPending: 64,
  maxPendingPerIp: 4,
  maxPerIp: 8,
  maxEstablished: 500
};

export interface InboundStats {
  /** Let in (pending). */
  admitted: number;
  /** Pending connections closed to make room for a newer one. */
  shed: number;
  /** Refused: the source IP had too many pending or established connections. */
  refusedPerIp: number;
  /** Refused at the handshake's end: the listener's established cap was reached. */
  refusedFull: number;
}

interface IpCount {
  pending: number;
  established: number;
}

/** One admitted connection's place in the gate, from accept to close. */
export class InboundTicket {
  /** Bytes arrived: not idle (shed only after the idle ones). */
  heard = false;
  state: 'pending' | 'established' | 'released' = 'pending';

  constructor(
    private readonly gate: InboundGate,
    readonly ip: string,
    readonly shed: () => void
  ) {}

  /** The handshake is done: count it as established. False (and released) over a cap. */
  establish(): boolean {
    return this.gate.establish(this);
  }

  /** The connection closed (idempotent). */
  release(): void {
    this.gate.release(this);
  }
}

export class InboundGate {
  readonly limits: InboundLimits;
  readonly stats: InboundStats = { admitted: 0, shed: 0, refusedPerIp: 0, refusedFull: 0 };
  /** Pending tickets, oldest first. */
  private readonly pending = new Set<InboundTicket>();
  private readonly perIp = new Map<string, IpCount>();
  private establishedCount = 0;

  constructor(limits: Partial<InboundLimits> = {}) {
    this.limits = { ...DEFAULT_INBOUND_LIMITS, ...limits };
    for (const [name, v] of Object.entries(this.limits))
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get established(): number {
    return this.establishedCount;
  }

  /**
   * A connection from `ip` arrived. Undefined: refused (the caller closes it). `shed` closes
   * the connection if the gate later needs its slot for a newer one.
   */
  admit(ip: string, shed: () => void): InboundTicket | undefined {
    const count = this.perIp.get(ip);
    if (
      count &&
      (count.pending >= this.limits.maxPendingPerIp || count.established >= this.limits.maxPerIp)
    ) {
      this.stats.refusedPerIp++;
      return undefined;
    }
    if (this.pending.size >= this.limits.maxPending) this.shedOne();
    const ticket = new InboundTicket(this, ip, shed);
    this.pending.add(ticket);
    const c = count ?? { pending: 0, established: 0 };
    c.pending++;
    this.perIp.set(ip, c);
    this.stats.admitted++;
    return ticket;
  }

  /** @see InboundTicket.establish */
  establish(t: InboundTicket): boolean {
    if (t.state !== 'pending') return false;
    const c = this.perIp.get(t.ip)!;
    if (this.establishedCount >= this.limits.maxEstablished || c.established >= this.limits.maxPerIp) {
      if (this.establishedCount >= this.limits.maxEstablished) this.stats.refusedFull++;
      else this.stats.refusedPerIp++;
      this.release(t);
      return false;
    }
    this.pending.delete(t);
    c.pending--;
    c.established++;
    this.establishedCount++;
    t.state = 'established';
    return true;
  }

  /** @see InboundTicket.release */
  release(t: InboundTicket): void {
    if (t.state === 'released') return;
    const c = this.perIp.get(t.ip)!;
    if (t.state === 'pending') {
      this.pending.delete(t);
      c.pending--;
    } else {
      c.established--;
      this.establishedCount--;
    }
    t.state = 'released';
    if (c.pending === 0 && c.established === 0) this.perIp.delete(t.ip);
  }

  /** Close the oldest idle pending connection, or the oldest pending one if none is idle. */
  private shedOne(): void {
    let victim: InboundTicket | undefined;
    for (const t of this.pending) {
      if (!t.heard) {
        victim = t;
        break;
      }
      victim ??= t;
    }
    if (!victim) return;
    this.stats.shed++;
    this.release(victim);
    victim.shed();
  }
}
