/**
 * A swarm that follows a BEP 46 mutable torrent: it resolves the publisher's key (and salt)
 * to the current infohash, downloads that torrent with a Swarm, and while it keeps running
 * (`seed: true`) polls for newer versions; each new version gets a Swarm of its own into the
 * same `outDir` (files that did not change verify in place instead of downloading again),
 * and the previous version's Swarm stops once the new one is running.
 *
 *   const ms = await MutableSwarm.create({ magnet: 'magnet:?xs=urn:btpk:<key>&s=<salt>', outDir, seed: true });
 *   ms.on('version', (v) => console.log('now at seq', v.seq));
 *
 * Only the public Swarm API is used. One DHT node and one TCP listener (one port) serve every
 * version. Without `seed`, the first version found is downloaded and the swarm stops.
 */
import { DHT } from '../dht/dht.js';
import type { EngineProgress, PeerListener } from '../engine/engine.js';
import { TcpPeerListener } from '../engine/peers/tcp-peer-listener.js';
import { AbortError } from '../errors.js';
import { parseMutableMagnet, type MutableMagnet } from '../magnet/magnet.js';
import { Swarm, type SwarmOptions } from '../swarm/swarm.js';
import { toHex } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { followMutableTorrent, type MutableTorrentVersion } from './mutable-torrent.js';

export interface MutableSwarmOptions extends Omit<SwarmOptions, 'magnet' | 'torrent' | 'noDht' | 'ipv6'> {
  /** A BEP 46 link `magnet:?xs=urn:btpk:<key>[&s=<salt>]`, or its parsed form. */
  magnet: string | MutableMagnet;
  /** How often to look for a newer version, ms (default 5 minutes). */
  followIntervalMs?: number;
  /** Re-put the latest version this often to keep it alive, ms (default 1 hour; 0 = never). */
  republishMs?: number;
  /** Clock of the polls (default: the system clock). */
  clock?: Clock;
}

export type MutableSwarmEvents = {
  /** A new version was found; its Swarm starts next. */
  version: [version: MutableTorrentVersion];
  /** The Swarm of a version is running (the previous one stops now). */
  swarm: [swarm: Swarm, version: MutableTorrentVersion];
  /** The current version's progress. */
  progress: [progress: EngineProgress, version: MutableTorrentVersion];
  /** The current version is complete. */
  done: [version: MutableTorrentVersion];
  /** A poll, a re-put or a version's swarm failed; following goes on. */
  warning: [error: Error];
};

export class MutableSwarm extends TypedEmitter<MutableSwarmEvents> {
  readonly dht: DHT;
  readonly key: MutableMagnet;
  private readonly stopController = new AbortController();
  private readonly ownDht: boolean;
  private readonly ownListener: TcpPeerListener | undefined;
  private readonly listener: PeerListener;
  private readonly options: MutableSwarmOptions;
  private swarm: Swarm | undefined;
  private latest: MutableTorrentVersion | undefined;
  private following: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;
  /** The current version, once it is complete. */
  private completed: MutableTorrentVersion | undefined;
  private readonly doneWaiters: Array<{
    resolve: (v: MutableTorrentVersion) => void;
    reject: (err: Error) => void;
  }> = [];

  private constructor(parts: {
    dht: DHT;
    ownDht: boolean;
    listener: PeerListener;
    ownListener: TcpPeerListener | undefined;
    key: MutableMagnet;
    options: MutableSwarmOptions;
  }) {
    super();
    this.dht = parts.dht;
    this.ownDht = parts.ownDht;
    this.listener = parts.listener;
    this.ownListener = parts.ownListener;
    this.key = parts.key;
    this.options = parts.options;
  }

  /** Start following: DHT node, listener, then the first resolution in the background. */
  static async create(options: MutableSwarmOptions): Promise<MutableSwarm> {
    if (options.signal?.aborted) throw new AbortError();
    const key = typeof options.magnet === 'string' ? parseMutableMagnet(options.magnet) : options.magnet;
    const dht =
      options.dht ??
      (await DHT.create({
        ...options.dhtOptions,
        ...(options.bootstrap ? { bootstrap: options.bootstrap } : {})
      }));
    let ownListener: TcpPeerListener | undefined;
    let listener: PeerListener;
    try {
      if (options.listen && 'register' in options.listen) listener = options.listen;
      else {
        ownListener = await TcpPeerListener.listen({
          ...(options.encryption ? { encryption: options.encryption } : {}),
          ...options.listen
        });
        listener = ownListener;
      }
    } catch (err) {
      if (!options.dht) await dht.destroy();
      throw err;
    }
    const ms = new MutableSwarm({ dht, ownDht: !options.dht, listener, ownListener, key, options });
    options.signal?.addEventListener('abort', () => void ms.stop(), { once: true });
    ms.following = ms.follow();
    return ms;
  }

  /** The Swarm of the current version (undefined until the first version is found). */
  get current(): Swarm | undefined {
    return this.swarm;
  }

  /** The current version (undefined until one is found). */
  get version(): MutableTorrentVersion | undefined {
    return this.latest;
  }

  /** TCP port peers reach us on (the same for every version). */
  get port(): number | undefined {
    return this.listener.port;
  }

  /**
   * Resolves with the current version once it is completely downloaded (at once if it is);
   * rejects with AbortError if the swarm stops first.
   */
  done(): Promise<MutableTorrentVersion> {
    if (this.completed && this.completed === this.latest) return Promise.resolve(this.completed);
    if (this.stopping) return Promise.reject(new AbortError());
    return new Promise((resolve, reject) => this.doneWaiters.push({ resolve, reject }));
  }

  /** Stop following and stop the current swarm; closes what this object created. */
  stop(): Promise<void> {
    return (this.stopping ??= this.shutdown());
  }

  private async follow(): Promise<void> {
    const key = { publicKey: this.key.publicKey, salt: this.key.salt };
    const o = this.options;
    try {
      for await (const version of followMutableTorrent(this.dht, key, {
        signal: this.stopController.signal,
        onError: (err) => this.emit('warning', err),
        ...(o.followIntervalMs !== undefined ? { intervalMs: o.followIntervalMs } : {}),
        ...(o.republishMs !== undefined ? { republishMs: o.republishMs } : {}),
        ...(o.clock ? { clock: o.clock } : {})
      })) {
        await this.switchTo(version);
        if (!(o.seed ?? false)) return; // a one-time download: the first version found
      }
    } catch (err) {
      if (!(err instanceof AbortError)) this.emit('warning', err as Error);
    }
  }

  private async switchTo(version: MutableTorrentVersion): Promise<void> {
    this.latest = version;
    this.emit('version', version);
    const {
      magnet: _m,
      followIntervalMs: _f,
      republishMs: _r,
      clock: _c,
      signal: _s,
      ...swarmOptions
    } = this.options;
    let swarm: Swarm;
    try {
      // No signal: stop() stops it gracefully (the engine saves its resume state).
      swarm = await Swarm.create({
        ...swarmOptions,
        magnet: this.magnetOf(version),
        dht: this.dht,
        listen: this.listener
      });
    } catch (err) {
      if (!this.stopController.signal.aborted) this.emit('warning', err as Error);
      return;
    }
    const previous = this.swarm;
    this.swarm = swarm;
    swarm.on('progress', (p) => this.emit('progress', p, version));
    swarm.on('warning', (e) => this.emit('warning', e));
    swarm.on('error', (e) => this.emit('warning', e));
    swarm.on('done', () => {
      if (this.latest !== version) return; // an old version finishing late
      this.completed = version;
      this.emit('done', version);
      for (const waiter of this.doneWaiters.splice(0)) waiter.resolve(version);
    });
    this.emit('swarm', swarm, version);
    await previous?.stop();
  }

  private magnetOf(version: MutableTorrentVersion) {
    return {
      infoHash: version.infoHash,
      infoHashHex: toHex(version.infoHash),
      peers: this.key.peers,
      peerHosts: [],
      trackers: [],
      ...(this.key.name !== undefined ? { name: this.key.name } : {}),
      ...(this.key.selectOnly !== undefined ? { selectOnly: this.key.selectOnly } : {})
    };
  }

  private async shutdown(): Promise<void> {
    this.stopController.abort();
    for (const waiter of this.doneWaiters.splice(0)) waiter.reject(new AbortError());
    await this.following;
    await this.swarm?.stop();
    await this.ownListener?.close();
    if (this.ownDht) await this.dht.destroy();
  }
}
