/**
 * Server rules and API behaviour of one DHT node, driven with hand-made datagrams on the
 * simulated network (virtual time, no sockets).
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bencode from 'bencode';
import { SimNetwork } from '../../lib/testing/sim-network.js';
import { DHT } from '../../lib/dht/dht.js';
import { decodeMessage, encodeQuery } from '../../lib/krpc/codec.js';
import type { Message, Query, ResponseMessage } from '../../lib/krpc/types.js';
import type { Transport } from '../../lib/net/transport.js';
import { seededRandom } from '../../lib/util/random.js';
import type { DhtOptions } from '../../lib/dht/options.js';
import { simNode } from '../support/node-probe.js';
import { toHex } from '../../lib/util/bytes.js';
import { TrackerlessError } from '../../lib/errors.js';
import { untilIo } from '../support/wait.js';

async function setup(extra: Partial<DhtOptions> = {}) {
  const { net, dht, rnd } = await simNode(extra, { net: 3, random: 9 });
  const client = net.createTransport();
  const inbox: Message[] = [];
  const raw: Uint8Array[] = [];
  client.onMessage((data) => {
    raw.push(data);
    const d = decodeMessage(data);
    if (d.ok) inbox.push(d.message);
  });
  const clientId = rnd.bytes(20);
  const send = async (q: Query | Uint8Array, opts: { readOnly?: boolean; from?: Transport } = {}) => {
    const data =
      q instanceof Uint8Array
        ? q
        : encodeQuery(new Uint8Array([1, 2]), q, { readOnly: opts.readOnly ?? false });
    (opts.from ?? client).send(data, dht.address());
    await net.runFor(50);
  };
  return { net, dht, client, inbox, raw, send, clientId, rnd };
}

/** The node may also send its own (verification) pings to the client: skip those. */
const replies = (inbox: Message[]): Message[] => inbox.filter((m) => m.type !== 'query');

const lastResponse = (inbox: Message[]): ResponseMessage => {
  const m = replies(inbox).at(-1);
  if (!m || m.type !== 'response') throw new Error(`expected a response, got ${JSON.stringify(m)}`);
  return m;
};

describe('DHT node: inbound queries', () => {
  it('answers ping, includes our address (BEP 42 ip) and version', async () => {
    const { dht, send, inbox, clientId, client } = await setup();
    await send({ method: 'ping', id: clientId });
    const r = lastResponse(inbox);
    expect(toHex(r.body.id)).toBe(toHex(dht.nodeId));
    expect(r.ip).toEqual(client.address());
    expect(r.version).toBeDefined();
    await dht.destroy();
  });

  it('answers an unknown method with 204, or as find_node when it carries a target', async () => {
    const { dht, send, inbox, clientId } = await setup();
    await send(bencode.encode({ t: 'xy', y: 'q', q: 'vote', a: { id: Buffer.from(clientId) } }));
    expect(replies(inbox).at(-1)).toMatchObject({ type: 'error', code: 204 });
    await send(
      bencode.encode({
        t: 'xy',
        y: 'q',
        q: 'frobnicate',
        a: { id: Buffer.from(clientId), target: Buffer.alloc(20, 1) }
      })
    );
    expect(lastResponse(inbox).body.nodes).toEqual([]);
    await dht.destroy();
  });

  it('answers bad arguments with 203 and drops garbage and unknown transactions silently', async () => {
    const { dht, send, inbox, raw, clientId } = await setup();
    await send(
      bencode.encode({
        t: 'ab',
        y: 'q',
        q: 'get_peers',
        a: { id: Buffer.from(clientId), info_hash: Buffer.alloc(19) }
      })
    );
    expect(replies(inbox).at(-1)).toMatchObject({ type: 'error', code: 203 });
    const before = raw.length;
    await send(new Uint8Array([0x64, 0x31, 0x3a])); // "d1:" truncated
    await send(bencode.encode({ t: 'zz', y: 'r', r: { id: Buffer.alloc(20, 3) } })); // reply to nothing
    await send(new Uint8Array(4000)); // oversized
    expect(raw.length).toBe(before);
    const s = dht.stats();
    expect(s.malformed).toBeGreaterThanOrEqual(1);
    expect(s.unknownTid).toBe(1);
    await dht.destroy();
  });

  it('stores announced peers only with a valid token bound to the IP, honours implied_port', async () => {
    const { dht, send, inbox, clientId, client, net } = await setup();
    const ih = new Uint8Array(20).fill(7);
    await send({
      method: 'announce_peer',
      id: clientId,
      infoHash: ih,
      port: 5000,
      token: new Uint8Array([1, 2, 3]),
      impliedPort: false
    });
    expect(replies(inbox).at(-1)).toMatchObject({ type: 'error', code: 203 });
    await send({ method: 'get_peers', id: clientId, infoHash: ih });
    const token = lastResponse(inbox).body.token!;
    expect(lastResponse(inbox).body.values).toBeUndefined();
    expect(lastResponse(inbox).body.nodes).toBeDefined();
    // The token is bound to our IP: another host cannot use it.
    const other = net.createTransport();
    await send(
      { method: 'announce_peer', id: clientId, infoHash: ih, port: 5000, token, impliedPort: false },
      { from: other }
    );
    expect(dht.stats().storedPeers).toBe(0);
    await send({ method: 'announce_peer', id: clientId, infoHash: ih, port: 5000, token, impliedPort: true });
    expect(lastResponse(inbox).body.id).toBeDefined();
    await send({ method: 'get_peers', id: clientId, infoHash: ih });
    expect(lastResponse(inbox).body.values).toEqual([
      { host: client.address().host, port: client.address().port }
    ]);
    await dht.destroy();
  });

  it('keeps every reply within 1024 bytes even with hundreds of stored peers', async () => {
    const { dht, send, inbox, clientId, net } = await setup({ maxPeersPerInfoHash: 500 });
    const ih = new Uint8Array(20).fill(9);
    for (let i = 0; i < 300; i++) {
      const t = net.createTransport();
      const got: Uint8Array[] = [];
      t.onMessage((d) => got.push(d));
      await send({ method: 'get_peers', id: clientId, infoHash: ih }, { from: t });
      const d = decodeMessage(got[0]!);
      if (!d.ok || d.message.type !== 'response') throw new Error('no token');
      await send(
        {
          method: 'announce_peer',
          id: clientId,
          infoHash: ih,
          port: 6881,
          token: d.message.body.token!,
          impliedPort: false
        },
        { from: t }
      );
    }
    expect(dht.stats().storedPeers).toBe(300);
    const sizes: number[] = [];
    net.onSend = (from, _to, data) => {
      if (from.port === dht.address().port && from.host === dht.address().host) sizes.push(data.length);
    };
    await send({ method: 'get_peers', id: clientId, infoHash: ih });
    expect(lastResponse(inbox).body.values!.length).toBeGreaterThanOrEqual(40);
    expect(sizes.length).toBeGreaterThan(0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1024);
    await dht.destroy();
  });
});

describe('DHT node: routing table admission', () => {
  it('a node that only queried us enters the table only after answering our ping; ro=1 never', async () => {
    const { dht, send, clientId, net, rnd } = await setup();
    // A read-only node: not even pinged.
    const ro = net.createTransport();
    let roGot = 0;
    ro.onMessage(() => roGot++);
    await send({ method: 'ping', id: rnd.bytes(20) }, { readOnly: true, from: ro });
    expect(roGot).toBe(1); // only our reply, no ping back
    // A silent querier (ignores our ping): not added.
    await send({ method: 'find_node', id: clientId, target: clientId });
    await net.runFor(5000);
    expect(dht.stats().nodes).toBe(0);
    // A well-behaved peer node: it answers our verification ping and is added.
    const peer = new DHT({
      transport: net.createTransport(),
      clock: net.clock,
      random: rnd,
      bootstrap: [dht.address()]
    });
    await net.runFor(3000);
    expect(dht.nodes().map((n) => toHex(n.id))).toEqual([toHex(peer.nodeId)]);
    expect(peer.nodes().map((n) => toHex(n.id))).toEqual([toHex(dht.nodeId)]);
    // Handed-out ids hold their own bytes only, not a view pinning the table's storage.
    expect(dht.nodes()[0]!.id.buffer.byteLength).toBe(20);
    await peer.destroy();
    await dht.destroy();
  });
});

function isBound(d: DHT): boolean {
  try {
    d.address();
    return true;
  } catch {
    return false;
  }
}

describe('DHT node: API', () => {
  it('rejects bad arguments with typed errors and refuses use after destroy', async () => {
    const { dht } = await setup();
    expect(() => new DHT({ port: 70000, bootstrap: [] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_PORT' })
    );
    expect(() => new DHT({ bootstrap: ['nonsense'] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ADDRESS' })
    );
    await expect(dht.getPeers('abc')).rejects.toMatchObject({ code: 'ERR_INVALID_INFOHASH' });
    await expect(dht.announce('00'.repeat(20), 0)).rejects.toMatchObject({ code: 'ERR_INVALID_PORT' });
    await expect(dht.announce('00'.repeat(20))).rejects.toMatchObject({ code: 'ERR_INVALID_PORT' });
    await dht.destroy();
    await expect(dht.getPeers('00'.repeat(20))).rejects.toBeInstanceOf(TrackerlessError);
    await expect(dht.getPeers('00'.repeat(20))).rejects.toMatchObject({ code: 'ERR_DESTROYED' });
    await dht.destroy(); // idempotent
  });

  it('findPeers stops with AbortError when the signal fires', async () => {
    const { dht, net } = await setup();
    const controller = new AbortController();
    controller.abort();
    const it1 = dht.findPeers('11'.repeat(20), { signal: controller.signal });
    const check = expect(it1.next()).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await net.runFor(10);
    await check;
    await dht.destroy();
  });

  it('saves and restores its id and nodes; restored nodes start questionable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trackerless-state-'));
    try {
      const statePath = join(dir, 'dht.json');
      const net = new SimNetwork({ seed: 4, latencyMs: 5 });
      const rnd = seededRandom(2);
      const a = new DHT({ transport: net.createTransport(), clock: net.clock, random: rnd, bootstrap: [] });
      await net.runFor(10);
      const b = new DHT({
        transport: net.createTransport(),
        clock: net.clock,
        random: rnd,
        bootstrap: [a.address()],
        statePath
      });
      // Loading the (missing) state file is real I/O: let it finish before driving virtual time.
      await untilIo(() => isBound(b));
      await net.runFor(3000);
      const id = toHex(b.nodeId);
      await b.destroy(); // saves the state file (real I/O)
      const saved = JSON.parse(await readFile(statePath, 'utf8'));
      expect(saved.id).toBe(id);
      expect(saved.nodes).toEqual([{ id: toHex(a.nodeId), host: a.address().host, port: a.address().port }]);
      const c = new DHT({
        transport: net.createTransport(),
        clock: net.clock,
        random: rnd,
        bootstrap: [],
        statePath
      });
      // Loading the state file is real I/O: let it finish before driving virtual time.
      await untilIo(() => isBound(c));
      await net.runFor(3000);
      await c.ready;
      expect(toHex(c.nodeId)).toBe(id);
      expect(c.nodes().map((n) => toHex(n.id))).toEqual([toHex(a.nodeId)]);
      await Promise.all([a.destroy(), c.destroy()]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('one node at a time owns a state file: a second one uses its nodes under its own id and does not save it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trackerless-state-'));
    try {
      // In a directory that does not exist yet (a fresh user's state directory).
      const statePath = join(dir, 'state', 'trackerless', 'dht.json');
      const net = new SimNetwork({ seed: 5, latencyMs: 5 });
      const rnd = seededRandom(3);
      const a = new DHT({ transport: net.createTransport(), clock: net.clock, random: rnd, bootstrap: [] });
      await net.runFor(10);
      const first = new DHT({
        transport: net.createTransport(),
        clock: net.clock,
        random: rnd,
        bootstrap: [a.address()],
        statePath
      });
      await untilIo(() => isBound(first));
      await net.runFor(3000);
      await first.saveState();
      expect(await readFile(`${statePath}.lock`, 'utf8')).toMatch(
        new RegExp(`^${process.pid} \\d+ [0-9a-f]{16}\n$`)
      );

      const warnings: Error[] = [];
      const second = new DHT({
        transport: net.createTransport(),
        clock: net.clock,
        random: rnd,
        bootstrap: [],
        statePath
      });
      second.on('warning', (w) => warnings.push(w));
      await untilIo(() => isBound(second));
      await net.runFor(3000);
      await second.ready;
      expect(warnings.map((w) => w.message).join('\n')).toMatch(/is in use by process \d+/);
      expect(toHex(second.nodeId)).not.toBe(toHex(first.nodeId));
      // It joined through the saved node.
      expect(second.nodes().map((n) => toHex(n.id))).toContain(toHex(a.nodeId));
      await second.destroy();
      expect(JSON.parse(await readFile(statePath, 'utf8')).id).toBe(toHex(first.nodeId));
      expect(existsSync(`${statePath}.lock`)).toBe(true); // still the first node's
      await first.destroy();
      expect(existsSync(`${statePath}.lock`)).toBe(false);

      // A lock left by a process that died is taken over.
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
      await writeFile(`${statePath}.lock`, `${dead.stdout.toString()}\n`);
      const third = new DHT({
        transport: net.createTransport(),
        clock: net.clock,
        random: rnd,
        bootstrap: [],
        statePath
      });
      await untilIo(() => isBound(third));
      expect(toHex(third.nodeId)).toBe(toHex(first.nodeId));
      expect(await readFile(`${statePath}.lock`, 'utf8')).toMatch(new RegExp(`^${process.pid} `));
      await Promise.all([a.destroy(), third.destroy()]);
      expect(existsSync(`${statePath}.lock`)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
