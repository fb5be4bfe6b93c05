/**
 * BEP 55 holepunching through two NATs that the test creates (test/support/netns.ts NatPair):
 * hosts A and B each behind an iptables MASQUERADE NAT that drops unsolicited inbound packets,
 * and a public relay both are connected to over uTP (ut_holepunch on the peer wire). Endpoints
 * are child processes (bench/holepunch-endpoint.ts).
 *
 *  - A plain uTP dial from A to B's public endpoint fails: B's NAT drops it;
 *  - A asks the relay (rendezvous with B's endpoint as the relay sees it); the relay sends
 *    `connect` to both, they dial each other at once, and a direct connection forms through both
 *    NATs, carrying 1 MiB each way, byte-identical;
 *  - a rendezvous for an endpoint the relay is not connected to comes back as NotConnected;
 *  - libtorrent 2.0 (uTP only) as the target behind B's NAT: it announces ut_holepunch to our
 *    relay, acts on the relay's `connect`, and a direct uTP connection forms between it and A.
 *  - libtorrent as the initiator behind A's NAT: our relay tells it about B through ut_pex
 *    (uTP and holepunch flags); its uTP dial to B fails at B's NAT, so it asks the peer that
 *    introduced B (our relay) for a rendezvous, and it and B connect directly.
 *
 * Skipped, with the reason printed, where namespaces cannot be created; under CI (root, tools
 * installed by .ci/run) that fails instead.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { join } from 'node:path';
import type { ChildEvent, JsonLineChild } from '../../bench/lib/json-line-child.js';
import { HolepunchError } from '../../lib/wire/ut-holepunch.js';
import { ensureBuilt, ROOT } from '../support/cli-process.js';
import { libtorrentProblem, PYTHON } from '../support/lt-node.js';
import { NatPair, describeWithNetns } from '../support/netns.js';

const ENDPOINT = join(ROOT, 'dist/bench/holepunch-endpoint.js');
const LT_HOLEPUNCH = join(ROOT, 'test/interop/lt_holepunch.py');
const BYTES = 1 << 20;
const describeNs = describeWithNetns('holepunch namespace tests');

const ready = (child: JsonLineChild): ChildEvent => child.events.find((e) => e.event === 'ready')!;

describeNs('BEP 55 holepunching through two NATs (network namespaces)', () => {
  let nat: NatPair;
  let relay: JsonLineChild;
  let a: JsonLineChild;
  let b: JsonLineChild;
  /** A's and B's endpoints as the relay sees them (their NATs' public address and port). */
  let publicA: string;
  let publicB: string;
  /** The relay's endpoint. */
  let relayAt: string;

  beforeAll(async () => {
    ensureBuilt([ENDPOINT]);
    nat = NatPair.create();
    relay = await nat.start(nat.pub, ENDPOINT, ['relay', '--host', nat.relayIp]);
    relayAt = `${nat.relayIp}:${Number(ready(relay).port)}`;
    const peerArgs = (name: string, host: string): string[] => [
      'peer',
      '--host',
      host,
      '--relay',
      relayAt,
      '--name',
      name,
      '--bytes',
      String(BYTES)
    ];
    a = await nat.start(nat.hostA, ENDPOINT, peerArgs('A', nat.hostIpA));
    b = await nat.start(nat.hostB, ENDPOINT, peerArgs('B', nat.hostIpB));
    for (const child of [a, b]) {
      const hello = await child.next((e) => e.event === 'relay-connected', 15_000, 'relay connection');
      expect(hello.holepunch).toBe(true);
    }
    const seen = async (ip: string): Promise<string> =>
      String(
        (
          await relay.next(
            (e) => e.event === 'peer' && String(e.address).startsWith(`${ip}:`),
            15_000,
            `peer from ${ip}`
          )
        ).address
      );
    publicA = await seen(nat.natIpA);
    publicB = await seen(nat.natIpB);
  }, 240_000);

  /**
   * libtorrent in `ns` (behind the NAT at `natIp`, beside our peer at `ourPeer`), connected to
   * the relay; resolves with its endpoint as the relay sees it, once it announced ut_holepunch.
   */
  async function startLibtorrent(
    ns: string,
    host: string,
    natIp: string,
    ourPeer: string
  ): Promise<{ lt: JsonLineChild; publicLt: string }> {
    const infoHash = String(ready(relay).infoHash);
    const args = [LT_HOLEPUNCH, '--host', host, '--info-hash', infoHash, '--relay', relayAt];
    const lt = await nat.startProgram(ns, PYTHON, args, `libtorrent in ${ns}`);
    const joined = await relay.next(
      (e) => e.event === 'peer' && String(e.address).startsWith(`${natIp}:`) && e.address !== ourPeer,
      20_000,
      'libtorrent at the relay'
    );
    expect(joined.holepunch).toBe(true);
    return { lt, publicLt: String(joined.address) };
  }

  afterAll(async () => {
    await nat?.closeAll();
  }, 30_000);

  it('the NATs drop unsolicited packets: a plain dial from A to B fails', async () => {
    const from = a.events.length;
    a.send(`dial ${publicB}`);
    const result = await a.next((e) => e.event === 'dial', 20_000, 'dial result', from);
    expect(result.ok).toBe(false);
  }, 30_000);

  it('the relay introduces A to B and they connect directly through both NATs', async () => {
    const fromA = a.events.length;
    const fromB = b.events.length;
    a.send(`rendezvous ${publicB}`);
    const relayed = await relay.next((e) => e.event === 'rendezvous', 15_000, 'rendezvous');
    expect(relayed).toMatchObject({ from: publicA, target: publicB, outcome: 'relayed' });
    expect(await a.next((e) => e.event === 'connect', 15_000, 'connect at A', fromA)).toMatchObject({
      to: publicB
    });
    expect(await b.next((e) => e.event === 'connect', 15_000, 'connect at B', fromB)).toMatchObject({
      to: publicA
    });
    // Each side receives the other's 1 MiB over a direct connection from the other's NAT.
    const gotA = await a.next((e) => e.event === 'received', 30_000, 'data at A', fromA);
    const gotB = await b.next((e) => e.event === 'received', 30_000, 'data at B', fromB);
    expect(gotA).toMatchObject({ remote: publicB, bytes: BYTES, sha1: ready(b).sentSha1 });
    expect(gotB).toMatchObject({ remote: publicA, bytes: BYTES, sha1: ready(a).sentSha1 });
    // Nothing reached either host except from the relay and the other NAT's public endpoint.
    const strangers = (events: ChildEvent[], other: string): unknown[] =>
      events.filter((e) => e.event === 'direct' && e.remote !== other);
    expect(strangers(a.events, publicB)).toEqual([]);
    expect(strangers(b.events, publicA)).toEqual([]);
  }, 60_000);

  it('a rendezvous for a peer the relay does not know comes back as NotConnected', async () => {
    const from = a.events.length;
    const unknown = `${nat.natIpB}:9`;
    a.send(`rendezvous ${unknown}`);
    const err = await a.next((e) => e.event === 'rendezvous-error', 15_000, 'rendezvous error', from);
    expect(err).toMatchObject({ target: unknown, code: HolepunchError.NotConnected });
  }, 30_000);

  it('libtorrent behind a NAT acts on our relay: it and A connect directly', async () => {
    expect(libtorrentProblem()).toBeNull();
    const { lt, publicLt } = await startLibtorrent(nat.hostB, nat.hostIpB, nat.natIpB, publicB);
    const fromA = a.events.length;
    a.send(`rendezvous ${publicLt}`);
    expect(
      await relay.next((e) => e.event === 'rendezvous' && e.target === publicLt, 15_000, 'rendezvous')
    ).toMatchObject({ outcome: 'relayed' });
    // Any direct connection between A and libtorrent needed both holes: A's own (its dial) and
    // the one libtorrent opened by dialing A's public endpoint on the relay's word.
    const direct = await a.next(
      (e) => e.event === 'direct' && e.remote === publicLt,
      30_000,
      'a direct connection with libtorrent',
      fromA
    );
    expect(direct.remote).toBe(publicLt);
    expect(
      await lt.next(
        (e) => e.event === 'peer' && `${String(e.ip)}:${Number(e.port)}` === publicA,
        15_000,
        'libtorrent dialing A'
      )
    ).toBeDefined();
  }, 60_000);

  it('libtorrent as the initiator: a failed dial to a PEX peer becomes a rendezvous at our relay', async () => {
    const { lt, publicLt } = await startLibtorrent(nat.hostA, nat.hostIpA, nat.natIpA, publicA);
    const fromB = b.events.length;
    relay.send(`pex ${publicLt} ${publicB}`);
    expect(await relay.next((e) => e.event === 'pex', 10_000, 'pex sent')).toMatchObject({ result: 'sent' });
    const asked = await relay.next(
      (e) => e.event === 'rendezvous' && e.from === publicLt,
      45_000,
      "libtorrent's rendezvous"
    );
    expect(asked).toMatchObject({ target: publicB, outcome: 'relayed' });
    const direct = await b.next(
      (e) => e.event === 'direct' && e.remote === publicLt,
      30_000,
      'a direct connection with libtorrent',
      fromB
    );
    expect(direct.remote).toBe(publicLt);
    expect(lt.events.some((e) => e.event === 'fatal')).toBe(false);
  }, 90_000);
});
