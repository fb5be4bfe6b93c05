/**
 * BEP 44 on one node, datagram by datagram: get and put of immutable and mutable items, and
 * every bad put answered with the spec's error code, with nothing stored.
 */
import { describe, expect, it } from '@jest/globals';
import { probeNode, type ProbeClient } from '../support/node-probe.js';
import { generateKeyPair, signMessage, type KeyPair } from '../../lib/item/ed25519.js';
import { encodeItemValue, immutableTarget, mutableTarget, signedBytes } from '../../lib/item/item.js';
import type { Message, PutQuery } from '../../lib/krpc/types.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A signed mutable put (token filled in by `put`). */
function mutablePut(
  client: ProbeClient,
  kp: KeyPair,
  value: string | Uint8Array,
  seq: number,
  extra: Partial<PutQuery> = {}
): PutQuery {
  // Bytes: already bencoded (to build values our own API refuses to send).
  const v = typeof value === 'string' ? encodeItemValue(value) : value;
  const salt = extra.salt;
  return {
    method: 'put',
    id: client.id,
    token: new Uint8Array(0),
    v,
    k: kp.publicKey,
    sig: signMessage(kp, signedBytes(v, seq, salt)),
    seq,
    ...extra
  };
}

async function put(client: ProbeClient, q: PutQuery): Promise<Message | undefined> {
  const target = q.k ? mutableTarget(q.k, q.salt) : immutableTarget(q.v);
  const { token } = await client.body({ method: 'get', id: client.id, target });
  return client.ask({ ...q, token: token! });
}

const errorCode = (m: Message | undefined): number | string =>
  m?.type === 'error' ? m.code : (m?.type ?? 'no answer');

describe('BEP 44 served by one node', () => {
  it('stores and serves an immutable item; get always has a token and nodes', async () => {
    const { dht, client } = await probeNode();
    const c = client();
    const v = encodeItemValue({ hello: 'world', n: 3 });
    const target = immutableTarget(v);
    const before = await c.body({ method: 'get', id: c.id, target });
    expect(before.token).toBeDefined();
    expect(before.v).toBeUndefined();
    expect(errorCode(await put(c, { method: 'put', id: c.id, token: new Uint8Array(0), v }))).toBe(
      'response'
    );
    const after = await client().body({ method: 'get', id: c.id, target });
    expect(after.v).toEqual(v);
    expect(after.k).toBeUndefined();
    expect(dht.stats().storedItems).toBe(1);
    await dht.destroy();
  });

  it('stores a mutable item, serves seq/k/sig/v, and only newer values when asked with seq', async () => {
    const { dht, client } = await probeNode();
    const c = client();
    const kp = generateKeyPair();
    const salt = text('s1');
    expect(errorCode(await put(c, mutablePut(c, kp, 'v1', 4, { salt })))).toBe('response');
    const target = mutableTarget(kp.publicKey, salt);
    const full = await c.body({ method: 'get', id: c.id, target });
    expect(full).toMatchObject({ seq: 4, k: kp.publicKey, v: encodeItemValue('v1') });
    const notNewer = await c.body({ method: 'get', id: c.id, target, seq: 4 });
    expect(notNewer.seq).toBe(4);
    expect(notNewer.v).toBeUndefined();
    expect(notNewer.sig).toBeUndefined();
    expect((await c.body({ method: 'get', id: c.id, target, seq: 3 })).v).toBeDefined();
    // Updates: a higher seq replaces; the same seq and value refreshes.
    expect(errorCode(await put(c, mutablePut(c, kp, 'v2', 5, { salt })))).toBe('response');
    expect(errorCode(await put(c, mutablePut(c, kp, 'v2', 5, { salt })))).toBe('response');
    expect((await c.body({ method: 'get', id: c.id, target })).v).toEqual(encodeItemValue('v2'));
    await dht.destroy();
  });

  it('answers a get reply carrying a 1000-byte value within one 1500-byte datagram', async () => {
    const { dht, client } = await probeNode();
    const c = client();
    const kp = generateKeyPair();
    const q = mutablePut(c, kp, 'x'.repeat(996), 1, { salt: new Uint8Array(64).fill(7) });
    expect(q.v.length).toBe(1000);
    expect(errorCode(await put(c, q))).toBe('response');
    const body = await c.body({ method: 'get', id: c.id, target: mutableTarget(kp.publicKey, q.salt) });
    expect(body.v).toEqual(q.v);
    expect(c.lastSize()).toBeLessThanOrEqual(1500);
    await dht.destroy();
  });

  describe('bad puts get the spec error and store nothing', () => {
    it.each([
      ['a wrong signature', 206],
      ['a value over 1000 bytes', 205],
      ['a salt over 64 bytes', 207],
      ['a bad token', 203],
      ['an unsorted dictionary as value', 203]
    ])('%s: %i', async (what, code) => {
      const { dht, client } = await probeNode();
      const c = client();
      const kp = generateKeyPair();
      let q = mutablePut(c, kp, 'ok', 1);
      if (what === 'a wrong signature') q = { ...q, sig: signMessage(kp, text('something else')) };
      if (what === 'a value over 1000 bytes') q = mutablePut(c, kp, text(`997:${'x'.repeat(997)}`), 1);
      if (what === 'a salt over 64 bytes') q = mutablePut(c, kp, 'ok', 1, { salt: new Uint8Array(65) });
      if (what === 'an unsorted dictionary as value') q = { ...q, v: text('d1:bi1e1:ai2ee') };
      const reply = what === 'a bad token' ? await c.ask({ ...q, token: text('forged!!') }) : await put(c, q);
      expect(errorCode(reply)).toBe(code);
      expect(dht.stats().storedItems).toBe(0);
      await dht.destroy();
    });

    it('a lower seq: 302; the same seq with another value: 302; a cas mismatch: 301; the stored value stays', async () => {
      const { dht, client } = await probeNode();
      const c = client();
      const kp = generateKeyPair();
      const target = mutableTarget(kp.publicKey);
      expect(errorCode(await put(c, mutablePut(c, kp, 'five', 5)))).toBe('response');
      expect(errorCode(await put(c, mutablePut(c, kp, 'four', 4)))).toBe(302);
      expect(errorCode(await put(c, mutablePut(c, kp, 'other five', 5)))).toBe(302);
      expect(errorCode(await put(c, mutablePut(c, kp, 'six', 6, { cas: 4 })))).toBe(301);
      expect((await c.body({ method: 'get', id: c.id, target })).v).toEqual(encodeItemValue('five'));
      expect(errorCode(await put(c, mutablePut(c, kp, 'six', 6, { cas: 5 })))).toBe('response');
      expect((await c.body({ method: 'get', id: c.id, target })).seq).toBe(6);
      // With nothing stored, cas is ignored (BEP 44: SHOULD be ignored).
      const other = generateKeyPair();
      expect(errorCode(await put(c, mutablePut(c, other, 'first', 1, { cas: 9 })))).toBe('response');
      await dht.destroy();
    });
  });
});
