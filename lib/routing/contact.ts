/**
 * Routing-table contacts, packed: a node keeps ~100-200 of them, so each costs what its data
 * needs and little more.
 *
 * A `Contact` is a handle of two fields (its store and a slot number); everything it knows
 * lives in its table's `ContactStore`: the 20-byte id in shared id chunks, the rest in one
 * fixed-size record per slot (address, port, last seen, round-trip time, failures). k-bucket
 * sees an ordinary object whose `id` reads as a `Uint8Array` (a view made on read).
 *
 * Two rules keep slot reuse safe, since a slot is reused once its contact leaves the table:
 * - id views stay valid: a freed slot is reused only after its id chunk has been replaced by
 *   a copy, so a view handed out earlier (a lookup's seed, a caller's `nodes()`) keeps the old
 *   bytes in the old chunk, never the next node's id;
 * - contacts stay valid: a contact that leaves the table while someone may hold it (a ping in
 *   flight, a `replaced` outcome) is detached: it moves its data into a store of its own
 *   before its slot is freed. Only contacts never handed out are discarded without a copy.
 */
import { ID_LENGTH } from '../constants.js';
import { formatIp, formatIpv4, packIp, writePackedIp, type PackedIp } from '../net/ip.js';
import { compareDistanceAt } from '../id/node-id.js';
import { bytesEqual } from '../util/bytes.js';
import { subnetKey, type SubnetKey } from '../net/ip-class.js';
import type { PackedNodeInfo } from '../krpc/types.js';

/**
 * One slot's record (bytes). IPv4 is kept in the record; IPv6 in `ip6` (16 bytes a slot, made
 * when the first IPv6 contact arrives); any other host text (not an IP literal) in `texts`.
 */
const RECORD = 24;
/** float64: last answer on the table's time line (see RoutingTable), 0 = never. */
const LAST_SEEN = 0;
/** float32: smoothed round-trip time, ms (0 = none measured). */
const RTT = 8;
/** int32: the IPv4 address (family IPV4). */
const IP4 = 12;
const PORT = 16; // uint16
/** uint8: consecutive queries without an answer (saturates at 255). */
const FAILURES = 18;
/** uint8: the family (low bits) and whether IP diversity limits the address. */
const FLAGS = 19;
const TEXT = 0;
const IPV4 = 1;
const IPV6 = 2;
const FAMILY_MASK = 3;
const LIMITED = 4;

/** Ids per chunk: a chunk replaced on slot reuse, or pinned by an old view, is this big. */
const IDS_PER_CHUNK = 32;
const CHUNK_BYTES = IDS_PER_CHUNK * ID_LENGTH;
/** Slots of the first record buffer; it grows by half when full. */
const FIRST_CAPACITY = 8;

const EMPTY_RECORDS = new DataView(new ArrayBuffer(0));

export class ContactStore {
  private idChunks: Uint8Array[] = [];
  private records: DataView = EMPTY_RECORDS;
  private ip6: Uint8Array | null = null;
  private texts: Map<number, string> | null = null;
  /** Freed slots, reused last-freed first. */
  private readonly freed: number[] = [];
  /** Slots ever used (the rest of the capacity has never held a contact). */
  private used = 0;

  /** A contact in a slot of this store; `limited`: IP diversity counts its address. */
  add(id: Uint8Array, host: string, port: number, lastSeen: number, rtt: number, limited: boolean): Contact {
    const slot = this.allocate();
    this.idChunk(slot).set(id, this.idOffset(slot));
    const at = slot * RECORD;
    this.records.setFloat64(at + LAST_SEEN, lastSeen, true);
    this.records.setFloat32(at + RTT, rtt, true);
    this.records.setUint8(at + FAILURES, 0);
    this.setAddress(slot, host, port, limited);
    return new Contact(this, slot);
  }

  /** Contacts currently holding a slot. */
  size(): number {
    return this.used - this.freed.length;
  }

  private allocate(): number {
    const reused = this.freed.pop();
    if (reused !== undefined) {
      // Views of the old chunk were handed out; they keep its bytes, the store moves on.
      const c = (reused / IDS_PER_CHUNK) | 0;
      this.idChunks[c] = this.idChunks[c]!.slice();
      return reused;
    }
    const slot = this.used++;
    if (slot * RECORD >= this.records.byteLength) {
      // Half as much again: the slack off the heap stays under a third of what is used.
      const grown = new ArrayBuffer(Math.max(FIRST_CAPACITY, slot + (slot >> 1)) * RECORD);
      new Uint8Array(grown).set(new Uint8Array(this.records.buffer));
      this.records = new DataView(grown);
      if (this.ip6) {
        const ip6 = new Uint8Array((grown.byteLength / RECORD) * 16);
        ip6.set(this.ip6);
        this.ip6 = ip6;
      }
    }
    if (slot % IDS_PER_CHUNK === 0) this.idChunks.push(new Uint8Array(CHUNK_BYTES));
    return slot;
  }

  /** For Contact.discard / Contact.detach: the slot may hold another contact from now on. */
  free(slot: number): void {
    this.texts?.delete(slot);
    this.freed.push(slot);
  }

  setAddress(slot: number, host: string, port: number, limited: boolean): void {
    const at = slot * RECORD;
    const ip = packIp(host);
    let family = TEXT;
    this.texts?.delete(slot);
    if (typeof ip === 'number') {
      family = IPV4;
      this.records.setInt32(at + IP4, ip, true);
    } else if (ip !== undefined) {
      family = IPV6;
      this.ip6 ??= new Uint8Array((this.records.byteLength / RECORD) * 16);
      this.ip6.set(ip, slot * 16);
    } else {
      (this.texts ??= new Map()).set(slot, host);
    }
    this.records.setUint16(at + PORT, port, true);
    this.records.setUint8(at + FLAGS, family | (limited ? LIMITED : 0));
  }

  // Slot accessors: Contact is their one reader and writer (the table reads contacts).

  id(slot: number): Uint8Array {
    const from = this.idOffset(slot);
    return this.idChunk(slot).subarray(from, from + ID_LENGTH);
  }

  idChunk(slot: number): Uint8Array {
    return this.idChunks[(slot / IDS_PER_CHUNK) | 0]!;
  }

  /** Where the slot's id starts in its chunk. */
  idOffset(slot: number): number {
    return (slot % IDS_PER_CHUNK) * ID_LENGTH;
  }

  family(slot: number): number {
    return this.records.getUint8(slot * RECORD + FLAGS) & FAMILY_MASK;
  }

  limited(slot: number): boolean {
    return (this.records.getUint8(slot * RECORD + FLAGS) & LIMITED) !== 0;
  }

  ip4(slot: number): number {
    return this.records.getInt32(slot * RECORD + IP4, true);
  }

  /** The 16 bytes of an IPv6 slot (a view: read it at once). */
  ip6View(slot: number): Uint8Array {
    return this.ip6!.subarray(slot * 16, slot * 16 + 16);
  }

  text(slot: number): string {
    return this.texts?.get(slot) ?? '';
  }

  port(slot: number): number {
    return this.records.getUint16(slot * RECORD + PORT, true);
  }

  lastSeen(slot: number): number {
    return this.records.getFloat64(slot * RECORD + LAST_SEEN, true);
  }

  setLastSeen(slot: number, t: number): void {
    this.records.setFloat64(slot * RECORD + LAST_SEEN, t, true);
  }

  rtt(slot: number): number {
    return this.records.getFloat32(slot * RECORD + RTT, true);
  }

  setRtt(slot: number, ms: number): void {
    this.records.setFloat32(slot * RECORD + RTT, ms, true);
  }

  failures(slot: number): number {
    return this.records.getUint8(slot * RECORD + FAILURES);
  }

  setFailures(slot: number, n: number): void {
    this.records.setUint8(slot * RECORD + FAILURES, Math.min(n, 255));
  }
}

/**
 * One routing-table entry: a view of its slot in a ContactStore. Compare contacts by id, not by
 * identity across tables; within one table a contact object stays the same while it is in.
 */
export class Contact implements PackedNodeInfo {
  constructor(
    private store: ContactStore,
    private slot: number
  ) {}

  /** 20 bytes: a fresh view on each read, whose bytes never change (see the file comment). */
  get id(): Uint8Array {
    return this.store.id(this.slot);
  }

  get host(): string {
    const family = this.store.family(this.slot);
    if (family === IPV4) return formatIpv4(this.store.ip4(this.slot));
    if (family === IPV6) return formatIp(this.store.ip6View(this.slot));
    return this.store.text(this.slot);
  }

  get port(): number {
    return this.store.port(this.slot);
  }

  /** The address parsed (a number for IPv4, 16 bytes for IPv6), undefined if not an IP literal. */
  get packedIp(): PackedIp | undefined {
    const family = this.store.family(this.slot);
    if (family === IPV4) return this.store.ip4(this.slot);
    if (family === IPV6) return this.store.ip6View(this.slot).slice();
    return undefined;
  }

  /** Last answer on the table's time line; 0 = never verified. */
  get lastSeen(): number {
    return this.store.lastSeen(this.slot);
  }

  set lastSeen(t: number) {
    this.store.setLastSeen(this.slot, t);
  }

  /** Consecutive queries that got no answer. */
  get failures(): number {
    return this.store.failures(this.slot);
  }

  set failures(n: number) {
    this.store.setFailures(this.slot, n);
  }

  /** Smoothed round-trip time of its answers, ms (0 = none measured yet). */
  get rtt(): number {
    return this.store.rtt(this.slot);
  }

  set rtt(ms: number) {
    this.store.setRtt(this.slot, ms);
  }

  /** Its /24 or /64 when IP diversity limits it (null: exempt, or no limits). */
  get subnet(): SubnetKey | null {
    if (!this.store.limited(this.slot)) return null;
    // An IPv4 /24 as subnetKey numbers it: the first three octets.
    if (this.store.family(this.slot) === IPV4) return (this.store.ip4(this.slot) >>> 8) & 0xffffff;
    return subnetKey(this.host);
  }

  /** Is its id `id`? (Without making a view.) */
  hasId(id: Uint8Array): boolean {
    const chunk = this.store.idChunk(this.slot);
    const at = this.store.idOffset(this.slot);
    for (let i = 0; i < ID_LENGTH; i++) if (chunk[at + i] !== id[i]) return false;
    return true;
  }

  /** Is it at `host` (`ip`: that host packed)? Without building its own text. */
  hasHost(ip: PackedIp | undefined, host: string): boolean {
    const family = this.store.family(this.slot);
    if (typeof ip === 'number') return family === IPV4 && this.store.ip4(this.slot) === ip;
    if (ip !== undefined) {
      return family === IPV6 && bytesEqual(this.store.ip6View(this.slot), ip);
    }
    return family === TEXT && this.store.text(this.slot) === host;
  }

  /** It moved (same id from another address). `limited`: IP diversity counts the new one. */
  setAddress(host: string, port: number, limited: boolean): void {
    this.store.setAddress(this.slot, host, port, limited);
  }

  /** Its compact node info (id, address, port: 26 or 38 bytes) at `pos`; returns the end. */
  writeCompact(out: Uint8Array, pos: number): number {
    const chunk = this.store.idChunk(this.slot);
    const at = this.store.idOffset(this.slot);
    // Four bytes a step: about twice as fast as one (and as out.set of a 20-byte array) here.
    for (let i = 0; i < ID_LENGTH; i += 4) {
      out[pos + i] = chunk[at + i]!;
      out[pos + i + 1] = chunk[at + i + 1]!;
      out[pos + i + 2] = chunk[at + i + 2]!;
      out[pos + i + 3] = chunk[at + i + 3]!;
    }
    const ipv4 = this.store.family(this.slot) === IPV4;
    pos = writePackedIp(
      out,
      pos + ID_LENGTH,
      ipv4 ? this.store.ip4(this.slot) : this.store.ip6View(this.slot)
    );
    const port = this.store.port(this.slot);
    out[pos++] = port >> 8;
    out[pos++] = port & 0xff;
    return pos;
  }

  /**
   * XOR distance to `target` compared with `other`'s: negative if this one is closer (exact,
   * byte-wise, reading both ids in place).
   */
  compareDistance(target: Uint8Array, other: Contact): number {
    const a = this.store;
    const b = other.store;
    return compareDistanceAt(
      target,
      a.idChunk(this.slot),
      a.idOffset(this.slot),
      b.idChunk(other.slot),
      b.idOffset(other.slot)
    );
  }

  /**
   * It left the table but may still be held (a ping in flight, a lookup): it keeps a copy of
   * its data in a store of its own, and its slot is freed for the next contact.
   */
  detach(): void {
    const own = new ContactStore();
    const copy = own.add(
      this.id,
      this.host,
      this.port,
      this.lastSeen,
      this.rtt,
      this.store.limited(this.slot)
    );
    copy.failures = this.failures;
    this.store.free(this.slot);
    this.store = own;
    this.slot = copy.slot;
  }

  /** It never left the table's hands (say, a replacement that was never promoted): free the slot. */
  discard(): void {
    this.store.free(this.slot);
    this.slot = -1;
  }
}
