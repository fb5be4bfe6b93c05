/**
 * Interop with bittorrent-dht 11 (webtorrent's JS DHT), all on 127.0.0.1.
 *
 * One mixed network: our seed node A (alone at first), our B and C joining through A, and six
 * bittorrent-dht nodes joining through A only. Later nodes of either kind join through a node
 * of the *other* implementation, so lookups cross implementations hop by hop.
 *
 * bittorrent-dht quirks that matter here (node_modules/bittorrent-dht/client.js, k-rpc):
 * - `bootstrap: undefined` means the public routers: always pass an array of IP literals.
 * - It has no loopback filter, but it keeps every node that *queries* it and it matches
 *   replies on IP only, so many nodes on 127.0.0.1 work.
 * - `listen()` must be called in the same tick as the constructor: it bootstraps on
 *   nextTick, and dgram queues those sends until the bind completes (otherwise it would
 *   auto-bind to 0.0.0.0).
 * - A get_peers reply that has peers carries `values` and no `nodes`.
 * - `host` (unset here) makes announce() store the announcer in its own store too.
 * - BEP 44: get() answers from its own cache first (the putter's own values), and mutable
 *   items need a `verify` function: we give it node:crypto's ed25519.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import BtDHT, { type BtItem, type BtPutOptions } from 'bittorrent-dht';
import { DHT } from '../../lib/index.js';
import type { Address } from '../../lib/index.js';
import { toHex } from '../../lib/index.js';
import { randomInfoHashHex, waitFor } from '../support/wait.js';
import { generateKeyPair, signMessage, verifySignature } from '../../lib/item/ed25519.js';
import { mutableTarget } from '../../lib/item/item.js';

const HOST = '127.0.0.1';
const BT_NODES = 6;

interface BtHandle {
  dht: BtDHT;
  port: number;
  id: string;
}

/** Start a bittorrent-dht node on 127.0.0.1 bootstrapping from `bootstrap` only; resolves on 'ready'. */
function startBt(bootstrap: Address[], started: BtDHT[]): Promise<BtHandle> {
  const dht = new BtDHT({
    bootstrap: bootstrap.map((a) => `${a.host}:${a.port}`),
    // BEP 44 mutable items need a verifier: node:crypto's ed25519, as its users plug in ed25519-supercop.
    verify: (signature, message, publicKey) => verifySignature(publicKey, message, signature)
  });
  started.push(dht); // registered first, so afterAll closes it even if 'ready' never comes
  dht.on('warning', () => {}); // "Unexpected transaction id" etc. are normal on a busy loopback
  dht.on('error', () => {});
  dht.listen(0, HOST); // same tick as the constructor: see the header
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bittorrent-dht node not ready after 10 s')), 10_000);
    dht.once('ready', () => {
      clearTimeout(timer);
      resolve({ dht, port: dht.address().port, id: dht.nodeId.toString('hex') });
    });
  });
}

function destroyBt(dht: BtDHT): Promise<void> {
  return new Promise((resolve) => dht.destroy(() => resolve()));
}

/** Run one bittorrent-dht lookup to completion; the peers it reported. */
function btLookup(dht: BtDHT, infoHash: string, timeoutMs = 10_000): Promise<Address[]> {
  return new Promise((resolve, reject) => {
    const peers: Address[] = [];
    const onPeer = (peer: { host: string; port: number }, ih: Buffer): void => {
      if (ih.toString('hex') === infoHash) peers.push({ host: peer.host, port: peer.port });
    };
    dht.on('peer', onPeer);
    let abort: () => void = () => {};
    const timer = setTimeout(() => {
      abort();
      dht.removeListener('peer', onPeer);
      reject(new Error(`bittorrent-dht lookup did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    abort = dht.lookup(infoHash, (err) => {
      clearTimeout(timer);
      dht.removeListener('peer', onPeer);
      if (err) reject(err);
      else resolve(peers);
    });
  });
}

function btAnnounce(dht: BtDHT, infoHash: string, port: number): Promise<void> {
  return new Promise((resolve, reject) =>
    dht.announce(infoHash, port, (err) => (err ? reject(err) : resolve()))
  );
}

/** Collect peers from our findPeers until `want` shows up or the lookup ends. */
async function ourFind(dht: DHT, infoHash: string, want: Address): Promise<Address[]> {
  const found: Address[] = [];
  const signal = AbortSignal.timeout(10_000);
  for await (const p of dht.findPeers(infoHash, { signal })) {
    found.push(p);
    if (p.host === want.host && p.port === want.port) break;
  }
  return found;
}

describe('interop with bittorrent-dht 11 on loopback', () => {
  const ours: DHT[] = [];
  const started: BtDHT[] = [];
  let a: DHT;
  let b: DHT;
  let c: DHT;
  const bts: BtHandle[] = [];

  async function ourNode(bootstrap: Address[]): Promise<DHT> {
    const dht = await DHT.create({ host: HOST, port: 0, bootstrap });
    ours.push(dht);
    return dht;
  }

  beforeAll(async () => {
    a = await ourNode([]);
    b = await ourNode([a.address()]);
    c = await ourNode([a.address()]);
    await waitFor(
      'our seed to verify B and C',
      () => [b, c].every((d) => a.nodes().some((n) => toHex(n.id) === toHex(d.nodeId))),
      {
        timeoutMs: 5_000,
        intervalMs: 20
      }
    );
    // Join one at a time, as a network grows: a node that joins while another is still
    // joining cannot learn about it (nobody queries it again for 15 minutes), so concurrent
    // joins would test timing, not interop. A pings each newcomer that queried it (BEP 5
    // verification) before it hands it out: wait for that too.
    for (let i = 0; i < BT_NODES; i++) {
      const x = await startBt([a.address()], started);
      bts.push(x);
      await waitFor(
        `our seed to verify bittorrent-dht node ${i}`,
        () => a.nodes().some((n) => toHex(n.id) === x.id),
        {
          timeoutMs: 5_000,
          intervalMs: 20
        }
      );
    }
  }, 30_000);

  afterAll(async () => {
    await Promise.all(started.map(destroyBt));
    await Promise.all(ours.map((d) => d.destroy()));
  });

  it('bittorrent-dht nodes that know only our node find each other and our other nodes', async () => {
    const t0 = Date.now();
    const ourIds = [b, c].map((d) => toHex(d.nodeId));
    // Every bittorrent-dht node knew only A; its routing table must end up holding every other
    // bittorrent-dht node and our B and C: all learned from A's find_node replies (or from
    // nodes A told them about).
    const missing = await waitFor(
      'every bittorrent-dht routing table to hold all other nodes',
      () => {
        const gaps = bts.map((x) => {
          const have = new Set(x.dht.nodes.toArray().map((n) => n.id.toString('hex')));
          const want = [...bts.filter((y) => y !== x).map((y) => y.id), ...ourIds, toHex(a.nodeId)];
          return want.filter((id) => !have.has(id)).length;
        });
        return gaps.every((g) => g === 0) ? gaps : undefined;
      },
      {
        timeoutMs: 15_000,
        intervalMs: 200,
        detail: () => {
          const name = (id: string, port: number): string => `${id.slice(0, 6)}@${port}`;
          const all = [
            ...bts.map((x) => name(x.id, x.port)),
            ...[a, b, c].map((d) => name(toHex(d.nodeId), d.address().port))
          ];
          const tables = bts.map(
            (x) =>
              `${name(x.id, x.port)} knows [${x.dht.nodes
                .toArray()
                .map((n) => name(n.id.toString('hex'), n.port))
                .join(' ')}]`
          );
          return `nodes ${all.join(' ')}; ${tables.join('; ')}`;
        }
      }
    );
    expect(missing).toEqual(new Array(BT_NODES).fill(0));
    // And our seed verified them (ping answered) into its own table.
    const aKnows = new Set(a.nodes().map((n) => toHex(n.id)));
    expect(bts.filter((x) => aKnows.has(x.id)).length).toBeGreaterThanOrEqual(BT_NODES - 1);
    // A node of ours that joins through a bittorrent-dht node (not A) fills its table.
    const d = await ourNode([{ host: HOST, port: bts[BT_NODES - 1]!.port }]);
    // Its join lookup asks the k closest to its own id; the bucket refreshes that follow fill
    // the rest. It must hold nodes of both implementations, learned from bittorrent-dht.
    const ourOthers = [a, b, c].map((x) => toHex(x.nodeId));
    const dCounts = await waitFor(
      'our late node to learn both kinds of node through bittorrent-dht',
      () => {
        const dKnows = new Set(d.nodes().map((n) => toHex(n.id)));
        const bt = bts.filter((x) => dKnows.has(x.id)).length;
        const our = ourOthers.filter((id) => dKnows.has(id)).length;
        return bt >= BT_NODES - 1 && our >= 2 ? { bt, our } : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 50, detail: () => `${d.nodes().length} nodes` }
    );
    expect(dCounts.bt).toBeGreaterThanOrEqual(BT_NODES - 1);
    console.log(`[interop bt] (a) converged in ${Date.now() - t0} ms`);
  });

  it('finds a peer announced by a bittorrent-dht node (our findPeers, multi-hop)', async () => {
    const t0 = Date.now();
    const ih = randomInfoHashHex();
    const peer = { host: HOST, port: 40001 };
    const storedAt: string[] = [];
    const onAnnounce = (p: Address, infoHash: Uint8Array): void => {
      if (toHex(infoHash) === ih && p.port === peer.port) storedAt.push('ours');
    };
    for (const d of ours) d.on('announce', onAnnounce);
    await btAnnounce(bts[0]!.dht, ih, peer.port);
    for (const d of ours) d.off('announce', onAnnounce);
    expect(storedAt.length).toBeGreaterThan(0); // our nodes accepted its announce_peer (token ok)

    // A new node of ours joins through a bittorrent-dht node and looks the infohash up.
    const e = await ourNode([{ host: HOST, port: bts[2]!.port }]);
    const found = await waitFor(
      'our findPeers to return the bittorrent-dht announce',
      async () => {
        const got = await ourFind(e, ih, peer);
        return got.some((p) => p.host === peer.host && p.port === peer.port) ? got : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500 }
    );
    expect(found).toContainEqual(peer);
    // getPeers reports a real iterative lookup: several nodes asked, not one.
    const { peers, lookup } = await e.getPeers(ih, { signal: AbortSignal.timeout(10_000) });
    expect(peers).toContainEqual(peer);
    expect(lookup.responses).toBeGreaterThan(1);
    console.log(
      `[interop bt] (b) ${Date.now() - t0} ms; lookup: ${lookup.queries} queries, ${lookup.responses} responses, ${lookup.hops} hops`
    );
  });

  it('bittorrent-dht lookup finds a peer we announced (multi-hop)', async () => {
    const t0 = Date.now();
    const ih = randomInfoHashHex();
    const port = 40002;
    const btStored: number[] = [];
    const onBtAnnounce = (p: { host: string; port: number }, infoHash: Buffer): void => {
      if (infoHash.toString('hex') === ih && p.port === port) btStored.push(1);
    };
    for (const x of bts) x.dht.on('announce', onBtAnnounce);
    const res = await b.announce(ih, port, { signal: AbortSignal.timeout(15_000) });
    expect(res.targets).toBeGreaterThan(0);
    expect(res.targets).toBeLessThanOrEqual(8);
    expect(res.storedOn).toBe(res.targets);
    for (const x of bts) x.dht.removeListener('announce', onBtAnnounce);
    expect(btStored.length).toBeGreaterThan(0); // bittorrent-dht nodes accepted our announce_peer

    // A new bittorrent-dht node joins through our node C (not A) and looks the infohash up.
    const late = await startBt([c.address()], started);
    const peers = await waitFor(
      'bittorrent-dht lookup to report our peer',
      async () => {
        const got = await btLookup(late.dht, ih);
        return got.some((p) => p.host === HOST && p.port === port) ? got : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500 }
    );
    expect(peers).toContainEqual({ host: HOST, port });
    // Nothing bittorrent-dht sent us all along failed to decode or validate.
    expect(ours.map((d) => d.stats().malformed + d.stats().badArguments)).toEqual(ours.map(() => 0));
    console.log(
      `[interop bt] (c) ${Date.now() - t0} ms; our announce stored on ${res.storedOn}/${res.targets} (${btStored.length} bittorrent-dht nodes)`
    );
  });

  it('BEP 44 immutable items both ways', async () => {
    const t0 = Date.now();
    const put = await b.putImmutable('immutable from trackerless');
    expect(put.storedOn).toBeGreaterThanOrEqual(3);
    const item = await btGet(bts[0]!.dht, Buffer.from(put.target), {});
    expect(item?.v.toString()).toBe('immutable from trackerless');
    const { target, n } = await btPut(bts[1]!.dht, { v: Buffer.from('immutable from bittorrent-dht') });
    expect(n).toBeGreaterThanOrEqual(3);
    const got = await c.getImmutable(target);
    expect(got && Buffer.from(got.value as Uint8Array).toString()).toBe('immutable from bittorrent-dht');
    console.log(`[interop bt] (d) ${Date.now() - t0} ms; bittorrent-dht stored its item on ${n} nodes`);
  });

  it('BEP 44 mutable items with a salt both ways, signatures checked on each side', async () => {
    const t0 = Date.now();
    const keyPair = generateKeyPair();
    const salt = Buffer.from('feed');
    const target = Buffer.from(mutableTarget(keyPair.publicKey, salt));
    const first = await b.putMutable({ keyPair, salt, value: 'version 1 (trackerless)' });
    expect(first.storedOn).toBeGreaterThanOrEqual(3);
    const seen = await btGet(bts[2]!.dht, target, { salt });
    expect(seen?.seq).toBe(1);
    expect(seen?.v.toString()).toBe('version 1 (trackerless)');
    const { n } = await btPut(bts[3]!.dht, {
      k: Buffer.from(keyPair.publicKey),
      seq: 2,
      salt,
      v: Buffer.from('version 2 (bittorrent-dht)'),
      sign: (message) => Buffer.from(signMessage(keyPair, message))
    });
    expect(n).toBeGreaterThanOrEqual(3);
    const item = await c.getMutable(keyPair.publicKey, { salt });
    expect(item?.seq).toBe(2);
    expect(Buffer.from(item!.value as Uint8Array).toString()).toBe('version 2 (bittorrent-dht)');
    expect(ours.map((d) => d.stats().malformed + d.stats().badArguments)).toEqual(ours.map(() => 0));
    console.log(`[interop bt] (e) ${Date.now() - t0} ms; mutable seq 1 (ours) -> 2 (bittorrent-dht)`);
  });
});

function btPut(dht: BtDHT, opts: BtPutOptions): Promise<{ target: Buffer; n: number }> {
  return new Promise((resolve, reject) =>
    dht.put(opts, (err, target, n) => (err ? reject(err) : resolve({ target, n })))
  );
}

function btGet(dht: BtDHT, target: Buffer, opts: { salt?: Buffer }): Promise<BtItem | null> {
  return new Promise((resolve, reject) =>
    dht.get(target, { ...opts, cache: false }, (err, item) => (err ? reject(err) : resolve(item)))
  );
}
