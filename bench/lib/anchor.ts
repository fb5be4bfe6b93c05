/**
 * The anchor, `bittorrent-dht@11` (no published types), typed for the benchmark: only what it
 * uses, including the internals it reads to count and inspect (`_rpc`, `_peers`, `_addPeer`).
 * A plain module rather than an ambient `declare module`, so it cannot collide with the test
 * suite's own declaration of the package.
 */
import type { EventEmitter } from 'node:events';
// eslint-disable-next-line @typescript-eslint/ban-ts-comment -- an expect-error directive would fail where the test suite's declaration is in scope
// @ts-ignore -- untyped package (the test suite's ambient declaration may or may not be in scope)
import AnchorUntyped from 'bittorrent-dht';

export interface AnchorNode {
  id: Buffer;
  host: string;
  port: number;
  token?: Buffer | null;
}

export interface AnchorOptions {
  nodeId?: Buffer | string;
  /** ALWAYS pass an array of loopback "ip:port" / {host, port}: undefined means public routers. */
  bootstrap: Array<string | { host: string; port: number }> | false;
  host?: string | false;
  k?: number;
  concurrency?: number;
  maxPeers?: number;
  maxTables?: number;
  timeBucketOutdated?: number;
}

export interface AnchorKBucket {
  count(): number;
  toArray(): AnchorNode[];
  closest(id: Buffer, n?: number): AnchorNode[];
}

export interface AnchorKrpcMessage {
  t?: Buffer;
  y?: Buffer;
  r?: { id?: Buffer; nodes?: Buffer; values?: Buffer[]; token?: Buffer };
}

export interface AnchorRpc {
  id: Buffer;
  k: number;
  nodes: AnchorKBucket;
  closest(
    target: Buffer,
    message: { q: string; a: Record<string, unknown> },
    visit:
      | ((
          message: AnchorKrpcMessage,
          peer: { address?: string; host?: string; port: number }
        ) => boolean | void)
      | null,
    cb: (err: Error | null, n: number) => void
  ): void;
}

export interface AnchorRecordCache {
  get(name: string, n?: number): Buffer[];
  readonly size: number;
}

export interface AnchorDHT extends EventEmitter {
  nodeId: Buffer;
  nodes: AnchorKBucket;
  ready: boolean;
  _rpc: AnchorRpc;
  _peers: AnchorRecordCache;
  /** BEP 44 items it stores (an LRU). */
  _values: { length: number };
  put(opts: { v: Buffer }, cb: (err: Error | null, target: Buffer, n: number) => void): Buffer;
  get(
    target: Buffer,
    opts: { cache?: boolean },
    cb: (err: Error | null, item: { v: Buffer } | null) => void
  ): void;
  listen(port: number, address: string, cb?: () => void): void;
  address(): { address: string; port: number; family: string };
  addNode(node: { id: Buffer; host: string; port: number }): void;
  announce(infoHash: Buffer | string, port: number, cb: (err: Error | null, hits?: number) => void): void;
  lookup(infoHash: Buffer | string, cb: (err: Error | null, visited?: number) => void): () => void;
  _addPeer(
    peer: { host: string; port: number },
    infoHash: Buffer,
    from: { host: string; port: number }
  ): void;
  destroy(cb?: () => void): void;
}

export interface AnchorConstructor {
  new (opts: AnchorOptions): AnchorDHT;
}

/** The anchor's DHT class. ALWAYS pass `bootstrap` as an array of loopback IP literals. */
export const AnchorDHT = AnchorUntyped as unknown as AnchorConstructor;
