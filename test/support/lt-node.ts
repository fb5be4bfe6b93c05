/**
 * Drives test/interop/lt_node.py: a libtorrent DHT node in a child process that reads
 * commands on stdin and writes JSON lines on stdout. Closing stdin makes it exit.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Address } from '../../lib/index.js';
import { JsonLineChild, type ChildEvent } from '../../bench/lib/json-line-child.js';
import { PYTHON } from '../../bench/lib/libtorrent-python.js';

export { libtorrentProblem, PYTHON } from '../../bench/lib/libtorrent-python.js';

export const LT_SCRIPT = fileURLToPath(new URL('../interop/lt_node.py', import.meta.url));

export type LtEvent = ChildEvent;

export class LtNode extends JsonLineChild {
  port = 0;

  private constructor(child: ChildProcessWithoutNullStreams) {
    super(child, 'libtorrent helper');
  }

  /** Spawn a libtorrent node bootstrapping from `bootstrap` only; resolves once it listens. */
  static async start(
    bootstrap: Address[],
    opts: { maxSeconds?: number; logDht?: boolean } = {}
  ): Promise<LtNode> {
    const args = [LT_SCRIPT, '--max-seconds', String(opts.maxSeconds ?? 240)];
    for (const b of bootstrap) args.push('--bootstrap', `${b.host}:${b.port}`);
    if (opts.logDht) args.push('--log-dht');
    const node = new LtNode(spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    let ready: LtEvent;
    try {
      ready = await node.next((e) => e.event === 'ready' || e.event === 'fatal', 15_000, 'libtorrent ready');
    } catch (err) {
      await node.close(); // never leave a child behind
      throw err;
    }
    if (ready.event === 'fatal') {
      await node.close();
      throw new Error(String(ready.message));
    }
    node.port = Number(ready.port);
    return node;
  }

  get address(): Address {
    return { host: '127.0.0.1', port: this.port };
  }

  /** Ask for DHT stats; the number of nodes in libtorrent's routing table. */
  async dhtNodes(timeoutMs = 5_000): Promise<number> {
    const from = this.events.length;
    this.send('stats');
    const ev = await this.next((e) => e.event === 'stats', timeoutMs, 'dht stats', from);
    return Number(ev.nodes);
  }

  /** One dht_get_peers lookup; the peers in its reply alert. */
  async getPeers(infoHash: string, timeoutMs = 15_000): Promise<Address[]> {
    const from = this.events.length;
    this.send(`get_peers ${infoHash}`);
    const ev = await this.next(
      (e) => e.event === 'peers' && e.info_hash === infoHash,
      timeoutMs,
      `get_peers reply for ${infoHash}`,
      from
    );
    return (ev.peers as Array<[string, number]>).map(([host, port]) => ({ host, port }));
  }

  /**
   * Announce `infoHash` to the DHT; resolves with the TCP port libtorrent announces: `port`
   * via session.dht_announce, or its listen port where the 2.0.8 bindings force the
   * torrent fallback (see lt_node.py).
   */
  async announce(infoHash: string, port: number): Promise<{ port: number; via: string }> {
    const from = this.events.length;
    this.send(`announce ${infoHash} ${port}`);
    const ev = await this.next(
      (e) =>
        (e.event === 'announcing' && e.info_hash === infoHash) ||
        (e.event === 'error' && String(e.message).includes(infoHash)),
      5_000,
      `announce of ${infoHash}`,
      from
    );
    if (ev.event === 'error') throw new Error(`libtorrent helper: ${String(ev.message)}`);
    return { port: Number(ev.port), via: String(ev.via) };
  }

  /** BEP 51 sample_infohashes to `node`; what libtorrent parsed from its reply. */
  async sample(
    node: Address,
    timeoutMs = 10_000
  ): Promise<{
    num: number;
    interval: number;
    samples: string[];
    nodes: Array<{ id: string; host: string; port: number }>;
  }> {
    const from = this.events.length;
    const endpoint = `${node.host}:${node.port}`;
    this.send(`sample ${endpoint}`);
    const ev = await this.next(
      (e) => e.event === 'samples' && e.endpoint === endpoint,
      timeoutMs,
      `sample_infohashes reply from ${endpoint}`,
      from
    );
    return {
      num: Number(ev.num),
      interval: Number(ev.interval),
      samples: ev.samples as string[],
      nodes: ev.nodes as Array<{ id: string; host: string; port: number }>
    };
  }

  /** BEP 44: put a byte string as an immutable item; resolves when libtorrent's put is done. */
  async putImmutable(value: Uint8Array, timeoutMs = 30_000): Promise<{ target: string; numSuccess: number }> {
    const from = this.events.length;
    this.send(`put_immutable ${Buffer.from(value).toString('hex')}`);
    const started = await this.next((e) => e.event === 'put_immutable', 5_000, 'put_immutable', from);
    const target = String(started.target);
    const done = await this.next(
      (e) => e.event === 'put' && e.target === target,
      timeoutMs,
      `put of ${target}`,
      from
    );
    return { target, numSuccess: Number(done.num_success) };
  }

  /** BEP 44: the bencoded value libtorrent found under `target` (hex), or null. */
  async getImmutable(target: string, timeoutMs = 30_000): Promise<string | null> {
    const from = this.events.length;
    this.send(`get_immutable ${target}`);
    const ev = await this.next(
      (e) => e.event === 'immutable_item' && e.target === target,
      timeoutMs,
      `immutable item ${target}`,
      from
    );
    return (ev.v as string | null) ?? null;
  }

  /**
   * BEP 44: put a byte string as a mutable item signed by `secretKey`, libtorrent's 64-byte
   * expanded ed25519 key (libtorrent picks seq = the highest it finds + 1).
   */
  async putMutable(
    secretKey: Uint8Array,
    publicKey: Uint8Array,
    value: Uint8Array,
    salt: Uint8Array,
    timeoutMs = 30_000
  ): Promise<{ seq: number; numSuccess: number }> {
    const from = this.events.length;
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    this.send(
      `put_mutable ${hex(secretKey)} ${hex(publicKey)} ${hex(value)} ${salt.length ? hex(salt) : '-'}`
    );
    const done = await this.next(
      (e) => e.event === 'put' && e.public_key === hex(publicKey) && e.salt === hex(salt),
      timeoutMs,
      'mutable put',
      from
    );
    return { seq: Number(done.seq), numSuccess: Number(done.num_success) };
  }

  /** BEP 44: the mutable item libtorrent settles on (its authoritative answer). */
  async getMutable(
    publicKey: Uint8Array,
    salt: Uint8Array,
    timeoutMs = 30_000
  ): Promise<{ seq: number; v: string | null; signature: string }> {
    const from = this.events.length;
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    this.send(`get_mutable ${hex(publicKey)} ${salt.length ? hex(salt) : '-'}`);
    const ev = await this.next(
      (e) =>
        e.event === 'mutable_item' &&
        e.key === hex(publicKey) &&
        e.salt === hex(salt) &&
        e.authoritative === true,
      timeoutMs,
      'authoritative mutable item',
      from
    );
    return { seq: Number(ev.seq), v: (ev.v as string | null) ?? null, signature: String(ev.signature) };
  }
}
