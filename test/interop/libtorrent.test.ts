/**
 * Interop with libtorrent-rasterbar 2.0 (Debian's python3-libtorrent), all on 127.0.0.1.
 *
 * Network: our seed A, our B and C joining through A, and two libtorrent sessions whose only
 * bootstrap node is A (test/interop/lt_node.py, loopback settings from docs/GUIDE §5).
 * libtorrent keeps its bootstrap nodes out of its routing table ("router" nodes), so it can
 * only work if A's replies lead it to other nodes: every libtorrent lookup here is multi-hop.
 *
 * A missing python3-libtorrent is a failure, not a skip: CI installs it (.ci/run).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DHT, toHex } from '../../lib/index.js';
import type { Address } from '../../lib/index.js';
import { LtNode, libtorrentProblem } from '../support/lt-node.js';
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

  beforeAll(async () => {
    const problem = libtorrentProblem();
    if (problem) {
      throw new Error(`python3-libtorrent is required for the interop tests: ${problem}. Install it: apt-get install -y python3-libtorrent (.ci/run does).`);
    }
    const t0 = Date.now();
    a = await ourNode([]);
    b = await ourNode([a.address()]);
    c = await ourNode([a.address()]);
    [lt1, lt2] = await Promise.all([startLt([a.address()]), startLt([a.address()])]);
    // libtorrent bootstraps in the background: wait (bounded) until each one's routing table
    // holds nodes learned through A, and A has verified both (they answered its ping).
    for (const lt of [lt1, lt2]) {
      await waitFor(`libtorrent on ${lt.port} to fill its routing table`, async () => (await lt.dhtNodes()) >= 3, {
        timeoutMs: 40_000,
        intervalMs: 500
      });
    }
    await waitFor('our seed to verify both libtorrent nodes', () =>
      [lt1, lt2].every((lt) => a.nodes().some((n) => n.port === lt.port)), { timeoutMs: 10_000, intervalMs: 100 });
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
    const found = await waitFor('our findPeers to return the libtorrent announce', async () => {
      if (++attempts % 10 === 0) await lt1.announce(ih, 41001); // re-announce now and then
      const { peers, lookup } = await d.getPeers(ih, { signal: AbortSignal.timeout(10_000) });
      return peers.some((p) => p.host === peer.host && p.port === peer.port) ? { peers, lookup } : undefined;
    }, { timeoutMs: 40_000, intervalMs: 500, detail: () => `announced via ${via}; stored on ${storedOn.size} of our nodes` });
    for (const [x, fn] of listeners) x.off('announce', fn);
    expect(found.peers).toContainEqual(peer);
    expect(found.lookup.responses).toBeGreaterThan(1);
    expect(storedOn.size).toBeGreaterThan(0); // libtorrent used our tokens in announce_peer
    console.log(`[interop lt] (a) found after ${Date.now() - t0} ms, ${attempts} lookups; announced via ${via}; stored on ${storedOn.size} of our nodes; last lookup ${found.lookup.queries} queries, ${found.lookup.hops} hops`);
  }, 60_000);

  it('libtorrent (dht_get_peers) finds a peer we announced', async () => {
    const t0 = Date.now();
    const ih = randomInfoHashHex();
    const port = 41002;
    const announcedFrom = lt1.events.length;
    const res = await b.announce(ih, port, { signal: AbortSignal.timeout(15_000) });
    expect(res.storedOn).toBeGreaterThan(0);
    let attempts = 0;
    const peers = await waitFor('libtorrent get_peers to return our peer', async () => {
      attempts++;
      const got = await lt2.getPeers(ih);
      return got.some((p) => p.host === HOST && p.port === port) ? got : undefined;
    }, { timeoutMs: 40_000, intervalMs: 500 });
    expect(peers).toContainEqual({ host: HOST, port });
    const ltStored = [lt1, lt2].filter((lt) =>
      lt.events.slice(lt === lt1 ? announcedFrom : 0).some((e) => e.event === 'announced' && e.info_hash === ih)).length;
    console.log(`[interop lt] (b) found after ${Date.now() - t0} ms, ${attempts} get_peers; our announce stored on ${res.storedOn}/${res.targets} (${ltStored} libtorrent nodes)`);
  }, 60_000);
});
