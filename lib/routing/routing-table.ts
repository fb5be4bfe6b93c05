/**
 * Routing table: k-bucket's bucket tree (through bucket-tree.ts) plus the BEP 5 liveness
 * policy and, when configured, IP diversity (ip-diversity.ts).
 *
 * Pure: no I/O and no timers. When a full bucket must decide whether a newcomer may replace
 * an old node, the table reports which questionable node to ping; its owner does the ping and
 * reports back with `nodeSeen` / `nodeFailed` / `replace`.
 *
 * Evidence strength, as in libtorrent: `nodeSeen` = the node answered our query (inserted as
 * good); `restore` = we know of it from a saved state (inserted as questionable only if there
 * is room). Nodes that merely queried us or were mentioned by others never enter directly.
 * A node that fails NODE_BAD_FAILURES queries in a row (one, if it never answered) leaves the
 * table at once: a dead node must not be handed out or seeded into lookups again. Its slot goes
 * to the freshest node waiting in the replacement cache (replacement-cache.ts): nodes that
 * answered us while their bucket was full.
 */
import { BucketTree } from './bucket-tree.js';
import { Contact, ContactStore } from './contact.js';
import type { IpDiversity } from './ip-diversity.js';
import { ReplacementCache } from './replacement-cache.js';
import { K, NODE_BAD_FAILURES, NODE_GOOD_MS, BUCKET_REFRESH_MS, ID_LENGTH } from '../constants.js';
import { bytesEqual } from '../util/bytes.js';
import { commonPrefixLength } from '../id/node-id.js';
import { packIp } from '../net/ip.js';
import type { NodeInfo } from '../krpc/types.js';
import type { Address } from '../net/address.js';
import type { SubnetKey } from '../net/ip-class.js';

export type { Contact } from './contact.js';

export type NodeState = 'good' | 'questionable' | 'bad';

export type SeenOutcome =
  | { kind: 'added' }
  | { kind: 'updated' }
  | { kind: 'replaced'; removed: Contact }
  /** Bucket full of live-looking nodes; ping `ping` and call `replace` if it fails. */
  | { kind: 'bucket-full'; ping: Contact; candidate: NodeInfo }
  | { kind: 'rejected'; reason: 'self' | 'full' | 'invalid' | 'ip-limit' };

/**
 * What the table asks of its owner. An object with methods rather than two closures: a DHT
 * node passes itself (its methods live on its prototype), where two closures and their context
 * cost ~170 bytes per node.
 */
export interface TableOwner {
  /** Current time in ms (the owner's clock). */
  now(): number;
  /** Is this address our own socket? Such nodes never enter the table. */
  isOwn?(address: Address): boolean;
}

export interface RoutingTableOptions {
  localId: Uint8Array;
  owner: TableOwner;
  k?: number;
  /** Limits per IP and per subnet (none when absent). */
  diversity?: IpDiversity;
}

/** Up to this many contacts, closest() sorts by insertion (quadratic, but cheap when small). */
const SMALL_SORT = 32;

/** Nodes waiting per full bucket (few: under churn the freshest matter, and memory is per table). */
const REPLACEMENTS_PER_BUCKET = 3;

export class RoutingTable {
  private id: Uint8Array;
  private bucket: BucketTree<Contact>;
  private readonly owner: TableOwner;
  private readonly k: number;
  private readonly diversity: IpDiversity | undefined;
  /** Every contact's data, packed (contact.ts): the tree's and the replacement cache's. */
  private readonly contacts = new ContactStore();
  private readonly replacements = new ReplacementCache(REPLACEMENTS_PER_BUCKET);
  /** Contacts in the tree. */
  private entries = 0;
  /** host -> entries at that IP (made on first use: only IP diversity limits need it). */
  private perIp: Map<string | number, number> | null = null;
  /**
   * Last activity per common-prefix length (the bucket at that depth), for refresh; a depth
   * never touched counts as active at `createdAt`. Only as long as the deepest depth touched.
   */
  private readonly activity: number[] = [];
  private readonly createdAt: number;

  constructor(opts: RoutingTableOptions) {
    this.id = opts.localId;
    this.owner = opts.owner;
    this.k = opts.k ?? K;
    this.diversity = opts.diversity;
    this.bucket = this.newTree();
    this.createdAt = this.owner.now();
  }

  get localId(): Uint8Array {
    return this.id;
  }

  /**
   * Our id changed (BEP 42: it follows our external IP). Buckets are defined relative to it,
   * so the tree is rebuilt: contacts are re-inserted, most recently seen first, keeping their
   * liveness; those that no longer find room are dropped.
   */
  setLocalId(id: Uint8Array): void {
    const contacts = this.bucket.toArray().sort((a, b) => b.lastSeen - a.lastSeen);
    this.id = id;
    this.entries = 0;
    this.perIp = null;
    for (const r of this.replacements.clear()) r.discard();
    this.bucket = this.newTree();
    for (const c of contacts) {
      if (!c.hasId(id) && this.diversityAllows(c, null) && this.bucket.add(c)) this.indexAdded(c);
      else c.detach(); // it left the table (the old tree reports no removal)
    }
  }

  size(): number {
    return this.entries;
  }

  private newTree(): BucketTree<Contact> {
    return new BucketTree<Contact>({ localId: this.id, k: this.k });
  }

  /** Take the contact with this id out of the tree (the one way out of it). */
  private drop(id: Uint8Array): void {
    const c = this.bucket.remove(id);
    if (!c) return;
    this.entries--;
    this.countIp(c, -1);
    c.detach(); // whoever still holds it (a ping in flight, a lookup) keeps what it was
  }

  get(id: Uint8Array): Contact | null {
    return this.bucket.get(id);
  }

  all(): Contact[] {
    return this.bucket.toArray();
  }

  state(c: Contact): NodeState {
    if (!isNotBad(c)) return 'bad';
    if (c.lastSeen > 0 && this.tableTime() - c.lastSeen < NODE_GOOD_MS) return 'good';
    return 'questionable';
  }

  /** The node answered one of our queries (`rtt`: that answer's round trip, ms). */
  nodeSeen(node: NodeInfo, rtt?: number): SeenOutcome {
    return this.insert(node, this.tableTime(), false, rtt);
  }

  /** A node from a saved state: inserted as questionable if there is room, else ignored. */
  restore(node: NodeInfo): SeenOutcome {
    if (this.get(node.id)) return { kind: 'updated' };
    return this.insert(node, 0, true);
  }

  /**
   * A query to this node got no answer. It leaves the table once bad (at once if it never
   * answered us): its slot goes to the next node that answers, and nobody is sent to it.
   */
  nodeFailed(id: Uint8Array): void {
    const c = this.get(id);
    if (!c) return;
    c.failures++;
    if (c.failures < NODE_BAD_FAILURES && c.lastSeen > 0) return;
    const bucket = this.fullBucketKey(id);
    this.drop(id);
    if (bucket !== null) this.promoteReplacement(bucket);
  }

  /** Nodes waiting in the replacement cache. */
  replacementCount(): number {
    return this.replacements.size();
  }

  remove(id: Uint8Array): void {
    this.drop(id);
  }

  /** Drop `oldId` (it failed its ping) and insert the candidate as good. */
  replace(oldId: Uint8Array, candidate: NodeInfo): SeenOutcome {
    this.drop(oldId);
    return this.nodeSeen(candidate);
  }

  /**
   * The `n` closest contacts to `target`, ordered by exact XOR distance.
   * Walks the bucket tree nearest bucket first, so only the buckets needed are visited, then
   * sorts byte-wise.
   */
  closest(target: Uint8Array, n: number = this.k, filter?: (c: Contact) => boolean): Contact[] {
    const found = this.bucket.nearest(target, n, filter);
    if (found.length > SMALL_SORT) {
      found.sort((a, b) => a.compareDistance(target, b));
    } else {
      // Usually one or two buckets' worth (a reply's k). Insertion sort, not Array#sort with a
      // comparator: closest() for a reply went from ~0.8 to ~0.3 µs in a microbenchmark.
      for (let i = 1; i < found.length; i++) {
        const c = found[i]!;
        let j = i - 1;
        for (; j >= 0 && found[j]!.compareDistance(target, c) > 0; j--) found[j + 1] = found[j]!;
        found[j + 1] = c;
      }
    }
    if (found.length > n) found.length = n;
    return found;
  }

  /** Prefix lengths (bucket depths) idle for at least the refresh interval. */
  bucketsToRefresh(idleMs: number = BUCKET_REFRESH_MS): number[] {
    const now = this.owner.now();
    const depth = this.ownBucketDepth();
    const due: number[] = [];
    for (let p = 0; p <= depth; p++) if (now - (this.activity[p] ?? this.createdAt) >= idleMs) due.push(p);
    return due;
  }

  /**
   * Bucket depths (common-prefix lengths) shallower than our own bucket holding fewer than
   * `minFill` nodes. Kademlia's join refreshes these so every part of the keyspace is covered.
   */
  sparseBuckets(minFill: number = this.k): number[] {
    const depth = this.ownBucketDepth();
    const counts = new Array<number>(depth).fill(0);
    for (const c of this.bucket.toArray()) {
      const p = commonPrefixLength(c.id, this.localId);
      if (p < depth) counts[p] = (counts[p] ?? 0) + 1;
    }
    const out: number[] = [];
    counts.forEach((n, p) => n < minFill && out.push(p));
    return out;
  }

  /** Mark the bucket at `prefixLength` as active (a lookup into it just ran). */
  touchBucket(prefixLength: number): void {
    this.activity[Math.min(prefixLength, ID_LENGTH * 8)] = this.owner.now();
  }

  /**
   * Up to `max` nodes not heard from for `idleMs` (default NODE_GOOD_MS), longest silent first.
   * With `idleWithReplacementsMs`, nodes in a bucket that has replacements waiting qualify after
   * that shorter silence: a dead entry there can be replaced at once, so it is worth finding.
   */
  stalest(max: number, idleMs: number = NODE_GOOD_MS, idleWithReplacementsMs: number = idleMs): Contact[] {
    const now = this.tableTime();
    return this.all()
      .filter((c) => {
        if (c.lastSeen === 0) return true;
        const idle = now - c.lastSeen;
        if (idle >= idleMs) return true;
        if (idle < idleWithReplacementsMs) return false;
        const bucket = this.fullBucketKey(c.id);
        return bucket !== null && this.replacements.has(bucket);
      })
      .sort((a, b) => a.lastSeen - b.lastSeen)
      .slice(0, max);
  }

  /**
   * Would a newly verified node with this id find room? With `orReplace`, a bucket holding a
   * non-good node counts as room too (it would be pinged and maybe replaced).
   */
  hasRoomFor(id: Uint8Array, orReplace = true): boolean {
    if (bytesEqual(id, this.localId) || this.get(id)) return false;
    const leaf = this.bucket.leaf(id);
    if (leaf.contacts.length < this.k || leaf.canSplit) return true;
    return orReplace && leaf.contacts.some((c) => this.state(c) !== 'good');
  }

  private insert(node: NodeInfo, lastSeen: number, onlyIfRoom = false, rtt?: number): SeenOutcome {
    if (node.id.length !== ID_LENGTH || node.port < 1 || node.port > 65535)
      return { kind: 'rejected', reason: 'invalid' };
    if (bytesEqual(node.id, this.localId) || this.owner.isOwn?.(node) === true) {
      return { kind: 'rejected', reason: 'self' };
    }
    const existing = this.get(node.id);
    const ip = packIp(node.host);
    if (existing) {
      const sameHost = existing.hasHost(ip, node.host);
      if (!sameHost || existing.port !== node.port) {
        // Same id from another address: keep the verified one unless it has gone bad.
        if (this.state(existing) === 'good') return { kind: 'rejected', reason: 'invalid' };
        if (!sameHost && !this.diversityAllows(node, existing))
          return { kind: 'rejected', reason: 'ip-limit' };
        // Same id, so same bucket: the entry stays; only its address and IP counts change.
        this.countIp(existing, -1);
        existing.setAddress(node.host, node.port, this.limits(node.host));
        this.countIp(existing, +1);
      }
      if (lastSeen > 0) {
        existing.lastSeen = lastSeen;
        existing.failures = 0;
        this.touch(node.id);
      }
      if (rtt !== undefined && rtt >= 0) {
        // The usual smoothing (RFC 6298's 1/8 gain): one slow answer moves it a little.
        existing.rtt = existing.rtt > 0 ? existing.rtt + (rtt - existing.rtt) / 8 : Math.max(rtt, 1);
      }
      this.bucket.add(existing, node.id); // moves it to the most-recently-seen end
      return { kind: 'updated' };
    }
    // The address now speaks for another id: the old entry is stale.
    const sameAddress = this.bucket.find((c) => c.port === node.port && c.hasHost(ip, node.host));
    if (sameAddress) this.drop(sameAddress.id);
    if (!this.diversityAllows(node, null)) return { kind: 'rejected', reason: 'ip-limit' };

    const contact = this.contacts.add(
      node.id,
      node.host,
      node.port,
      lastSeen,
      rtt !== undefined && rtt >= 0 ? Math.max(rtt, 1) : 0,
      this.limits(node.host)
    );
    if (this.bucket.add(contact)) {
      this.indexAdded(contact);
      if (lastSeen > 0) this.touch(node.id);
      return { kind: 'added' };
    }
    if (onlyIfRoom) {
      contact.discard();
      return { kind: 'rejected', reason: 'full' };
    }
    // Bucket full and may not split: BEP 5 replacement policy.
    const members = this.bucket.leaf(node.id).contacts;
    const bad = members.find((c) => this.state(c) === 'bad');
    if (bad) {
      this.drop(bad.id);
      if (!this.bucket.add(contact)) {
        contact.discard();
        return { kind: 'rejected', reason: 'full' };
      }
      this.indexAdded(contact);
      this.touch(node.id);
      return { kind: 'replaced', removed: bad };
    }
    // It answered us (not a restored one): keep it for the first slot that frees up.
    if (lastSeen > 0) {
      const bucket = this.fullBucketKey(node.id)!; // full and unsplittable: not our own
      this.replacements.offer(bucket, contact)?.discard();
    } else {
      contact.discard();
    }
    const stale = members
      .filter((c) => this.state(c) === 'questionable')
      .sort((a, b) => a.lastSeen - b.lastSeen)[0];
    if (stale) return { kind: 'bucket-full', ping: stale, candidate: node };
    return { kind: 'rejected', reason: 'full' };
  }

  /**
   * The replacement cache's name for the bucket `id` falls in: its depth, or null for our own
   * bucket (it splits instead of filling up, and shares its depth with its sibling).
   */
  private fullBucketKey(id: Uint8Array): number | null {
    const leaf = this.bucket.leaf(id);
    return leaf.canSplit ? null : leaf.depth;
  }

  /**
   * A slot in the bucket at `depth` freed up: the freshest waiting node that still belongs
   * there (our own bucket may have split since) and is allowed in takes it.
   */
  private promoteReplacement(depth: number): void {
    for (let r = this.replacements.take(depth); r; r = this.replacements.take(depth)) {
      const id = r.id;
      // Inserted as the node that answered at r.lastSeen in r.rtt (into a slot of its own);
      // the cache's entry is then let go.
      const added =
        !this.get(id) &&
        this.fullBucketKey(id) === depth &&
        this.insert(r, r.lastSeen, true, r.rtt > 0 ? r.rtt : undefined).kind === 'added';
      r.discard();
      if (added) return;
    }
  }

  /**
   * May `node` enter without breaking the IP diversity limits? (Its own entry, if it is
   * already in, is not counted against it.)
   */
  private diversityAllows(node: NodeInfo, self: Contact | null): boolean {
    const d = this.diversity;
    const subnet = this.subnetOf(node.host);
    if (!d || subnet === null) return true;
    const atIp = this.perIp?.get(ipKey(node.host)) ?? 0;
    const selfHere = self && self.host === node.host ? 1 : 0;
    if (atIp - selfHere >= d.maxPerIp) return false;
    let inSubnet = 0;
    for (const c of this.bucket.leaf(node.id).contacts) {
      if (c !== self && c.subnet === subnet) inSubnet++;
    }
    return inSubnet < d.maxPerSubnetPerBucket;
  }

  private subnetOf(host: string): SubnetKey | null {
    return this.diversity ? this.diversity.subnetOf(host) : null;
  }

  /** Do the IP diversity limits count `host`? */
  private limits(host: string): boolean {
    return this.diversity?.limits(host) ?? false;
  }

  /** Book-keeping for a contact that just entered the tree. */
  private indexAdded(c: Contact): void {
    this.entries++;
    this.countIp(c, +1);
  }

  /** One more (+1) or one fewer (-1) entry at `c`'s IP, when IP diversity counts it. */
  private countIp(c: Contact, delta: 1 | -1): void {
    if (c.subnet === null) return;
    if (delta < 0 && !this.perIp) return;
    const perIp = (this.perIp ??= new Map());
    const ip = contactIpKey(c);
    const n = (perIp.get(ip) ?? 0) + delta;
    if (n > 0) perIp.set(ip, n);
    else perIp.delete(ip);
  }

  private touch(id: Uint8Array): void {
    this.activity[commonPrefixLength(id, this.localId)] = this.owner.now();
  }

  /** Now on the contacts' time line (see Contact.lastSeen): >= 1, so 0 keeps meaning "never". */
  private tableTime(): number {
    return Math.max(1, this.owner.now() - this.createdAt + 1);
  }

  /** Depth of the leaf bucket that holds our own id. */
  private ownBucketDepth(): number {
    return this.bucket.leaf(this.localId).depth;
  }
}

/**
 * Good or questionable: the nodes replies and lookups may hand out. The same rule as
 * `state(c) !== 'bad'`, without reading the clock (it runs for every contact a reply visits).
 */
export function isNotBad(c: Contact): boolean {
  return c.failures < NODE_BAD_FAILURES;
}

/** An address as a Map key: the IPv4 address as its number (no string per entry), else text. */
function ipKey(host: string): string | number {
  const ip = packIp(host);
  return typeof ip === 'number' ? ip : host;
}

function contactIpKey(c: Contact): string | number {
  return typeof c.packedIp === 'number' ? c.packedIp : c.host;
}
