/**
 * Interop with libtorrent-rasterbar 2.0 (Debian's python3-libtorrent), all on 127.0.0.1.
 *
 * Network: our seed A, our B and C joining through A, and two libtorrent sessions whose only
 * bootstrap node is A (test/interop/lt_node.py: loopback-only settings, every discovery
 * feature off). libtorrent keeps its bootstrap nodes out of its routing table ("router"
 * nodes), so it works only if A's replies lead it to other nodes: its lookups are multi-hop.
 *
 * libtorrent 2.0.8's python bindings cannot call session.dht_announce (no converter for its
 * flags argument, arvidn/libtorrent#7441): the helper then announces the way a client does,
 * with a magnet-style torrent and force_dht_announce(), so the announced port is libtorrent's
 * listen port.
 *
 * BEP 44: items put by each side are read by the other, including mutable items signed by one
 * implementation and updated by the other under the same key.
 *
 * A missing python3-libtorrent is a failure, not a skip: CI installs it (.ci/run).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DHT, toHex } from '../../lib/index.js';
import type { Address } from '../../lib/index.js';
import { LtNode, libtorrentProblem } from '../support/lt-node.js';
import { rawQuery } from '../support/raw-krpc.js';
import { keyPairFromSeed } from '../../lib/item/ed25519.js';
import { createHash, randomBytes } from 'node:crypto';
import { randomInfoHashHex, waitFor } from '../support/wait.js';

const HOST = '127.0.0.1';

describe('interop with libtorrent 2.0 on loopback', () => {
  const ours: DHT[] = [];
  const lts: LtNode[] = [];
  let a: DHT;
  let b: DHT;
  let c: DHT;
  let lt1: LtNode;
  let lt2: LtNode;
  /** The infohash B announced in test (b) (stored on our nodes and on libtorrent's). */
  let bAnnounced = '';

  async function ourNode(bootstrap: Address[]): Promise<DHT> {
    const dht = await DHT.create({ host: HOST, port: 0, bootstrap });
    ours.push(dht);
    return dht;
  }

  async function startLt(bootstrap: Address[]): Promise<LtNode> {
    const node = await LtNode.start(bootstrap);
    lts.push(node);
    return node;
  }

  /** Wait until `lt` has `min` nodes in its routing table and `seed` has `lt` in its own. */
  async function waitForLt(lt: LtNode, min: number, seed: DHT): Promise<void> {
    let last = 0;
    await waitFor(
      `libtorrent on ${lt.port} to have ${min} nodes in its routing table`,
      async () => (last = await lt.dhtNodes()) >= min,
      {
        timeoutMs: 40_000,
        intervalMs: 250,
        detail: () => `${last} nodes`
      }
    );
    await waitFor(
      `our seed to verify libtorrent on ${lt.port}`,
      () => seed.nodes().some((n) => n.port === lt.port),
      {
        timeoutMs: 10_000,
        intervalMs: 50
      }
    );
  }

  beforeAll(async () => {
    const problem = libtorrentProblem();
    if (problem) {
      throw new Error(
        `python3-libtorrent is required for the interop tests: ${problem}. Install it: apt-get install -y python3-libtorrent (.ci/run does).`
      );
    }
    const t0 = Date.now();
    a = await ourNode([]);
    b = await ourNode([a.address()]);
    c = await ourNode([a.address()]);
    // Sessions join one after the other (a joining node only learns nodes that are already
    // there). libtorrent bootstraps in the background: wait, bounded, until its routing table
    // holds the nodes it can only have learned through A (it keeps A itself out, as a router),
    // and until A has verified it (it answered A's ping), so A hands it out to later joiners.
    lt1 = await startLt([a.address()]);
    await waitForLt(lt1, 2, a); // B and C
    lt2 = await startLt([a.address()]);
    await waitForLt(lt2, 3, a); // B, C and lt1
    console.log(`[interop lt] network up in ${Date.now() - t0} ms`);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(lts.map((lt) => lt.close()));
    await Promise.all(ours.map((d) => d.destroy()));
  });

  it('our findPeers finds a peer announced by libtorrent', async () => {
    const t0 = Date.now();
    const ih = randomInfoHashHex();
    const storedOn = new Set<string>(); // our nodes that accepted libtorrent's announce_peer
    const listeners = new Map<DHT, (p: Address, infoHash: Uint8Array) => void>();
    const listen = (x: DHT): void => {
      const fn = (_p: Address, infoHash: Uint8Array): void => {
        if (toHex(infoHash) === ih) storedOn.add(toHex(x.nodeId));
      };
      listeners.set(x, fn);
      x.on('announce', fn);
    };
    ours.forEach(listen);
    const { port, via } = await lt1.announce(ih, 41001);
    const peer = { host: HOST, port };
    // A node of ours that joins through a libtorrent node (not A) does the lookup.
    const d = await ourNode([lt2.address]);
    listen(d);
    let attempts = 0;
    const found = await waitFor(
      'our findPeers to return the libtorrent announce',
      async () => {
        if (++attempts % 10 === 0) await lt1.announce(ih, 41001); // re-announce now and then
        const { peers, lookup } = await d.getPeers(ih, { signal: AbortSignal.timeout(10_000) });
        return peers.some((p) => p.host === peer.host && p.port === peer.port)
          ? { peers, lookup }
          : undefined;
      },
      {
        timeoutMs: 40_000,
        intervalMs: 500,
        detail: () => `announced via ${via}; stored on ${storedOn.size} of our nodes`
      }
    );
    for (const [x, fn] of listeners) x.off('announce', fn);
    expect(found.peers).toContainEqual(peer);
    expect(found.lookup.responses).toBeGreaterThan(1);
    expect(storedOn.size).toBeGreaterThan(0); // libtorrent used our tokens in announce_peer
    console.log(
      `[interop lt] (a) found after ${Date.now() - t0} ms, ${attempts} lookups; announced via ${via}; stored on ${storedOn.size} of our nodes; last lookup ${found.lookup.queries} queries, ${found.lookup.hops} hops`
    );
  }, 60_000);

  it('libtorrent (dht_get_peers) finds a peer we announced', async () => {
    const t0 = Date.now();
    const ih = randomInfoHashHex();
    const port = 41002;
    const res = await b.announce(ih, port, { signal: AbortSignal.timeout(15_000) });
    expect(res.storedOn).toBeGreaterThan(0);
    let attempts = 0;
    const peers = await waitFor(
      'libtorrent get_peers to return our peer',
      async () => {
        attempts++;
        const got = await lt2.getPeers(ih);
        return got.some((p) => p.host === HOST && p.port === port) ? got : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 500 }
    );
    expect(peers).toContainEqual({ host: HOST, port });
    bAnnounced = ih;
    const ltStored = [lt1, lt2].filter((lt) =>
      lt.events.some((e) => e.event === 'announced' && e.info_hash === ih)
    ).length;
    expect(ltStored).toBeGreaterThan(0); // libtorrent accepted our announce_peer (and our token format)
    console.log(
      `[interop lt] (b) found after ${Date.now() - t0} ms, ${attempts} get_peers; our announce stored on ${res.storedOn}/${res.targets} (${ltStored} libtorrent nodes)`
    );
  }, 60_000);

  it('BEP 51 sample_infohashes works both ways', async () => {
    const t0 = Date.now();
    expect(bAnnounced).not.toBe(''); // set by the previous test
    // Ours -> libtorrent: lt1 stored B's announce.
    const fromLt = await a.sampleInfohashes(lt1.address, undefined, { signal: AbortSignal.timeout(5_000) });
    expect(fromLt.supported).toBe(true);
    expect(fromLt.samples.map((s) => toHex(s))).toContain(bAnnounced);
    expect(fromLt.num).toBeGreaterThanOrEqual(1);
    expect(fromLt.interval).toBeGreaterThan(0);
    // libtorrent -> ours: C stored B's announce too (every node is among the 8 closest).
    const fromUs = await lt2.sample(c.address());
    expect(fromUs.samples).toContain(bAnnounced);
    expect(fromUs.num).toBe(c.stats().storedInfoHashes);
    expect(fromUs.interval).toBe(21600);
    expect(fromUs.nodes.length).toBeGreaterThan(0); // libtorrent parsed our compact nodes
    // Nothing libtorrent sent us all along failed to decode or validate.
    expect(ours.map((d) => d.stats().malformed + d.stats().badArguments)).toEqual(ours.map(() => 0));
    console.log(
      `[interop lt] (c) ${Date.now() - t0} ms; libtorrent sampled ${fromUs.num} infohashes from us, we sampled ${fromLt.num} from it`
    );
  }, 30_000);

  it('BEP 44 immutable items both ways; libtorrent stores and serves our puts', async () => {
    const t0 = Date.now();
    // Ours -> libtorrent: B puts, lt2 gets; lt1 itself answers a raw get with the value.
    const ours44 = await b.putImmutable('immutable from trackerless');
    expect(ours44.storedOn).toBeGreaterThanOrEqual(3);
    const seen = await lt2.getImmutable(toHex(ours44.target));
    expect(seen).toBe(Buffer.from('26:immutable from trackerless').toString('hex'));
    const raw = await rawQuery(lt1.address, {
      method: 'get',
      id: new Uint8Array(20).fill(1),
      target: ours44.target
    });
    expect(raw.type === 'response' && raw.body.v).toEqual(
      new TextEncoder().encode('26:immutable from trackerless')
    );
    // libtorrent -> ours: lt1 puts, C gets (from whichever node answers first, ours or libtorrent).
    const value = new TextEncoder().encode('immutable from libtorrent');
    const { target, numSuccess } = await lt1.putImmutable(value);
    expect(numSuccess).toBeGreaterThanOrEqual(3);
    expect(ours.some((d) => d.stats().storedItems > 0)).toBe(true);
    const got = await c.getImmutable(target);
    expect(got && Buffer.from(got.value as Uint8Array).toString()).toBe('immutable from libtorrent');
    console.log(`[interop lt] (d) ${Date.now() - t0} ms; libtorrent stored our item on ${numSuccess} nodes`);
  }, 60_000);

  it('BEP 44 mutable items with a salt both ways: each verifies the signatures of the other, seq goes on', async () => {
    const t0 = Date.now();
    const seed = randomBytes(32);
    const keyPair = keyPairFromSeed(seed);
    const salt = new TextEncoder().encode('feed');
    // Ours -> libtorrent: seq 1 put by B, read by lt2.
    const first = await b.putMutable({ keyPair, salt, value: 'version 1 (trackerless)' });
    expect(first.seq).toBe(1);
    expect(first.storedOn).toBeGreaterThanOrEqual(3);
    const ltView = await lt2.getMutable(keyPair.publicKey, salt);
    expect(ltView.seq).toBe(1);
    expect(ltView.v).toBe(Buffer.from('23:version 1 (trackerless)').toString('hex'));
    // libtorrent -> ours: lt1 signs with the same key (its 64-byte expanded form), finds seq 1, puts 2.
    const put2 = await lt1.putMutable(
      expandedSecretKey(seed),
      keyPair.publicKey,
      new TextEncoder().encode('version 2 (libtorrent)'),
      salt
    );
    expect(put2.seq).toBe(2);
    expect(put2.numSuccess).toBeGreaterThanOrEqual(3);
    const item = await c.getMutable(keyPair.publicKey, { salt });
    expect(item?.seq).toBe(2);
    expect(Buffer.from(item!.value as Uint8Array).toString()).toBe('version 2 (libtorrent)');
    // And ours continues the sequence over libtorrent's.
    const third = await c.putMutable({ keyPair, salt, value: 'version 3 (trackerless)' });
    expect(third.seq).toBe(3);
    expect((await lt2.getMutable(keyPair.publicKey, salt)).seq).toBe(3);
    expect(ours.map((d) => d.stats().malformed + d.stats().badArguments)).toEqual(ours.map(() => 0));
    console.log(`[interop lt] (e) ${Date.now() - t0} ms; mutable seq 1 (ours) -> 2 (libtorrent) -> 3 (ours)`);
  }, 90_000);
});

/** libtorrent's ed25519 secret key: SHA-512 of the seed, clamped (its ed25519_create_keypair). */
function expandedSecretKey(seed: Uint8Array): Uint8Array {
  const h = new Uint8Array(createHash('sha512').update(seed).digest());
  h[0]! &= 248;
  h[31]! &= 63;
  h[31]! |= 64;
  return h;
}
