/**
 * BEP 46: magnet links with `xs=urn:btpk:`, and following a mutable torrent on a simulated DHT
 * in virtual time: publish v1, a follower sees it, publish v2, the follower picks it up, and
 * the follower's re-puts keep the item alive past the 2-hour expiry.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  isMutableMagnet,
  parseMagnet,
  parseMutableMagnet,
  toMutableMagnet
} from '../../lib/magnet/magnet.js';
import { mutableTarget } from '../../lib/item/item.js';
import { keyPairFromSeed } from '../../lib/item/ed25519.js';
import {
  followMutableTorrent,
  infoHashOf,
  publishMutableTorrent,
  resolveMutableTorrent,
  type MutableTorrentVersion
} from '../../lib/mutable-torrent/mutable-torrent.js';
import { SimTestnet } from '../../lib/testing/testnet.js';
import { fromHex, toHex } from '../../lib/util/bytes.js';
import { seededRandom } from '../../lib/util/random.js';
import { AbortError } from '../../lib/errors.js';

const KEY_HEX = '8543d3e6115f0f98c944077a4493dcd543e49c739fd998550a1f614ab36ed63e';

describe('BEP 46 magnet links', () => {
  it('parses the spec examples into the targets of its test vectors', () => {
    const plain = parseMutableMagnet(`magnet:?xs=urn:btpk:${KEY_HEX}`);
    expect(toHex(mutableTarget(plain.publicKey, plain.salt))).toBe(
      'cc3f9d90b572172053626f9980ce261a850d050b'
    );
    const salted = parseMutableMagnet(`magnet:?xs=urn:btpk:${KEY_HEX}&s=6e&dn=feed`);
    expect(toHex(salted.salt)).toBe('6e');
    expect(salted.name).toBe('feed');
    expect(toHex(mutableTarget(salted.publicKey, salted.salt))).toBe(
      '59ee7c2cb9b4f7eb1986ee2d18fd2fdb8a56554f'
    );
    expect(isMutableMagnet(`magnet:?xs=urn%3Abtpk%3A${KEY_HEX}`)).toBe(true);
    expect(isMutableMagnet('magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a')).toBe(false);
  });

  it('round-trips through toMutableMagnet', () => {
    const uri = toMutableMagnet({ publicKey: fromHex(KEY_HEX), salt: fromHex('6e'), name: 'my feed' });
    expect(uri).toBe(`magnet:?xs=urn:btpk:${KEY_HEX}&s=6e&dn=my%20feed`);
    expect(parseMutableMagnet(uri)).toMatchObject({
      publicKey: fromHex(KEY_HEX),
      salt: fromHex('6e'),
      name: 'my feed'
    });
  });

  it.each([
    [`magnet:?xs=urn:btpk:${KEY_HEX.slice(2)}`, /64 hex/],
    [`magnet:?xs=urn:btpk:${KEY_HEX}&s=zz`, /salt/],
    [`magnet:?xs=urn:btpk:${KEY_HEX}&s=${'00'.repeat(65)}`, /salt/],
    ['magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a', /missing xs=urn:btpk/]
  ])('rejects %s', (uri, why) => {
    expect(() => parseMutableMagnet(uri)).toThrow(why);
  });

  it('a plain magnet parser names the mutable link instead of "missing xt"', () => {
    expect(() => parseMagnet(`magnet:?xs=urn:btpk:${KEY_HEX}`)).toThrow(/mutable torrent/);
  });
});

describe('following a mutable torrent on a simulated DHT', () => {
  let net: SimTestnet;
  beforeAll(async () => {
    net = await SimTestnet.create({ size: 40, seed: 46, latencyMs: 20, settleMs: 60_000 });
  }, 120_000);
  afterAll(async () => {
    await net?.destroy();
  });

  it('publish v1, the follower sees it, publish v2, it picks it up; its re-puts outlive the expiry', async () => {
    const rnd = seededRandom(460);
    const keyPair = keyPairFromSeed(rnd.bytes(32));
    const salt = new TextEncoder().encode('release');
    const [publisher, follower, reader] = [net.nodes[1]!, net.nodes[20]!, net.nodes[33]!];
    const v1 = rnd.bytes(20);
    const v2 = rnd.bytes(20);
    expect((await net.run(publishMutableTorrent(publisher, { keyPair, salt, infoHash: v1 }))).seq).toBe(1);

    const stop = new AbortController();
    const seen: MutableTorrentVersion[] = [];
    const following = (async () => {
      const key = { publicKey: keyPair.publicKey, salt };
      for await (const version of followMutableTorrent(follower, key, {
        intervalMs: 60_000,
        republishMs: 30 * 60_000,
        clock: net.network.clock,
        signal: stop.signal
      }))
        seen.push(version);
    })().catch((err: unknown) => (err instanceof AbortError ? 'stopped' : Promise.reject(err)));

    await net.network.runFor(10_000);
    expect(seen.map((v) => [toHex(v.infoHash), v.seq])).toEqual([[toHex(v1), 1]]);
    expect((await net.run(publishMutableTorrent(publisher, { keyPair, salt, infoHash: v2 }))).seq).toBe(2);
    await net.network.runFor(70_000); // one poll later
    expect(seen.map((v) => [toHex(v.infoHash), v.seq])).toEqual([
      [toHex(v1), 1],
      [toHex(v2), 2]
    ]);
    // Nobody re-puts but the follower: 3 virtual hours later the item is still there.
    await net.network.runFor(3 * 60 * 60_000);
    const later = await net.run(resolveMutableTorrent(reader, { publicKey: keyPair.publicKey, salt }));
    expect(later && toHex(later.infoHash)).toBe(toHex(v2));
    stop.abort();
    expect(await net.run(following)).toBe('stopped');
  }, 120_000);

  it('without re-puts the item expires after 2 hours; a non-BEP-46 value resolves to null', async () => {
    const rnd = seededRandom(461);
    const keyPair = keyPairFromSeed(rnd.bytes(32));
    const [publisher, reader] = [net.nodes[5]!, net.nodes[25]!];
    await net.run(publishMutableTorrent(publisher, { keyPair, infoHash: rnd.bytes(20) }));
    await net.network.runFor(2 * 60 * 60_000 + 60_000);
    expect(await net.run(resolveMutableTorrent(reader, { publicKey: keyPair.publicKey }))).toBeNull();
    const other = keyPairFromSeed(rnd.bytes(32));
    await net.run(publisher.putMutable({ keyPair: other, value: { ih: 'not 20 bytes' } }));
    const item = await net.run(reader.getMutable(other.publicKey));
    expect(item && infoHashOf(item)).toBeUndefined();
    expect(await net.run(resolveMutableTorrent(reader, { publicKey: other.publicKey }))).toBeNull();
  }, 120_000);
});
