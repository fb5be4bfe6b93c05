/**
 * Peer discovery for one torrent over the DHT, as two loops driven by the engine:
 *
 * - lookups: `dht.findPeers` whenever the engine `wantsPeers()`; after a lookup the next one
 *   waits `requeryMs`, doubling (up to `requeryMaxMs`) while lookups find nobody new, back to
 *   `requeryMs` as soon as one does. While the engine wants no peers it is asked again every
 *   `idlePollMs`.
 * - announces: `dht.announce(infoHash, port)` right away and every `announceIntervalMs`
 *   while the engine has a port; the peers the announce's get_peers phase met are fed too.
 *   An announce stored on no node (every reply lost, a table still empty) is tried again
 *   at the pace of fruitless lookups (`requeryMs`, doubling up to `requeryMaxMs`): waiting the
 *   full interval would leave a seeder that started at a bad moment unfindable for 20 minutes.
 *
 * Peer hints from the magnet (x.pe) and PEX reach the engine directly; the engine's BEP 5
 * PORT messages come back as `dht.addNode` calls (deduplicated, bounded).
 */
import type { DHT } from '../dht/dht.js';
import type { PieceExchangeEngine } from '../engine/engine.js';
import { formatAddress, type Address } from '../net/address.js';
import { systemClock, type Clock } from '../util/clock.js';

export interface DhtSourceOptions {
  /** Wait after a lookup before the next one, ms. Default 30 s. */
  requeryMs?: number;
  /** Cap of the back-off while lookups find nobody new, ms. Default 5 min. */
  requeryMaxMs?: number;
  /** How often to ask an engine that wants no peers whether it wants some now, ms. Default 5 s. */
  idlePollMs?: number;
  /** Re-announce period, ms. Default 20 min (peers expire from DHT stores after ~30 min). */
  announceIntervalMs?: number;
  /**
   * Announce our peer port on the DHT (default true). Off for a swarm that only looks (e.g. the
   * CLI's `info`): its announce would leave an address in DHT stores for ~30 min that nobody
   * will answer at.
   */
  announce?: boolean;
  /** Time source of the waits. Default the system clock. */
  clock?: Clock;
}

export interface DhtSourceEvents {
  /** A lookup or announce found a peer (before the engine dedupes it). */
  peer(address: Address): void;
  /** An announce completed: stored on `storedOn` nodes. */
  announced(storedOn: number): void;
  warning(error: Error): void;
}

/** What a source asks of its DHT node. */
export type SourceDht = Pick<DHT, 'address' | 'externalAddress' | 'findPeers' | 'announce' | 'addNode'>;

/** What a source asks of the engine it feeds. */
export type SourceEngine = Pick<PieceExchangeEngine, 'wantsPeers' | 'addPeer' | 'announcePort'>;

/** Most DHT node addresses learned from PORT messages that we ping. */
const MAX_PORT_NODES = 1000;

export class DhtPeerSource {
  private readonly controller = new AbortController();
  private readonly knownNodes = new Set<string>();
  private readonly loops: Promise<void>[] = [];
  private readonly o: Required<DhtSourceOptions>;
  /** The address family of this source's DHT node (one node speaks one family). */
  readonly family: 4 | 6;
  /** Lookups run so far (tests and progress displays). */
  lookups = 0;
  announces = 0;

  constructor(
    private readonly dht: SourceDht,
    private readonly infoHash: Uint8Array,
    private readonly engine: SourceEngine,
    private readonly events: DhtSourceEvents,
    options: DhtSourceOptions = {}
  ) {
    this.family = dht.address().host.includes(':') ? 6 : 4;
    this.o = {
      requeryMs: options.requeryMs ?? 30_000,
      requeryMaxMs: options.requeryMaxMs ?? 5 * 60_000,
      idlePollMs: options.idlePollMs ?? 5_000,
      announceIntervalMs: options.announceIntervalMs ?? 20 * 60_000,
      announce: options.announce ?? true,
      clock: options.clock ?? systemClock
    };
  }

  start(): void {
    this.loops.push(this.lookupLoop());
    if (this.o.announce) this.loops.push(this.announceLoop());
  }

  /** A peer told us its DHT port (BEP 5): ping it so it may enter our routing table. */
  addNode(node: Address): void {
    const key = formatAddress(node);
    if (this.controller.signal.aborted || this.knownNodes.has(key) || this.knownNodes.size >= MAX_PORT_NODES)
      return;
    this.knownNodes.add(key);
    this.dht.addNode(node).catch(() => {}); // it may not answer: nothing to do
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await Promise.allSettled(this.loops);
  }

  private get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  private async lookupLoop(): Promise<void> {
    let delay = 0;
    let fruitless = 0;
    const seen = new Set<string>();
    while (!this.stopped) {
      if (!(await this.sleep(delay))) return;
      if (!this.engine.wantsPeers()) {
        delay = this.o.idlePollMs;
        continue;
      }
      let fresh = 0;
      const op = this.operation();
      try {
        this.lookups++;
        for await (const peer of this.dht.findPeers(this.infoHash, { signal: op.signal })) {
          const key = formatAddress(peer);
          if (!seen.has(key)) {
            fresh++;
            if (seen.size < 100_000) seen.add(key);
          }
          this.feed(peer);
        }
      } catch (err) {
        if (this.stopped) return;
        this.events.warning(err as Error);
      } finally {
        op.done();
      }
      fruitless = fresh > 0 ? 0 : fruitless + 1;
      delay = Math.min(this.o.requeryMaxMs, this.o.requeryMs * 2 ** Math.min(fruitless, 16));
    }
  }

  private async announceLoop(): Promise<void> {
    let retryMs = this.o.requeryMs;
    while (!this.stopped) {
      const port = this.engine.announcePort;
      let stored = false;
      if (port !== undefined && port > 0) {
        const op = this.operation();
        try {
          const r = await this.dht.announce(this.infoHash, port, { signal: op.signal });
          this.announces++;
          stored = r.storedOn > 0;
          this.events.announced(r.storedOn);
          for (const p of r.peers) this.feed(p);
        } catch (err) {
          if (this.stopped) return;
          this.events.warning(err as Error);
        } finally {
          op.done();
        }
      }
      // Without a port there is nothing to announce yet: look again at the retry pace too.
      const retryCap = Math.min(this.o.requeryMaxMs, this.o.announceIntervalMs);
      const wait = stored ? this.o.announceIntervalMs : Math.min(retryMs, retryCap);
      retryMs = stored ? this.o.requeryMs : Math.min(retryCap, retryMs * 2);
      if (!(await this.sleep(wait))) return;
    }
  }

  /**
   * A signal for one DHT operation, aborted with the source. The DHT leaves its listener on
   * the signal it is given, so each operation gets a fresh one instead of sharing ours.
   */
  private operation(): { signal: AbortSignal; done(): void } {
    const op = new AbortController();
    const onAbort = (): void => op.abort();
    this.controller.signal.addEventListener('abort', onAbort, { once: true });
    return { signal: op.signal, done: () => this.controller.signal.removeEventListener('abort', onAbort) };
  }

  private feed(peer: Address): void {
    if (this.isSelf(peer)) return;
    this.events.peer(peer);
    this.engine.addPeer(peer, 'dht');
  }

  /**
   * Our own announce coming back: our peer port at the address our DHT node is bound to or
   * the external address other nodes see. Dialing it would only reach ourselves.
   */
  private isSelf(peer: Address): boolean {
    if (peer.port !== this.engine.announcePort) return false;
    return peer.host === this.dht.address().host || peer.host === this.dht.externalAddress();
  }

  /** Resolves true after `ms`, false at once if stopped. */
  private sleep(ms: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const signal = this.controller.signal;
      const onAbort = (): void => {
        timer.cancel();
        resolve(false);
      };
      const timer = this.o.clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
