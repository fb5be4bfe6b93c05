/**
 * BEP 14 local service discovery: announce the torrents we are in to the LAN over multicast,
 * and hear the announces of peers next to us.
 *
 *   const lsd = await LocalDiscovery.open();          // private and link-local interfaces
 *   lsd.on('peer', (peer, infoHash) => engine.addPeer(peer, 'lsd'));
 *   lsd.announce(infoHash, tcpPort);
 *
 * One socket per interface and family, bound to port 6771 shared with other clients on the
 * host (SO_REUSEADDR), joined to the group on that interface only. Our own announces come back
 * through multicast loopback and are recognised by our cookie. Announces are sent as
 * announce-schedule.ts plans (every torrent every 5 minutes, at most one packet a minute, as
 * many infohashes per packet as fit 1400 bytes) on every interface at once.
 *
 * What we hear is untrusted: an announce counts only when its source is inside the interface's
 * subnet, each source IP is rate limited (memory bounded by LSD_MAX_TRACKED_SOURCES), and only
 * infohashes we announce ourselves produce 'peer' events. Nothing is ever sent in reply, so an
 * announce cannot be amplified.
 */
import type { Address } from '../net/address.js';
import { validatePort } from '../net/address.js';
import type { Transport } from '../net/transport.js';
import { createUdpTransport } from '../net/udp-transport.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { cryptoRandom, type RandomSource } from '../util/random.js';
import { KeyedLimiter } from '../util/keyed-limiter.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { toHex } from '../util/bytes.js';
import { DestroyedError } from '../errors.js';
import { AnnounceSchedule } from './announce-schedule.js';
import { decodeAnnounce, encodeAnnounce, maxInfoHashesPerAnnounce } from './message.js';
import {
  acceptsSource,
  chooseInterfaces,
  systemInterfaces,
  type InterfaceAddress,
  type InterfaceChoice,
  type LsdInterface
} from './interfaces.js';
import {
  LSD_ANNOUNCE_INTERVAL_MS,
  LSD_GROUP_V4,
  LSD_GROUP_V6,
  LSD_MAX_TRACKED_SOURCES,
  LSD_MIN_ANNOUNCE_GAP_MS,
  LSD_PORT,
  LSD_SOURCE_BURST,
  LSD_SOURCE_RATE_PER_SECOND,
  LSD_TTL
} from './constants.js';

export interface LocalDiscoveryOptions {
  /** Where to run: 'local' (default: private and link-local interfaces) or names/addresses. */
  interfaces?: InterfaceChoice;
  /** Address families to run on (default both). */
  families?: readonly (4 | 6)[];
  clock?: Clock;
  random?: RandomSource;
  /** The machine's interfaces (default: node:os). */
  systemInterfaces?: () => InterfaceAddress[];
  /** Opens the socket of one interface (default: UDP multicast on port 6771). */
  openSocket?: (iface: LsdInterface) => Promise<Transport>;
  /** Re-announce period per torrent, ms (default 5 min, BEP 14). */
  intervalMs?: number;
  /** Least time between two packets, ms (default 1 min, BEP 14). */
  minGapMs?: number;
}

export type LocalDiscoveryEvents = {
  /** A peer on the LAN is in a torrent we announce: dial `peer` (its UDP source, its TCP port). */
  peer: [peer: Address, infoHash: Uint8Array, iface: string];
  /** A socket error, or an interface that could not be opened. */
  warning: [error: Error];
};

export interface LocalDiscoveryStats {
  /** Announce packets sent (each counted once per interface). */
  sent: number;
  /** Announces heard from others and accepted. */
  received: number;
  /** Our own announces heard back (multicast loopback). */
  own: number;
  /** Dropped: malformed, from outside the interface's subnet, or over the source's rate. */
  malformed: number;
  foreign: number;
  rateLimited: number;
}

interface OpenInterface {
  iface: LsdInterface;
  socket: Transport;
}

export class LocalDiscovery extends TypedEmitter<LocalDiscoveryEvents> {
  /** The interfaces we run on (those whose socket opened). */
  readonly interfaces: LsdInterface[];
  /** Interfaces chosen but not opened, with the reason. */
  readonly failures: { iface: LsdInterface; error: Error }[];
  readonly cookie: string;
  readonly stats: LocalDiscoveryStats = {
    sent: 0,
    received: 0,
    own: 0,
    malformed: 0,
    foreign: 0,
    rateLimited: 0
  };
  private readonly clock: Clock;
  private readonly schedule: AnnounceSchedule;
  private readonly sources: KeyedLimiter;
  /** Infohashes we announce (hex): only these produce 'peer' events. */
  private readonly ours = new Set<string>();
  private timer: TimerHandle | null = null;
  private closed = false;

  /** Open a socket on each chosen interface. Interfaces that fail are listed in `failures`. */
  static async open(options: LocalDiscoveryOptions = {}): Promise<LocalDiscovery> {
    const families = options.families ?? [4, 6];
    const chosen = chooseInterfaces(
      (options.systemInterfaces ?? systemInterfaces)(),
      options.interfaces ?? 'local'
    ).filter((i) => families.includes(i.family));
    const openSocket = options.openSocket ?? openMulticastSocket;
    const opened: OpenInterface[] = [];
    const failures: { iface: LsdInterface; error: Error }[] = [];
    await Promise.all(
      chosen.map(async (iface) => {
        try {
          opened.push({ iface, socket: await openSocket(iface) });
        } catch (err) {
          failures.push({ iface, error: err as Error });
        }
      })
    );
    return new LocalDiscovery(options, opened, failures);
  }

  private constructor(
    options: LocalDiscoveryOptions,
    private readonly open: OpenInterface[],
    failures: { iface: LsdInterface; error: Error }[]
  ) {
    super();
    this.clock = options.clock ?? systemClock;
    const random = options.random ?? cryptoRandom;
    this.cookie = toHex(random.bytes(4));
    this.interfaces = open.map((o) => o.iface);
    this.failures = failures;
    this.schedule = new AnnounceSchedule({
      intervalMs: options.intervalMs ?? LSD_ANNOUNCE_INTERVAL_MS,
      minGapMs: options.minGapMs ?? LSD_MIN_ANNOUNCE_GAP_MS,
      // Sized for the longer (IPv6) Host header and the largest port, so one plan fits both.
      maxPerPacket: maxInfoHashesPerAnnounce(6, 65535, this.cookie)
    });
    this.sources = new KeyedLimiter({
      ratePerSecond: LSD_SOURCE_RATE_PER_SECOND,
      burst: LSD_SOURCE_BURST,
      maxKeys: LSD_MAX_TRACKED_SOURCES
    });
    for (const { iface, socket } of open) {
      socket.onMessage((data, from) => this.receive(iface, data, from));
      socket.onError((err) => this.emit('warning', err));
    }
  }

  /** Announce `infoHash` (we accept peers on TCP `port`) and report peers heard for it. */
  announce(infoHash: Uint8Array, port: number): void {
    if (this.closed) throw new DestroyedError('LocalDiscovery');
    validatePort(port);
    this.ours.add(toHex(infoHash));
    this.schedule.add(infoHash, port, this.clock.now());
    this.plan();
  }

  /** Stop announcing `infoHash` and reporting its peers. */
  unannounce(infoHash: Uint8Array): void {
    this.ours.delete(toHex(infoHash));
    this.schedule.remove(infoHash);
    this.plan();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
    await Promise.all(this.open.map((o) => o.socket.close()));
    this.removeAllListeners();
  }

  private plan(): void {
    this.timer?.cancel();
    this.timer = null;
    const next = this.schedule.next();
    if (!next || this.closed) return;
    this.timer = this.clock.setTimeout(() => this.send(), Math.max(0, next.at - this.clock.now()));
  }

  private send(): void {
    this.timer = null;
    const planned = this.schedule.next();
    if (!planned || this.closed) return;
    const now = this.clock.now();
    if (planned.at > now) return this.plan();
    for (const { iface, socket } of this.open) {
      const packet = encodeAnnounce(
        { port: planned.port, infoHashes: planned.infoHashes, cookie: this.cookie },
        iface.family
      );
      socket.send(packet, { host: iface.family === 4 ? LSD_GROUP_V4 : LSD_GROUP_V6, port: LSD_PORT });
      this.stats.sent++;
    }
    this.schedule.sent(planned, now);
    this.plan();
  }

  private receive(iface: LsdInterface, data: Uint8Array, from: Address): void {
    if (this.closed) return;
    // Other sockets on this host joined the group on other interfaces, and Linux delivers
    // their traffic to every socket on the port: the subnet check keeps each on its own LAN.
    if (!acceptsSource(iface, from.host)) {
      this.stats.foreign++;
      return;
    }
    if (!this.sources.take(from.host, this.clock.now())) {
      this.stats.rateLimited++;
      return;
    }
    const announce = decodeAnnounce(data);
    if (!announce) {
      this.stats.malformed++;
      return;
    }
    if (announce.cookie === this.cookie) {
      this.stats.own++;
      return;
    }
    this.stats.received++;
    const host = scopedHost(from.host, iface);
    for (const ih of announce.infoHashes) {
      if (this.ours.has(toHex(ih))) this.emit('peer', { host, port: announce.port }, ih, iface.name);
    }
  }
}

/** An IPv6 link-local address is only reachable through its interface: keep the scope on it. */
function scopedHost(host: string, iface: LsdInterface): string {
  if (iface.family !== 6 || host.includes('%') || !/^fe[89ab]/i.test(host)) return host;
  return `${host}%${iface.name}`;
}

function openMulticastSocket(iface: LsdInterface): Promise<Transport> {
  const v4 = iface.family === 4;
  return createUdpTransport({
    type: v4 ? 'udp4' : 'udp6',
    host: v4 ? '0.0.0.0' : '::',
    port: LSD_PORT,
    reuseAddr: true,
    multicast: {
      group: v4 ? LSD_GROUP_V4 : LSD_GROUP_V6,
      interface: iface.multicastInterface,
      ttl: LSD_TTL,
      loopback: true
    }
  });
}
