/**
 * When to send BEP 14 announces and what each one carries: a pure policy, time passed in.
 *
 * BEP 14 asks for every active torrent to be announced every 5 minutes on each interface, and
 * for no more than one announce per minute; with more torrents than fit, a client "may either
 * round-robin ... or include multiple infohashes per announce". This does both:
 *
 * - each (infohash, port) entry is due when added, then `intervalMs` after it was last sent;
 * - packets go at most one per `minGapMs`; a packet leaves when the earliest entry is due (or
 *   when the gap allows, if later) and carries, earliest due first, every entry of that port
 *   due by the time the *following* packet could go, up to `maxPerPacket`;
 * - entries left out wait for a later packet (round robin by due time), so nothing starves.
 *
 * A new torrent therefore goes out in the next allowed packet: at once if the last packet is a
 * minute old, else when the minute is up.
 */
import { toHex } from '../util/bytes.js';

export interface ScheduleOptions {
  intervalMs: number;
  minGapMs: number;
  /** Most infohashes in one packet (from the packet size; see maxInfoHashesPerAnnounce). */
  maxPerPacket: number;
}

export interface PlannedAnnounce {
  /** When it may be sent (ms, the caller's clock). */
  at: number;
  port: number;
  infoHashes: Uint8Array[];
}

interface Entry {
  infoHash: Uint8Array;
  port: number;
  dueAt: number;
  /** Order of addition: ties in dueAt keep it. */
  seq: number;
}

export class AnnounceSchedule {
  private readonly entries = new Map<string, Entry>();
  private lastSentAt = -Infinity;
  private seq = 0;

  constructor(private readonly o: ScheduleOptions) {}

  /** Announce `infoHash` for TCP `port` from now on (due at once). Re-adding changes the port. */
  add(infoHash: Uint8Array, port: number, now: number): void {
    const key = toHex(infoHash);
    const old = this.entries.get(key);
    if (old && old.port === port) return;
    this.entries.set(key, { infoHash, port, dueAt: now, seq: this.seq++ });
  }

  remove(infoHash: Uint8Array): void {
    this.entries.delete(toHex(infoHash));
  }

  get size(): number {
    return this.entries.size;
  }

  /** The next packet to send, or null when there is nothing to announce. */
  next(): PlannedAnnounce | null {
    const ordered = [...this.entries.values()].sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq);
    const first = ordered[0];
    if (!first) return null;
    const at = Math.max(first.dueAt, this.lastSentAt + this.o.minGapMs);
    // Anything due before the packet after this one could leave rides along now.
    const horizon = at + this.o.minGapMs;
    const chosen = ordered
      .filter((e) => e.port === first.port && e.dueAt <= horizon)
      .slice(0, this.o.maxPerPacket);
    return { at, port: first.port, infoHashes: chosen.map((e) => e.infoHash) };
  }

  /** Record that `planned` was sent at `now`: its entries are due again after the interval. */
  sent(planned: PlannedAnnounce, now: number): void {
    this.lastSentAt = now;
    for (const ih of planned.infoHashes) {
      const e = this.entries.get(toHex(ih));
      if (e && e.port === planned.port) e.dueAt = now + this.o.intervalMs;
    }
  }
}
