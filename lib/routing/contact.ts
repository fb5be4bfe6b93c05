/**
 * Routing-table contacts, packed: a node keeps ~100-200 of them, so each costs what its data
 * needs and little more.
 *
 * A `Contact` is a handle of two fields (its store and a slot number); everything it knows
 * lives in its table's `ContactStore`, one fixed-size record per slot in one buffer (id,
 * address, port, last seen, round-trip time, failures). k-bucket sees an ordinary object whose
 * `id` reads as a `Uint8Array`; the hot paths (finding by id, ranking by distance, writing a
 * reply) read the record in place instead.
 *
 * Two rules keep slot reuse safe, since a slot is reused once its contact leaves the table:
 * - ids are handed out as copies (`id` copies on read), so whoever keeps one (a lookup's
 *   seed, a caller's `nodes()`) keeps its 20 bytes and nothing else: no view that would pin
 *   the records' buffer (kilobytes) or read the next node's id from a reused slot;
 * - contacts stay valid: a contact that leaves the table while someone may hold it (a ping in
 *   flight, a `replaced` outcome) is detached: it moves its data into a store of its own
 *   before its slot is freed. Only contacts never handed out are discarded without a copy.
 */
import { COMPACT_NODE_V4_LENGTH, COMPACT_NODE_V6_LENGTH, ID_LENGTH } from '../constants.js';
import { formatIp, formatIpv4, packIp, type PackedIp } from '../net/ip.js';
import { compareDistanceAt } from '../id/node-id.js';
import { bytesEqual } from '../util/bytes.js';
import { subnetKey, type SubnetKey } from '../net/ip-class.js';
import type { CompactWritable, PackedNodeInfo } from '../krpc/types.js';

/**
 * One slot's record (bytes). Its first 26 bytes are the contact's compact node info for IPv4
 * (BEP 5: id, address and port, big-endian), so a reply copies them in one run. IPv6 addresses
 * live in `ip6` (16 bytes a slot, made when the first IPv6 contact arrives); any other host
 * text (not an IP literal) in `texts`.
 */
const RECORD = 40;
/** The 20-byte id. */
const ID = 0;
/** int32 big-endian: the IPv4 address (family IPV4). */
const IP4 = 20;
/** uint16 big-endian. */
const PORT = 24;
/** uint8: consecutive queries without an answer (saturates at 255). */
const FAILURES = 26;
/** uint8: the family (low bits) and whether IP diversity limits the address. */
const FLAGS = 27;
/** float32: smoothed round-trip time, ms (0 = none measured). */
const RTT = 28;
/** float64: last answer on the table's time line (see RoutingTable), 0 = never. */
const LAST_SEEN = 32;
const TEXT = 0;
const IPV4 = 1;
const IPV6 = 2;
const FAMILY_MASK = 3;
const LIMITED = 4;

/** Slots of a table's first record buffer; it grows by half when full. */
const FIRST_CAPACITY = 8;

/** Every store starts with these (shared: an empty table costs no record buffer of its own). */
const NO_BYTES = new Uint8Array(0);
const NO_VIEW = new DataView(NO_BYTES.buffer);

export class ContactStore {
  /** The records, as bytes (ids, compact addresses) and as a DataView (the rest). */
  private bytes = NO_BYTES;
  private view = NO_VIEW;
  private ip6: Uint8Array | null = null;
  private texts: Map<number, string> | null = null;
  /** Freed slots, reused last-freed first. */
  private readonly freed: number[] = [];
  /** Slots ever used (the rest of the capacity has never held a contact). */
  private used = 0;

  /**
   * A contact in a slot of this store; `limited`: IP diversity counts its address. `capacity`:
   * slots to make room for if the store is still empty (a detached contact's store has one).
   */
  add(
    id: Uint8Array,
    host: string,
    port: number,
    lastSeen: number,
    rtt: number,
    limited: boolean,
    capacity = FIRST_CAPACITY
  ): Contact {
    const slot = this.allocate(capacity);
    const at = slot * RECORD;
    this.bytes.set(id, at + ID);
    this.view.setFloat64(at + LAST_SEEN, lastSeen, true);
    this.view.setFloat32(at + RTT, rtt, true);
    this.bytes[at + FAILURES] = 0;
    this.setAddress(slot, host, port, limited);
    return new Contact(this, slot);
  }

  /** Contacts currently holding a slot. */
  size(): number {
    return this.used - this.freed.length;
  }

  private allocate(capacity: number): number {
    // A freed slot is reused at once: nothing outside the store holds a view of a record (ids
    // are handed out as copies), and a contact that may still be held was detached first.
    const reused = this.freed.pop();
    if (reused !== undefined) return reused;
    const slot = this.used++;
    if (slot * RECORD >= this.bytes.length) {
      // Half as much again: the slack off the heap stays under a third of what is used.
      const slots = slot === 0 ? capacity : slot + (slot >> 1);
      const grown = new Uint8Array(slots * RECORD);
      grown.set(this.bytes);
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
      if (this.ip6) {
        const ip6 = new Uint8Array(slots * 16);
        ip6.set(this.ip6);
        this.ip6 = ip6;
      }
    }
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
      this.view.setInt32(at + IP4, ip);
    } else if (ip !== undefined) {
      family = IPV6;
      this.ip6 ??= new Uint8Array((this.bytes.length / RECORD) * 16);
      this.ip6.set(ip, slot * 16);
    } else {
      (this.texts ??= new Map()).set(slot, host);
    }
    this.view.setUint16(at + PORT, port);
    this.bytes[at + FLAGS] = family | (limited ? LIMITED : 0);
  }

  // Slot accessors: Contact is their one reader and writer (the table reads contacts).

  /** A copy of the slot's id: it owns its 20 bytes (a view would keep every record alive). */
  id(slot: number): Uint8Array {
    const at = slot * RECORD + ID;
    return this.bytes.slice(at, at + ID_LENGTH);
  }

  /** Is the slot's id `id`? (Read in place.) */
  hasId(slot: number, id: Uint8Array): boolean {
    const b = this.bytes;
    const at = slot * RECORD + ID;
    for (let i = 0; i < ID_LENGTH; i++) if (b[at + i] !== id[i]) return false;
    return true;
  }

  /** compareDistance of the slot's id and `other`'s `otherSlot`'s to `target`, in place. */
  compareDistance(target: Uint8Array, slot: number, other: ContactStore, otherSlot: number): number {
    return compareDistanceAt(target, this.bytes, slot * RECORD + ID, other.bytes, otherSlot * RECORD + ID);
  }

  family(slot: number): number {
    return this.bytes[slot * RECORD + FLAGS]! & FAMILY_MASK;
  }

  limited(slot: number): boolean {
    return (this.bytes[slot * RECORD + FLAGS]! & LIMITED) !== 0;
  }

  ip4(slot: number): number {
    return this.view.getInt32(slot * RECORD + IP4);
  }

  /** The 16 bytes of an IPv6 slot (a view: read it at once). */
  ip6View(slot: number): Uint8Array {
    return this.ip6!.subarray(slot * 16, slot * 16 + 16);
  }

  text(slot: number): string {
    return this.texts?.get(slot) ?? '';
  }

  port(slot: number): number {
    return this.view.getUint16(slot * RECORD + PORT);
  }

  lastSeen(slot: number): number {
    return this.view.getFloat64(slot * RECORD + LAST_SEEN, true);
  }

  setLastSeen(slot: number, t: number): void {
    this.view.setFloat64(slot * RECORD + LAST_SEEN, t, true);
  }

  rtt(slot: number): number {
    return this.view.getFloat32(slot * RECORD + RTT, true);
  }

  setRtt(slot: number, ms: number): void {
    this.view.setFloat32(slot * RECORD + RTT, ms, true);
  }

  failures(slot: number): number {
    return this.bytes[slot * RECORD + FAILURES]!;
  }

  setFailures(slot: number, n: number): void {
    this.bytes[slot * RECORD + FAILURES] = Math.min(n, 255);
  }

  /**
   * Write the slot's compact node info (26 or 38 bytes) at `pos`; returns the end. IPv6 slots
   * only besides IPv4 ones (a text host has no compact form).
   */
  writeCompact(slot: number, out: Uint8Array, pos: number): number {
    const b = this.bytes;
    const at = slot * RECORD;
    if ((b[at + FLAGS]! & FAMILY_MASK) === IPV4) {
      // The record starts with it: 26 bytes in one run, unrolled (a subarray and set() per
      // contact, or one byte a loop step, cost about twice as much here).
      for (let i = 0; i < 24; i += 4) {
        out[pos + i] = b[at + i]!;
        out[pos + i + 1] = b[at + i + 1]!;
        out[pos + i + 2] = b[at + i + 2]!;
        out[pos + i + 3] = b[at + i + 3]!;
      }
      out[pos + 24] = b[at + 24]!;
      out[pos + 25] = b[at + 25]!;
      return pos + COMPACT_NODE_V4_LENGTH;
    }
    for (let i = 0; i < ID_LENGTH; i++) out[pos + i] = b[at + ID + i]!;
    const ip6 = this.ip6!;
    for (let i = 0; i < 16; i++) out[pos + ID_LENGTH + i] = ip6[slot * 16 + i]!;
    out[pos + 36] = b[at + PORT]!;
    out[pos + 37] = b[at + PORT + 1]!;
    return pos + COMPACT_NODE_V6_LENGTH;
  }
}

/**
 * One routing-table entry: a view of its slot in a ContactStore. Compare contacts by id, not by
 * identity across tables; within one table a contact object stays the same while it is in.
 */
export class Contact implements PackedNodeInfo, CompactWritable {
  constructor(
    private store: ContactStore,
    private slot: number
  ) {}

  /** 20 bytes: a fresh copy on each read (see the file comment). */
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

  /** Is its id `id`? (Without copying it.) */
  hasId(id: Uint8Array): boolean {
    return this.store.hasId(this.slot, id);
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

  /** Bytes of its compact node info: 26 (IPv4), 38 (IPv6), 0 for a host not an IP literal. */
  compactSize(): number {
    const family = this.store.family(this.slot);
    return family === IPV4 ? COMPACT_NODE_V4_LENGTH : family === IPV6 ? COMPACT_NODE_V6_LENGTH : 0;
  }

  /** Its compact node info (id, address, port: 26 or 38 bytes) at `pos`; returns the end. */
  writeCompact(out: Uint8Array, pos: number): number {
    return this.store.writeCompact(this.slot, out, pos);
  }

  /**
   * XOR distance to `target` compared with `other`'s: negative if this one is closer (exact,
   * byte-wise, reading both ids in place).
   */
  compareDistance(target: Uint8Array, other: Contact): number {
    return this.store.compareDistance(target, this.slot, other.store, other.slot);
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
      this.store.limited(this.slot),
      1
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
