/**
 * Minimal types for bittorrent-dht 11 (the JS anchor; it ships none). Only what the interop
 * tests use. Always pass `bootstrap` as an array: `undefined` means the public routers.
 */
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events';

  export interface BtNode {
    id: Buffer;
    host: string;
    port: number;
  }

  export interface BtDhtOptions {
    /** "ip:port" strings or {host, port}; IP literals only. Never leave it undefined in tests. */
    bootstrap: Array<string | { host: string; port: number }> | false;
    nodeId?: Buffer | string;
    /** Our own IP: when set, announce() also stores us in our own peer store. */
    host?: string | false;
    k?: number;
    concurrency?: number;
    timeout?: number;
    maxAge?: number;
    /** BEP 44: verify(signature, message, publicKey); needed for mutable items. */
    verify?: (signature: Buffer, message: Buffer, publicKey: Buffer) => boolean;
  }

  /** A BEP 44 item as bittorrent-dht returns it from get(). */
  export interface BtItem {
    v: Buffer;
    id: Buffer;
    k?: Buffer;
    sig?: Buffer;
    seq?: number;
    salt?: Buffer;
  }

  export interface BtPutOptions {
    v: Buffer;
    k?: Buffer;
    seq?: number;
    salt?: Buffer;
    cas?: number;
    sign?: (message: Buffer) => Buffer;
  }

  export default class DHT extends EventEmitter {
    constructor(opts: BtDhtOptions);
    readonly nodeId: Buffer;
    readonly listening: boolean;
    readonly ready: boolean;
    readonly destroyed: boolean;
    /** The routing table (a k-bucket). */
    readonly nodes: { toArray(): BtNode[]; count(): number };
    listen(port: number, address: string, onListening?: () => void): void;
    address(): { address: string; family: string; port: number };
    addNode(node: { host: string; port: number; id?: Buffer | string }): void;
    announce(infoHash: Buffer | string, port: number, cb?: (err: Error | null) => void): void;
    /** Emits 'peer' (peer, infoHash, from) for each peer found; returns an abort function. */
    lookup(infoHash: Buffer | string, cb?: (err: Error | null, visited?: number) => void): () => void;
    destroy(cb?: () => void): void;
    /** BEP 44 put; cb gets the target and the number of nodes that stored it. */
    put(opts: BtPutOptions, cb: (err: Error | null, target: Buffer, n: number) => void): Buffer;
    /** BEP 44 get by target (for a mutable item, pass its salt). */
    get(
      target: Buffer | string,
      opts: { salt?: Buffer; cache?: boolean },
      cb: (err: Error | null, item: BtItem | null) => void
    ): void;
    on(
      event: 'peer',
      listener: (
        peer: { host: string; port: number },
        infoHash: Buffer,
        from: { host: string; port: number } | null
      ) => void
    ): this;
    on(event: 'announce', listener: (peer: { host: string; port: number }, infoHash: Buffer) => void): this;
    on(event: 'ready' | 'listening' | 'close', listener: () => void): this;
    on(event: 'node', listener: (node: BtNode) => void): this;
    on(event: 'warning' | 'error', listener: (err: Error) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }
}
